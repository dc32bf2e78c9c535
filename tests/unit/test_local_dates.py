"""Every date a rule reads is the region's calendar day (Asia/Shanghai), never UTC's: the helper and the
places that read dates from moments (subsidy's "today" and first payment day, payment windows)."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from services.payment_ingest.domain.windows import PolicyWindows
from services.subsidy import usecases
from services.subsidy.store import Facts
from shared.policy.dates import local_date
from tests.support.people import resident_id

HALF_PAST_MIDNIGHT_NEW_YEAR = datetime(2024, 12, 31, 16, 30, tzinfo=UTC)  # 00:30 on 1 January in Beijing


def test_a_moment_is_read_as_the_day_in_beijing() -> None:
    assert local_date(HALF_PAST_MIDNIGHT_NEW_YEAR) == date(2025, 1, 1)
    assert local_date(datetime(2024, 12, 31, 15, 59, tzinfo=UTC)) == date(2024, 12, 31)
    assert local_date(datetime(2025, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=-5)))) == date(2025, 1, 1)
    assert local_date(datetime(2024, 12, 31, 23, 30)) == date(2024, 12, 31)  # no zone: already local


def test_a_payment_at_half_past_midnight_on_new_year_is_outside_a_period_that_ended_on_31_december() -> None:
    """怀远's collection period ends on 31 December; after it a general payer pays without the status subsidy."""
    last_evening = PolicyWindows().window("340321", 2025, datetime(2024, 12, 31, 15, 30, tzinfo=UTC))
    new_year = PolicyWindows().window("340321", 2025, HALF_PAST_MIDNIGHT_NEW_YEAR)
    assert last_evening.subsidised and not new_year.subsidised


def test_subsidy_reads_the_first_payment_day_in_beijing() -> None:
    someone = resident_id("340321")
    known = Facts(person={}, enrollment={}, ordered={}, due={}, payment={(someone, 2025): {
        "paid_fen": 40000, "first_paid_at": HALF_PAST_MIDNIGHT_NEW_YEAR, "region": "340321"}})
    case = usecases.build_case((someone, 2025), known, None)
    assert case is not None and case.first_paid_on == date(2025, 1, 1)
