"""`diff_packs` (shared/policy/diff.py): every setting that differs between two packs, each side citing its seed line.

Two years of a region (怀远县 2024 → 2025: 380 → 400 元, seed 000 L141-147 against L75-79; no waiting period
in 2024) and two regions (霍邱县 against 安康市: 低保 360 against 200, seed 002 L14 against 004 L42; the
collection period ending 12-31 against 12-20, 002 L12 against 004 L60).
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from shared.policy import PolicyError, available, load_pack
from shared.policy.amend import amend, parse_change
from shared.policy.diff import Row, diff_packs, diff_sheet, pack_named
from shared.policy.leaves import leaves
from shared.policy.words import setting_words, value_words


def rows(a: str, b: str) -> dict[str, Row]:
    return {r.setting: r for r in diff_packs(pack_named(a), pack_named(b)).rows}


def test_two_years_of_huaiyuan_show_the_contribution_in_yuan_with_each_years_seed_line() -> None:
    found = rows("340321-2024", "340321-2025")
    row = found["money.individual_contribution"]
    assert (row.what, row.left.text, row.right.text, row.change_fen) == ("个人缴费标准", "380元", "400元", 2000)
    assert row.left.cites == load_pack("340321", 2024).money.source
    assert "第141-147行" in row.left.cites and "第75-79行" in row.right.cites
    collection = found["collection_period.start"]
    assert (collection.left.value, collection.right.value) == (date(2023, 9, 1), date(2024, 9, 1))
    assert collection.left.default and "不在文件中" in collection.left.cites  # 2024's period is a documented default


def test_a_section_or_entry_one_year_lacks_is_said_to_be_missing_on_that_side() -> None:
    found = rows("340321-2024", "340321-2025")
    wait = found["waiting.fixed_months"]
    assert (wait.left.missing, wait.left.text, wait.right.text) == (True, "本包未设待遇等待期", "3个月")
    living = found["subsidies.minimum_living"]  # 2024 subsidises nobody: one row for the whole subsidy
    assert (living.left.missing, living.left.text) == (True, "本包无此身份的资助")
    assert living.right.text.startswith("340元；医疗救助资金") and living.right.value == 34000
    assert living.right.cites == load_pack("340321", 2025).subsidies["minimum_living"].source
    assert "subsidies.minimum_living.amount" not in found and "waiting" not in found
    assert found["paths.outside_period"].left.text == "本包无此缴费路径"


def test_two_regions_compare_amounts_dates_and_rules_and_cite_their_own_documents() -> None:
    found = rows("341522-2025", "610900-2025")
    living = found["subsidies.minimum_living.amount"]
    assert (living.left.text, living.right.text, living.change_fen) == ("360元", "200元", -16000)
    assert "霍邱县通知 四，第14行" in living.left.cites and "安康市通知 二(二)，第42行" in living.right.cites
    end = found["collection_period.end"]
    assert (end.left.value, end.right.value) == (date(2024, 12, 31), date(2024, 12, 20))
    reminder = found["reminder_date"]  # a date with no section of its own cites the collection period, as reasons do
    assert (reminder.left.text, reminder.right.text) == ("2024-12-28", "未规定")
    assert reminder.left.cites == load_pack("341522", 2025).collection_period.source
    assert found["status_rules.after_payment"].right.text == "不予调整（已缴不退、资助不变）"
    assert found["counties.610924.subsidies.minimum_living"].left.text == "本包无此县（区）的特别规定"
    assert "money.individual_contribution" not in found  # 400 on both sides: not a row


@pytest.mark.parametrize(("a", "b"), [("340321-2024", "340321-2025"), ("341522-2025", "610900-2025"),
                                      ("430502-2025", "340321-2025")])
def test_the_diff_is_the_same_read_from_either_side(a: str, b: str) -> None:
    there, back = diff_packs(pack_named(a), pack_named(b)), diff_packs(pack_named(b), pack_named(a))
    assert {r.setting: (r.left, r.right) for r in there.rows} == {r.setting: (r.right, r.left) for r in back.rows}
    assert there.rows, "different packs differ"


def test_a_pack_against_itself_has_no_rows_and_one_change_has_one_row() -> None:
    assert diff_packs(pack_named("610900-2025"), pack_named("610900-2025")).rows == ()
    amended = amend("340321", 2025, [parse_change("subsidies.minimum_living.amount=360")]).pack
    only = diff_packs(load_pack("340321", 2025), amended).rows
    assert [(r.setting, r.left.text, r.right.text) for r in only] == [("subsidies.minimum_living.amount", "340元", "360元")]


def test_the_order_of_paths_is_a_rule_of_its_own() -> None:
    pack = load_pack("340321", 2025)
    swapped = pack.model_copy(update={"paths": [pack.paths[1], pack.paths[0], *pack.paths[2:]]})
    found = diff_packs(pack, swapped).rows
    assert [r.setting for r in found] == ["paths"]
    assert found[0].left.text.startswith("1.集中参保缴费期内缴费") and found[0].right.text.startswith("1.外出务工")


def test_every_setting_of_every_pack_has_chinese_words_and_its_codes_are_said_in_chinese() -> None:
    for region, year in available():
        pack = load_pack(region, year)
        for setting, leaf in leaves(pack).items():
            assert setting_words(pack, setting) != setting, setting
            said = value_words(setting, leaf.value, amount=leaf.amount)
            assert not any(c.isascii() and c.isalpha() for c in said), (setting, said)


def test_the_sheet_holds_money_in_yuan_and_dates_as_dates() -> None:
    sheet = diff_sheet(diff_packs(pack_named("340321-2024"), pack_named("340321-2025")))
    by_setting = {row[0]: row for row in sheet.rows}
    money = by_setting["money.individual_contribution"]
    assert (money[2], money[4], money[6]) == (Decimal("380.00"), Decimal("400.00"), Decimal("20.00"))
    assert by_setting["benefit_period.end"][2] == date(2024, 12, 31)
    assert by_setting["waiting.fixed_months"][2] == "本包未设待遇等待期"


@pytest.mark.parametrize("name", ["340321", "340321-25", "abc-2025"])
def test_a_pack_name_not_written_region_year_is_refused_listing_the_packs(name: str) -> None:
    with pytest.raises(PolicyError) as refused:
        pack_named(name)
    assert refused.value.field == "pack" and "340321-2025" in refused.value.message


def test_a_county_of_a_city_pack_is_its_citys_pack() -> None:
    assert pack_named("610924-2025").region == "610900"
    with pytest.raises(PolicyError):
        pack_named("340321-2031")
