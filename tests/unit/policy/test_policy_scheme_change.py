"""安康 L140: switching from employee to resident insurance after two continuous years, with a gap of at most
three months across the year boundary, has no waiting period and cover from the month of payment; a switch
inside the coverage year keeps the next month (seed 004 L140, second sentence; L74)."""
from __future__ import annotations

import pytest

from tests.unit.policy.builders import quote

AK = "610900"


def lapse(event_date: str, enrolled_years: list[int], paid: str = "2025-01-20"):
    return quote(AK, kind="employee_lapse", event_date=event_date, payment_date=paid, enrolled_years=enrolled_years)


def test_two_continuous_years_and_a_gap_of_two_months_are_covered_from_the_month_of_payment() -> None:
    a = lapse("2024-11-15", [2023, 2024])
    assert (a.path, a.benefit_start.isoformat(), a.waiting_months, a.due_fen) == (
        "scheme_change_within_3_months", "2025-01-01", 0, 40000)


def test_the_three_months_are_calendar_months_counted_from_the_lapse() -> None:
    assert lapse("2024-10-20", [2023, 2024]).path == "scheme_change_within_3_months"  # paid 2025-01-20: 3 months
    assert lapse("2024-10-19", [2023, 2024]).path == "employee_lapse"


@pytest.mark.parametrize(("event_date", "years", "why"), [
    ("2024-09-01", [2023, 2024], "a gap of more than three months"),
    ("2024-11-15", [2024], "one continuous year only"),
    ("2025-01-05", [2023, 2024], "a lapse inside the coverage year: the next month, as today"),
])
def test_otherwise_the_lapse_is_covered_from_the_next_month(event_date: str, years: list[int], why: str) -> None:
    a = lapse(event_date, years)
    assert (a.path, a.benefit_start.isoformat()) == ("employee_lapse", "2025-02-01"), why


def test_equal_subsidies_are_decided_by_the_documents_order_not_by_the_order_given() -> None:
    """双清: 特困 and 重点优抚 are both fully subsidised; the document names 特困 first (seed 003 L59, L61), so its
    line (medical assistance) wins whichever order the statuses arrive in."""
    from tests.unit.policy.builders import status
    both = [status("extreme_poverty", "2023-01-12"), status("entitled_veteran", "2024-05-20")]
    lines = {tuple((x.category, x.funding_source) for x in quote("430502", statuses=order).subsidies)
             for order in (both, both[::-1])}
    assert lines == {(("extreme_poverty", "medical_assistance"),)}
