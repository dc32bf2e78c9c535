"""Amending a pack's amounts for a what-if (shared/policy/amend.py): `PATH=YUAN` in the pack file's own words,
validated as a pack file is, in memory only — the stored pack stays as it was."""
from __future__ import annotations

from decimal import Decimal

import pytest

from shared.policy import PolicyError, load_pack
from shared.policy.amend import Change, amend, amount_settings, parse_change


def test_a_change_is_a_setting_path_and_a_figure_of_yuan() -> None:
    assert parse_change("money.individual_contribution=420") == Change("money.individual_contribution", Decimal("420"))
    assert parse_change(" subsidies.minimum_living.amount = 360.5 ").yuan == Decimal("360.5")
    assert parse_change("subsidies.orphan.amount=full").yuan == "full"
    assert parse_change("money.individual_contribution＝４２０").yuan == Decimal("420")  # as typed with a Chinese IME


@pytest.mark.parametrize(("text", "field"), [
    ("money.individual_contribution", "set"), ("=420", "set"), ("money.individual_contribution=-20", "money.individual_contribution"),
    ("money.individual_contribution=4.205", "money.individual_contribution"),
    ("money.individual_contribution=四百", "money.individual_contribution"), ("money.individual_contribution=nan", "money.individual_contribution"),
    ("money.individual_contribution=1e400", "money.individual_contribution"),
])
def test_a_change_not_so_written_is_refused_naming_the_setting(text: str, field: str) -> None:
    with pytest.raises(PolicyError) as refused:
        parse_change(text)
    assert refused.value.field == field


def test_the_amended_pack_has_the_new_amounts_and_the_stored_one_keeps_its_own() -> None:
    done = amend("340321", 2025, [parse_change("money.individual_contribution=420"),
                                  parse_change("subsidies.minimum_living.amount=360")])
    assert (done.pack.money.individual_contribution, done.pack.subsidy_fen("minimum_living")) == (42000, 36000)
    assert (load_pack("340321", 2025).money.individual_contribution, load_pack("340321", 2025).subsidy_fen("minimum_living")) \
        == (40000, 34000)
    assert [(c.what, c.before_text, c.after_text) for c in done.changes] == [
        ("个人缴费标准", "400元", "420元"), ("低保对象资助金额", "340元", "360元")]
    assert done.pack.subsidies["minimum_living"].source == done.stored.subsidies["minimum_living"].source


def test_a_subsidy_copied_from_another_status_gets_a_figure_of_its_own() -> None:
    done = amend("340321", 2025, [parse_change("subsidies.unsupported_child.amount=250")])
    assert done.stored.subsidy_fen("unsupported_child") == 20000  # same_as poverty_monitoring (a default)
    assert done.pack.subsidy_fen("unsupported_child") == 25000 and done.pack.subsidies["unsupported_child"].same_as is None
    assert done.pack.subsidy_fen("poverty_monitoring") == 20000
    assert done.changes[0].before_text == "同防止返贫监测对象"


def test_a_county_of_a_city_pack_changes_its_own_figure_only() -> None:
    done = amend("610924", 2025, [parse_change("counties.610924.subsidies.minimum_living.amount=260")])
    assert done.pack.region == "610900" and done.pack.applies_to is None
    assert done.pack.model_copy(update={"applies_to": "610924"}).subsidy_fen("minimum_living") == 26000
    assert done.pack.model_copy(update={"applies_to": "610929"}).subsidy_fen("minimum_living") == 20000
    assert done.pack.subsidy_fen("minimum_living") == 20000  # the city's own


@pytest.mark.parametrize(("changes", "field", "words"), [
    (["waiting.fixed_months=2"], "waiting.fixed_months", "不是本政策包（340321-2025）的金额设置"),
    (["subsidies.low_income_marginal.amount=100"], "subsidies.low_income_marginal.amount", "没有“低保边缘家庭成员”的资助规则"),
    (["money.fiscal_subsidy=full"], "money.fiscal_subsidy", "full（全额）只用于资助金额"),
    (["money.individual_contribution=420", "money.individual_contribution=430"], "money.individual_contribution", "只能改一次"),
    (["counties.610924.subsidies.minimum_living.amount=260"], "counties.610924.subsidies.minimum_living.amount", "可改的金额"),
])
def test_a_change_the_pack_cannot_take_is_refused_naming_the_setting(changes: list[str], field: str, words: str) -> None:
    with pytest.raises(PolicyError) as refused:
        amend("340321", 2025, [parse_change(c) for c in changes])
    assert refused.value.field == field and words in refused.value.message


def test_the_amounts_a_what_if_may_change_are_the_packs_own() -> None:
    assert amount_settings(load_pack("341522", 2025)) == [
        "money.individual_contribution", "money.fiscal_subsidy", "money.late_surcharge",
        "subsidies.extreme_poverty.amount", "subsidies.minimum_living.amount", "subsidies.poverty_monitoring.amount",
        "subsidies.entitled_veteran.amount", "subsidies.orphan.amount", "subsidies.unsupported_child.amount",
        "critical_illness.reenroll_cut", "critical_illness.continuity_step", "critical_illness.zero_reimbursement_step",
        "critical_illness.provincial_cap"]
    assert "counties.610929.subsidies.poverty_monitoring.amount" in amount_settings(load_pack("610924", 2025))
