"""`yibao pack diff A B`: the diff of two packs as a table on the terminal (rich, or plain aligned text) and as XLSX."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from cli.main import app
from cli.show import plain_table, text_width
from shared.policy.diff import diff_packs, pack_named

runner = CliRunner()


def test_the_table_names_each_difference_in_chinese() -> None:
    """With rich (installed with typer): a table whose cells wrap, so only short words are looked for here; the
    seed lines are checked in the plain text and the workbook below."""
    result = runner.invoke(app, ["pack", "diff", "341522-2025", "610900-2025"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "A：霍邱县2025年度政策包（341522-2025，第2版）" in out and "共37项不同" in out and "━" in out
    assert "低保对象资助金额" in out and "360元" in out and "-160元" in out
    assert "本包无此身份的资助" in out and "2024-12-20" in out


@pytest.mark.parametrize("args", [["--plain"], []])
def test_plain_text_gives_each_difference_as_a_block_when_a_table_would_not_fit(args: list[str]) -> None:
    """Asked for plain text, or on a terminal of 80 columns (a 6-column table would wrap every cell)."""
    result = runner.invoke(app, ["pack", "diff", "340321-2024", "340321-2025", *args], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    at = lines.index("个人缴费标准")
    assert lines[at:at + 7] == ["个人缴费标准", "money.individual_contribution", "  A：380元",
                                "  A依据：怀远县2025年度方案 三(一)，第141-147行（2024年出生的新生儿须缴纳380元）",
                                "  B：400元", "  B依据：怀远县方案 二(一)，第75-79行", "  变化：+20元"]
    waiting = lines.index("waiting.fixed_months")
    assert lines[waiting + 1:waiting + 3] == ["  A：本包未设待遇等待期（默认值，文件未明确）", "  B：3个月（默认值，文件未明确）"]


def test_plain_columns_line_up_chinese_text_by_its_width_on_screen() -> None:
    text = plain_table("表", ["乡镇", "人数"], [["榴城镇", "12"], ["龙亢", "3"]], width=80)
    rows = [r for r in text.splitlines()[1:] if not r.startswith("-")]
    assert [text_width(r[:len(r) - len(r.split()[-1])]) for r in rows] == [8, 8, 8]  # the second column starts alike
    assert rows[-1] == "龙亢    3"


def test_the_workbook_holds_the_same_rows_with_yuan_and_dates_typed(tmp_path: Path) -> None:
    out = tmp_path / "diff.xlsx"
    result = runner.invoke(app, ["pack", "diff", "340321-2024", "340321-2025", "--xlsx", str(out)])
    assert result.exit_code == 0, result.output
    sheet = load_workbook(out)["政策包差异"]
    rows = {r[0].value: [c.value for c in r] for r in sheet.iter_rows(min_row=2)}
    assert len(rows) == len(diff_packs(pack_named("340321-2024"), pack_named("340321-2025")).rows)
    assert rows["money.individual_contribution"][2:7] == [380, "怀远县2025年度方案 三(一)，第141-147行（2024年出生的新生儿须缴纳380元）",
                                                          400, "怀远县方案 二(一)，第75-79行", 20]
    assert rows["collection_period.start"][2] == datetime(2023, 9, 1)
    assert sheet["C2"].number_format in ("#,##0.00", "General")


def test_an_unknown_pack_exits_2_with_one_line() -> None:
    result = runner.invoke(app, ["pack", "diff", "340321-2025", "999999-2025"])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.strip() == "region: 没有999999的政策包（no policy pack for region 999999）"
