"""Receipts for 怀远县's 2024 babies: 380 for the 2024 coverage year (000_5537eac76d5340c8.txt L141-147).

The 2024 pack covers newborns only, so a receipt (which names no kind) cannot be judged as a
general enrollment: it is judged by the days a 2024 baby may pay — within 90 days of birth
(L133-139, running past 31 Dec 2024) or, later, while under one and 2024 lasts (L139-141).
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from services.payment_ingest.domain.receipts import Known, Payer, decide
from services.payment_ingest.domain.windows import PolicyWindows
from shared.messages import ReceiptReceived
from tests.support.people import receipt, resident_id

HY = "340321"
BEIJING = timezone(timedelta(hours=8))
BABY = resident_id(HY, date(2024, 12, 20))


def _one(amount: int, paid: datetime, known: Known | None = None):
    rec = ReceiptReceived.model_validate(receipt(BABY, amount, year=2024, paid_at=paid))
    [d] = decide([rec], known or Known(), PolicyWindows())
    return d


@pytest.mark.parametrize("paid", [datetime(2024, 12, 28, 10, tzinfo=BEIJING), datetime(2025, 3, 15, 10, tzinfo=BEIJING)])
def test_a_380_receipt_for_2024_is_accepted_while_a_2024_baby_may_pay(paid: datetime) -> None:
    assert _one(38000, paid).verdict == "accepted"


def test_it_is_checked_against_the_standard_380_or_the_assessed_due() -> None:
    d = _one(40000, datetime(2025, 1, 20, 10, tzinfo=BEIJING))
    assert (d.verdict, d.reason_code) == ("rejected", "amount_differs_from_due")
    assert "380.00" in d.reason
    known = Known(dues={(BABY, 2024): Payer("340321", 38000)})
    assert _one(38000, datetime(2025, 1, 20, 10, tzinfo=BEIJING), known).verdict == "accepted"


def test_after_the_last_day_a_2024_baby_could_pay_it_is_rejected_with_the_reason() -> None:
    d = _one(38000, datetime(2025, 4, 1, 10, tzinfo=BEIJING))
    assert (d.verdict, d.reason_code) == ("rejected", "paid_outside_periods")
    assert "怀远县2024年度新生儿" in d.reason
