"""Flagged defaults (issue 13, point 7): a figure a seed does not give stays a default the county must fill in,
and every assessment that used it says so — in `provisional`, in a leading 暂定 reason and in the explain text.

Seeds: 002 = 霍邱县 (002_dd984882e2f0dbfb.txt), 003 = 双清区 (003_8b38354bfe017e43.txt),
004 = 安康市 (004_6145f28b3106866a.txt), 000 = 怀远县 (000_5537eac76d5340c8.txt).
"""
from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from cli.main import app
from cli.quote import explain_text
from shared.policy import available, load_pack
from tests.unit.policy.builders import quote, scenario_data, status

runner = CliRunner()

# (case, seed line, region, scenario overrides, the provisional setting, who must fill it in)
FLAGGED: list[tuple[str, str, str, dict[str, Any], str, str]] = [
    ("ziyang-minimum-living", "004 L42 (紫阳县现行标准高于200元，未载金额)", "610924",
     {"statuses": [status("minimum_living")]}, "counties.610924.subsidies", "紫阳县医疗保障局"),
    ("ziyang-monitoring", "004 L42", "610924",
     {"statuses": [status("poverty_monitoring")]}, "counties.610924.subsidies", "紫阳县医疗保障局"),
    ("ziyang-relapsed-as-minimum-living", "004 L42, L44 (返贫致贫按低保对象资助标准)", "610924",
     {"statuses": [status("relapsed_poverty")]}, "counties.610924.subsidies", "紫阳县医疗保障局"),
    ("baihe-minimum-living", "004 L42 (白河县现行标准高于200元，未载金额)", "610929",
     {"statuses": [status("minimum_living")]}, "counties.610929.subsidies", "白河县医疗保障局"),
    ("huoqiu-veteran", "002 L14 (重点优抚对象名单由退役军人事务部门提供，未给标准)", "341522",
     {"statuses": [status("entitled_veteran")]}, "subsidies.entitled_veteran", "霍邱县医疗保障局（会同县退役军人事务局）"),
    ("ankang-only-child", "004 L46 (按安卫函〔2023〕86号执行，金额未载)", "610900",
     {"statuses": [status("only_child_family")]}, "subsidies.only_child_family",
     "安康市医疗保障局（按安卫函〔2023〕86号，会同市卫生健康委员会）"),
    ("ankang-daughter-family", "004 L46", "610900",
     {"statuses": [status("daughter_family")]}, "subsidies.daughter_family",
     "安康市医疗保障局（按安卫函〔2023〕86号，会同市卫生健康委员会）"),
    ("huaiyuan-unsupported-child", "000 L91-95 (定额资助，未给金额)", "340321",
     {"statuses": [status("unsupported_child")]}, "subsidies.unsupported_child", "怀远县医疗保障局"),
    ("huoqiu-unsupported-child", "002 L14 silent; 000 L91-95", "341522",
     {"statuses": [status("unsupported_child")]}, "subsidies.unsupported_child", "霍邱县医疗保障局"),
    ("shuangqing-late-surcharge", "003 L35 (2025年财政补助按国家规定执行), L45", "430502",
     {"payment_date": "2025-02-10"}, "money.late_surcharge", "双清区医疗保障局"),
    ("huaiyuan-2024-status", "000 L141-147 (2024年度资助标准不在文件中)", "340321",
     {"year": 2024, "kind": "newborn", "born": "2024-11-15", "payment_date": "2024-12-01",
      "statuses": [status("minimum_living", "2024-11-20")]}, "subsidies", "怀远县医疗保障局"),
]


@pytest.mark.parametrize(("case", "cite", "region", "given", "setting", "who"), FLAGGED, ids=[c[0] for c in FLAGGED])
def test_a_flagged_default_shows_in_the_json_and_the_explain_text(case: str, cite: str, region: str,
                                                                 given: dict[str, Any], setting: str, who: str) -> None:
    a = quote(region, **given)
    out = a.public_json()
    assert [(p["setting"], p["awaiting"]) for p in out["provisional"]] == [(setting, who)], f"{case} ({cite})"
    first = out["reasons"][0]
    assert first["code"] == "provisional_default" and first["text"].startswith("暂定：") and who in first["text"]
    text = explain_text(a)
    assert text.splitlines()[0].startswith("注意：本次核定使用暂定默认值"), text
    assert setting in text.splitlines()[0] and f"待{who}填入实际标准" in text.splitlines()[0]


@pytest.mark.parametrize(("region", "given"), [
    ("610900", {"statuses": [status("minimum_living")]}),        # 004 L42: the city's 200 is the document's figure
    ("610921", {"statuses": [status("minimum_living")]}),        # a county without an override of its own
    ("341522", {"statuses": [status("minimum_living")]}),        # 002 L14: 360
    ("430502", {}),                                              # 003 L43: in the period, no surcharge used
    ("340321", {"statuses": [status("minimum_living")]}),        # 000 L85-87
])
def test_an_assessment_using_no_flagged_default_says_nothing_provisional(region: str, given: dict[str, Any]) -> None:
    a = quote(region, **given)
    assert a.public_json()["provisional"] == []
    assert all(r.code != "provisional_default" and "暂定，待" not in r.rule for r in a.reasons)
    assert not explain_text(a).startswith("注意")


def test_a_full_subsidy_beside_a_flagged_one_needs_no_flag() -> None:
    """004 L38 (就高不就低), L40: 特困 is the full 400, no figure 紫阳 fills in can beat it."""
    a = quote("610924", statuses=[status("extreme_poverty"), status("minimum_living")])
    assert (a.due_fen, a.provisional) == (0, ())


def test_a_flagged_figure_that_lost_could_still_win_so_it_is_flagged() -> None:
    """004 L38, L42: 紫阳's 低保 and 监测 both rest on the county figure; whichever wins, it is provisional."""
    a = quote("610924", statuses=[status("poverty_monitoring"), status("minimum_living")])
    assert [p.setting for p in a.provisional] == ["counties.610924.subsidies"]


def test_the_veteran_line_rule_says_provisional_too() -> None:
    """002 L14: the subsidy reason itself names who must fill the figure in."""
    a = quote("341522", statuses=[status("entitled_veteran")])
    line = next(r for r in a.reasons if r.code == "subsidy_applied")
    assert "暂定，待霍邱县医疗保障局（会同县退役军人事务局）填入实际标准" in line.rule


def test_pack_awaiting_lists_what_each_region_must_still_fill_in() -> None:
    """For the console: (setting, why, who) per provisional default; a county sees the city's and its own only."""
    city = {(a.setting, a.who) for a in load_pack("610900", 2025).awaiting()}
    assert city == {
        ("subsidies.only_child_family", "安康市医疗保障局（按安卫函〔2023〕86号，会同市卫生健康委员会）"),
        ("subsidies.daughter_family", "安康市医疗保障局（按安卫函〔2023〕86号，会同市卫生健康委员会）"),
        ("counties.610924.subsidies", "紫阳县医疗保障局"),
        ("counties.610929.subsidies", "白河县医疗保障局"),
    }
    ziyang = [a.setting for a in load_pack("610924", 2025).awaiting()]
    assert "counties.610924.subsidies" in ziyang and "counties.610929.subsidies" not in ziyang
    assert [a.setting for a in load_pack("341522", 2025).awaiting()] == ["subsidies.entitled_veteran",
                                                                         "subsidies.unsupported_child"]
    setting, why, who, what = load_pack("610924", 2025).awaiting()[-1]
    assert (setting, who, what) == ("counties.610924.subsidies", "紫阳县医疗保障局", "紫阳县资助标准")
    assert "高于200元" in why


@pytest.mark.parametrize(("region", "year"), available())
def test_every_awaiting_default_names_who_and_is_a_default(region: str, year: int) -> None:
    pack = load_pack(region, year)
    for a in pack.awaiting():
        assert a.who.strip() and a.why.strip()
        assert pack.default_note(a.setting) == a.why


def test_yibao_quote_explain_leads_with_the_notice() -> None:
    data = scenario_data("610924", statuses=[status("minimum_living")])
    result = runner.invoke(app, ["quote", "--explain"], input=json.dumps(data))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == (
        "注意：本次核定使用暂定默认值（紫阳县资助标准，counties.610924.subsidies），待紫阳县医疗保障局填入实际标准，"
        "届时核定结果可能变化")
    plain = json.loads(runner.invoke(app, ["quote"], input=json.dumps(data)).stdout)
    assert plain["provisional"] == [{"setting": "counties.610924.subsidies", "what": "紫阳县资助标准",
                                     "awaiting": "紫阳县医疗保障局", "why": plain["provisional"][0]["why"]}]
