"""A receipt is judged by the payer's own facts on its own date (issue 13, point 1), not as a general resident's.

The subsidy service's due carries what the rules read about the person (kind, event date,
statuses, history); payment ingest runs the pure engine with them and the receipt's local
date. Windows and amounts are the real packs': seed 003 (双清区) L47-55, seed 004 (安康市)
L74, L78, L96, L98.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from services.payment_ingest.domain.receipts import Known, Payer, decide
from services.payment_ingest.domain.windows import PolicyWindows
from shared.messages import PayerFacts, ReceiptReceived, StatusFact
from tests.support.people import receipt, resident_id

SQ, AK, HY = "430502", "610900", "340321"
BEIJING = timezone(timedelta(hours=8))


def judge(amount: int, region: str, paid: date, facts: PayerFacts | None, *, person: str | None = None,
          due_fen: int = 40000, state: str = "active", windows: PolicyWindows | None = None):
    person = person or resident_id(region)
    rec = ReceiptReceived.model_validate(receipt(person, amount, region=region, year=2025,
                                                 paid_at=datetime(paid.year, paid.month, paid.day, 10, tzinfo=BEIJING)))
    known = Known(dues={(person, 2025): Payer(region, due_fen, state, facts)})
    [d] = decide([rec], known, windows or PolicyWindows())
    return d


LAPSE = PayerFacts(kind="employee_lapse", event_date=date(2025, 3, 1))


def test_a_shuangqing_employee_lapse_pays_400_within_90_days_where_a_general_resident_pays_1070():
    # seed 003 L47: outside the period standard + fiscal subsidy (1,070); L55: lapse within 90 days pays the standard
    assert judge(40000, SQ, date(2025, 4, 1), LAPSE).verdict == "accepted"
    general = judge(40000, SQ, date(2025, 4, 1), PayerFacts())
    assert (general.verdict, general.reason_code) == ("rejected", "amount_differs_from_due")
    assert "1070.00" in general.reason
    late = judge(40000, SQ, date(2025, 6, 15), LAPSE)  # 106 days after the lapse: the general late rate again
    assert late.verdict == "rejected" and "1070.00" in (late.reason or "") or late.reason_code == "paid_outside_periods"


def test_ankang_after_31_march_takes_newborns_lapses_and_special_groups_but_not_general_residents():
    baby = resident_id(AK, born=date(2025, 4, 10))
    assert judge(40000, AK, date(2025, 5, 1), PayerFacts(kind="newborn"), person=baby).verdict == "accepted"  # L78
    assert judge(40000, AK, date(2025, 5, 1), PayerFacts(kind="employee_lapse", event_date=date(2025, 4, 20))
                 ).verdict == "accepted"  # L74
    for kind in ("discharged_soldier", "released_prisoner", "military_spouse", "returning_graduate", "lost_contact"):
        assert judge(40000, AK, date(2025, 6, 2), PayerFacts(kind=kind, event_date=date(2025, 5, 20))
                     ).verdict == "accepted", kind  # L96, L32-34
    general = judge(40000, AK, date(2025, 5, 1), PayerFacts())
    assert (general.verdict, general.reason_code) == ("rejected", "paid_outside_periods")


def test_a_subsidised_late_payer_in_ankang_pays_the_standard_without_the_subsidy():
    # seed 004 L98: 享受分类资助的人员未在集中缴费期参保 … 按标准缴费
    facts = PayerFacts(statuses=(StatusFact(category="minimum_living", certified_on=date(2024, 10, 1)),))
    assert judge(40000, AK, date(2025, 5, 1), facts, due_fen=6000).verdict == "accepted"
    in_period = judge(40000, AK, date(2024, 11, 1), facts, due_fen=6000)
    assert in_period.reason_code == "amount_differs_from_due"  # in the period the subsidised due applies


def test_the_newborn_window_reads_the_payers_own_birth_date_through_the_memo():
    windows = PolicyWindows()
    early, late = resident_id(AK, born=date(2025, 3, 1)), resident_id(AK, born=date(2024, 12, 1))
    newborn = PayerFacts(kind="newborn")
    assert judge(40000, AK, date(2025, 5, 1), newborn, person=early, windows=windows).verdict == "accepted"
    # born 2024-12-01: 151 days before, neither 90-day window holds and the year's in-year path needs birth in 2025
    assert judge(40000, AK, date(2025, 5, 1), newborn, person=late, windows=windows).verdict == "rejected"


def test_facts_of_another_region_or_an_ended_enrollment_fall_back_to_the_general_judgement():
    person = resident_id(SQ)
    rec = ReceiptReceived.model_validate(receipt(person, 40000, region=SQ, year=2025,
                                                 paid_at=datetime(2025, 4, 1, 10, tzinfo=BEIJING)))
    other = Known(dues={(person, 2025): Payer(AK, 40000, "active", LAPSE)})
    assert decide([rec], other, PolicyWindows())[0].reason_code == "amount_differs_from_due"


def test_facts_the_rules_cannot_judge_are_refused_with_a_reason_not_an_error():
    d = judge(40000, SQ, date(2025, 4, 1), PayerFacts(kind="employee_lapse"))  # no event date given
    assert (d.verdict, d.reason_code) == ("rejected", "payer_not_assessable")
    assert "event_date" in d.reason


# -- paybacks (补缴): a gap year paid back to repair the variable waiting period, seed 004 L108 --

def payback(person: str, gap_year: int, amount: int = 40000, no: str | None = None) -> ReceiptReceived:
    data = receipt(person, amount, region=AK, year=gap_year, paid_at=datetime(2025, 2, 10, 10, tzinfo=BEIJING))
    data["item"] = "resident_medical_insurance_payback"
    if no:
        data["receipt_no"] = no
    return ReceiptReceived.model_validate(data)


def lapsed(person: str, **facts) -> Known:
    """Enrolled for 2025 in 安康, covered last in 2020: 2021-2024 are the gap."""
    return Known(dues={(person, 2025): Payer(AK, 40000, "active", PayerFacts(enrolled_years=(2019, 2020), **facts))})


def test_a_gap_year_is_paid_back_once_at_the_standard_rate_by_the_later_years_pack():
    person = resident_id(AK)
    first, again = payback(person, 2022), payback(person, 2022, no="P2022-second")
    decided = decide([first, again], lapsed(person), PolicyWindows())
    assert [(d.verdict, d.reason_code) for d in decided] == [("accepted", None), ("rejected", "payback_already_paid")]
    assert decide([payback(person, 2023, 38000)], lapsed(person), PolicyWindows())[0].reason_code == \
        "amount_differs_from_due"
    known = lapsed(person, paid_back_years=(2021,))
    assert decide([payback(person, 2021)], known, PolicyWindows())[0].reason_code == "payback_already_paid"


def test_a_payback_outside_the_gap_or_without_a_later_enrollment_or_where_the_pack_has_none_is_refused():
    person = resident_id(AK)
    assert decide([payback(person, 2020)], lapsed(person), PolicyWindows())[0].reason_code == "payback_not_a_gap_year"
    first_time = Known(dues={(person, 2025): Payer(AK, 40000, "active", PayerFacts())})
    assert decide([payback(person, 2022)], first_time, PolicyWindows())[0].reason_code == "payback_not_a_gap_year"
    assert decide([payback(person, 2022)], Known(), PolicyWindows())[0].reason_code == "payback_without_enrollment"
    sq = resident_id(SQ)  # 双清's document does not provide for paying back
    data = receipt(sq, 40000, region=SQ, year=2022, paid_at=datetime(2025, 2, 10, 10, tzinfo=BEIJING))
    data["item"] = "resident_medical_insurance_payback"
    known = Known(dues={(sq, 2025): Payer(SQ, 40000, "active", PayerFacts(enrolled_years=(2020,)))})
    [d] = decide([ReceiptReceived.model_validate(data)], known, PolicyWindows())
    assert d.reason_code == "payback_not_allowed"
