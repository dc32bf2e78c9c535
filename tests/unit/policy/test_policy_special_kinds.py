"""Every kind the seeds name has a path (issue 13, point 7).

Seeds: 000 = 怀远县 (000_5537eac76d5340c8.txt), 002 = 霍邱县 (002_dd984882e2f0dbfb.txt),
003 = 双清区 (003_8b38354bfe017e43.txt), 004 = 安康市 (004_6145f28b3106866a.txt). The groups
below are enrollment kinds (how and when someone may pay), not subsidised statuses: no
seed gives any of them a subsidy, so they are not `Category` codes.
"""
from __future__ import annotations

from datetime import date

import pytest

from shared.codes import CERTIFIED_BY, LABEL, Category, EnrollmentKind
from shared.policy import load_pack
from shared.policy.paths import payable_on
from tests.unit.policy.builders import quote

NEW_KINDS = {
    EnrollmentKind.MILITARY_SPOUSE: "随军未就业配偶",
    EnrollmentKind.RETIRED_FISHER: "退捕渔民",
    EnrollmentKind.SEVERE_MENTAL_DISORDER: "严重精神障碍患者",
    EnrollmentKind.RETURNING_GRADUATE: "应届外省毕业回乡大学生",
    EnrollmentKind.LOST_CONTACT: "失联人员",
}


def test_the_new_kinds_are_kinds_with_chinese_labels_not_statuses() -> None:
    """000 L157-167, 004 L32-34 name them only as people who may enrol outside the period at the standard rate."""
    for kind, label in NEW_KINDS.items():
        assert LABEL[kind] == label
        assert kind.value not in {c.value for c in Category}
    assert set(CERTIFIED_BY) == set(Category)  # no new status, so no new certifying department


@pytest.mark.parametrize("kind", ["military_spouse", "retired_fisher", "severe_mental_disorder"])
def test_huaiyuan_special_groups_enrol_late_from_the_day_after_payment(kind: str) -> None:
    """000 L157-163 (当年退出现役的军人及随迁的随军未就业配偶, 动态新增的…退捕渔民) and L165-167
    (严重精神障碍患者): 可补办参保手续，自参保缴费次日起享受待遇 — no waiting period, the standard 400."""
    a = quote("340321", kind=kind, payment_date="2025-04-10")
    assert (a.allowed, a.path, a.due_fen) == (True, "special_groups", 40000)
    assert (a.benefit_start, a.waiting_months, a.waiting_days) == (date(2025, 4, 11), 0, 0)
    assert any(r.code == "path" and "第149-167行" in r.rule for r in a.reasons)


def test_a_huaiyuan_special_group_paying_in_the_period_is_covered_from_1_january() -> None:
    """000 L119-122: in the collection period everyone is on the ordinary path."""
    a = quote("340321", kind="retired_fisher", payment_date="2024-11-01")
    assert (a.path, a.benefit_start) == ("collection", date(2025, 1, 1))


@pytest.mark.parametrize("kind", ["military_spouse", "retired_fisher", "severe_mental_disorder", "vulnerable_late",
                                  "discharged_soldier", "released_prisoner"])
def test_huoqiu_has_the_special_groups_path_of_huaiyuan(kind: str) -> None:
    """002 says nothing of late enrolment (L12 only the migrant extension and newborns); the pack's default follows
    the same province's 000 L149-167: from the day after payment, no waiting, instead of the 3-month wait of a
    general late payer."""
    a = quote("341522", kind=kind, payment_date="2025-06-20")
    assert (a.path, a.due_fen, a.benefit_start, a.waiting_months) == ("special_groups", 40000, date(2025, 6, 21), 0)
    assert any(r.code == "path" and "默认设置" in r.rule and "怀远县方案第149-167行" in r.rule for r in a.reasons)
    general = quote("341522", payment_date="2025-06-20")
    assert (general.path, general.waiting_months) == ("outside_period", 3)


@pytest.mark.parametrize("kind", ["military_spouse", "returning_graduate", "lost_contact"])
def test_ankang_special_persons_pay_the_standard_rate_and_are_covered_from_the_next_month(kind: str) -> None:
    """004 L32-34 (军人退出现役当年及其随军未就业配偶、参保年度应届外省毕业回陕大学生…失联人员…均按…个人参保缴费标准缴纳)
    and L96 (待遇享受期从居民医保缴费后的次月起): after the supplementary period still allowed, 400, next month."""
    a = quote("610900", kind=kind, payment_date="2025-05-10")
    assert (a.allowed, a.path, a.due_fen) == (True, "special_groups", 40000)
    assert (a.benefit_start, a.waiting_months) == (date(2025, 6, 1), 0)
    assert not quote("610900", payment_date="2025-05-10").allowed  # a general payer then: 004 L68


def test_a_returning_graduate_enrols_where_they_live_not_at_a_school() -> None:
    """004 L116: the place must match the hukou or the residence permit; only students (L26) are exempt."""
    assert not quote("610900", kind="returning_graduate", hukou="340321", payment_date="2025-07-10").allowed
    assert quote("610900", kind="returning_graduate", hukou="340321", residence="610902",
                 payment_date="2025-07-10").allowed


def test_a_kind_a_region_does_not_name_is_judged_as_everybody_and_says_so() -> None:
    """003 L53-55 lists 退役军人、征兵工作退回人员、刑满释放人员、社区矫正对象, no spouses: outside the period
    a spouse pays 400 + 670 with a 90-day wait (L45, L81), and the reasons say the kind is not listed."""
    a = quote("430502", kind="military_spouse", payment_date="2025-04-10")
    assert (a.path, a.due_fen, a.waiting_days) == ("outside_period", 107000, 90)
    assert any(r.code == "kind_not_listed" and "随军未就业配偶" in r.text for r in a.reasons)


# --- 怀远县2024: a baby born in 2024 pays 380 for 2024 (000 L141-147) --------------------------------------

@pytest.mark.parametrize(("born", "paid", "path", "start"), [
    ("2024-03-01", "2024-04-01", "newborn_90_days", "2024-03-01"),      # 000 L133-139: within 90 days, from birth
    ("2024-03-01", "2024-08-01", "newborn_under_one", "2024-08-02"),    # 000 L139-141: later, the day after payment
    ("2024-12-20", "2025-03-15", "newborn_90_days", "2024-12-20"),      # 90 days run past 31 Dec 2024
])
def test_a_2024_baby_pays_380_for_2024(born: str, paid: str, path: str, start: str) -> None:
    """000 L141-147: 2024年出生的新生儿须分别缴纳380元、400元, to be covered in 2024 and in 2025."""
    a = quote("340321", year=2024, kind="newborn", born=born, payment_date=paid)
    assert (a.allowed, a.path, a.due_fen, a.standard_fen) == (True, path, 38000, 38000)
    assert (str(a.benefit_start), str(a.benefit_end)) == (start, "2024-12-31")


def test_a_2024_baby_past_90_days_and_past_2024_has_nothing_left_to_buy_for_2024() -> None:
    """000 L139-141: after 90 days cover starts the day after payment; in 2025 no 2024 day is left."""
    a = quote("340321", year=2024, kind="newborn", born="2024-06-01", payment_date="2025-01-10")
    assert not a.allowed


@pytest.mark.parametrize(("day", "open_"), [
    ("2024-01-01", True), ("2024-12-31", True), ("2025-01-20", True), ("2025-03-31", True), ("2025-04-01", False),
])
def test_a_2024_receipt_has_a_path_on_the_days_a_2024_baby_may_pay(day: str, open_: bool) -> None:
    """000 L133-147: a receipt for 2024 names no kind; the 2024 pack covers only newborns, who may pay from birth
    until 90 days after a birth on 31 Dec 2024 (payable_on is what payment ingest judges such a receipt by)."""
    paths = payable_on(load_pack("340321", 2024), date.fromisoformat(day))
    assert bool(paths) is open_
    if open_:
        assert "newborn_90_days" in [p.id for p in paths]


def test_payable_on_keeps_a_full_pack_to_what_someone_could_pay_that_day() -> None:
    """004 L60-68, L78-80: 安康 closes on 2024-12-20; on 2024-12-25 only special kinds and late-year babies pay;
    a birth-year path never opens before the year; after 2025 only a 2025 baby's 90 days are left."""
    pack = load_pack("610900", 2025)

    def on(day: str) -> set[str]:
        return {p.id for p in payable_on(pack, date.fromisoformat(day))}

    assert "collection" not in on("2024-12-25") and "newborn_next_year_90_days" in on("2024-12-25")
    assert "newborn_birth_year_late" not in on("2024-12-25")
    assert on("2026-01-10") == {"newborn_birth_year_90_days"}
    assert on("2024-08-31") == set()
