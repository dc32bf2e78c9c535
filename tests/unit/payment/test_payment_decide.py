"""The pure rules of payment ingest: each receipt of a batch accepted, rejected with its reason, or a duplicate.

Policy windows come from the real packs (shared/policy is pure): 怀远县 2025 collects
2024-09-01..2024-12-31 with subsidies, allows general late payers in 2025 without
subsidy; 安康市 closes on 2024-12-20 and has a supplementary period to 2025-03-31.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from services.payment_ingest.domain.receipts import Known, Payer, decide, payload_hash
from services.payment_ingest.domain.windows import PolicyWindows
from shared.messages import ReceiptReceived
from tests.support.people import receipt, resident_id

HY = "340321"
BEIJING = timezone(timedelta(hours=8))


def r(amount: int = 40000, **kw) -> ReceiptReceived:
    person = kw.pop("person", None) or resident_id(kw.get("region", HY))
    return ReceiptReceived.model_validate(receipt(person, amount, **kw))


def one(rec: ReceiptReceived, known: Known | None = None):
    [d] = decide([rec], known or Known(), PolicyWindows())
    return d


def test_a_standard_payment_in_the_collection_period_is_accepted():
    assert one(r()).verdict == "accepted"


def test_the_amount_is_checked_against_the_assessed_due_when_one_is_known():
    person = resident_id(HY)
    known = Known(dues={(person, 2025): Payer(HY, 6000)})
    assert one(r(6000, person=person), known).verdict == "accepted"
    d = one(r(40000, person=person), known)
    assert (d.verdict, d.reason_code) == ("rejected", "amount_differs_from_due")
    assert "核定应缴60.00元" in d.reason


def test_without_a_due_the_pack_standard_applies():
    d = one(r(38000))
    assert (d.verdict, d.reason_code) == ("rejected", "amount_differs_from_due")
    assert "政策标准400.00元" in d.reason


def test_a_late_payer_pays_the_unsubsidised_rate_even_with_a_subsidised_due():
    person = resident_id(HY)
    late = datetime(2025, 2, 10, 10, tzinfo=BEIJING)
    known = Known(dues={(person, 2025): Payer(HY, 6000)})
    assert one(r(40000, person=person, paid_at=late), known).verdict == "accepted"
    assert one(r(6000, person=person, paid_at=late), known).reason_code == "amount_differs_from_due"


def test_a_payment_outside_every_allowed_period_is_rejected_with_the_pack_reason():
    d = one(r(region="610900", paid_at=datetime(2025, 5, 1, 10, tzinfo=BEIJING)))
    assert (d.verdict, d.reason_code) == ("rejected", "paid_outside_periods")
    assert "安康市" in d.reason
    assert one(r(paid_at=datetime(2024, 8, 20, 10, tzinfo=BEIJING))).reason_code == "paid_outside_periods"


def test_the_paid_date_is_the_local_china_date():
    # 2024-12-20 16:30 UTC is 2024-12-21 00:30 in 安康: after its collection period, before the supplementary one
    d = one(r(region="610900", paid_at=datetime(2024, 12, 20, 16, 30, tzinfo=UTC)))
    assert d.reason_code == "paid_outside_periods"
    assert one(r(region="610900", paid_at=datetime(2024, 12, 20, 15, 30, tzinfo=UTC))).verdict == "accepted"


@pytest.mark.parametrize("region,year,code", [("110101", 2025, "region_unknown"), (HY, 2031, "year_not_covered")])
def test_a_region_or_year_without_a_policy_pack_is_rejected(region, year, code):
    assert one(r(region=region, year=year)).reason_code == code


def test_a_village_agent_receipt_must_name_the_agent():
    assert one(r(channel="village_agent")).reason_code == "agent_missing"
    assert one(r(channel="village_agent", agent_id="A-榴城-01")).verdict == "accepted"


def test_an_exact_replay_is_a_duplicate_even_under_a_new_message_id():
    first = r(receipt_no="330000000000000001")
    again = ReceiptReceived.model_validate({**first.model_dump(mode="json"), "message_id": "5f0c8a52-7d51-4c38-9d2c-6b2f7d0e9a11"})
    assert payload_hash(first) == payload_hash(again)
    assert [d.verdict for d in decide([first, again], Known(), PolicyWindows())] == ["accepted", "duplicate"]
    known = Known(hashes={first.receipt_no: {payload_hash(first)}}, accepted_amount={first.receipt_no: 40000})
    assert one(again, known).verdict == "duplicate"


def test_a_different_payload_under_a_known_number_is_a_conflict_and_never_accepted():
    first = r(receipt_no="330000000000000002")
    changed = r(receipt_no="330000000000000002", channel="alipay")
    d = decide([first, changed], Known(), PolicyWindows())
    assert [x.verdict for x in d] == ["accepted", "rejected"]
    assert d[1].reason_code == "receipt_conflict"
    # also against a number that was only ever rejected
    known = Known(hashes={"330000000000000003": {"someotherhash"}})
    assert one(r(receipt_no="330000000000000003"), known).reason_code == "receipt_conflict"


def test_reversals_point_at_an_accepted_original_and_never_exceed_it():
    original = r(receipt_no="330000000000000004")
    part = r(-30000, receipt_no="330000000000000005", original_receipt_no=original.receipt_no)
    too_much = r(-20000, receipt_no="330000000000000006", original_receipt_no=original.receipt_no)
    rest = r(-10000, receipt_no="330000000000000007", original_receipt_no=original.receipt_no)
    got = decide([original, part, too_much, rest], Known(), PolicyWindows())
    assert [(d.verdict, d.reason_code) for d in got] == [
        ("accepted", None), ("accepted", None), ("rejected", "reversal_exceeds_original"), ("accepted", None)]


def test_malformed_reversals_are_rejected():
    assert one(r(-40000)).reason_code == "negative_without_original"
    assert one(r(-40000, original_receipt_no="330000009999999999")).reason_code == "original_unknown"
    assert one(r(40000, original_receipt_no="330000009999999999")).reason_code == "positive_reversal"
    assert one(r(0)).reason_code == "zero_amount"


def test_a_reversal_is_accepted_after_the_periods_close():
    known = Known(hashes={"330000000000000008": {"h"}}, accepted_amount={"330000000000000008": 40000})
    late = r(-40000, original_receipt_no="330000000000000008", paid_at=datetime(2026, 3, 1, tzinfo=BEIJING))
    assert one(late, known).verdict == "accepted"
