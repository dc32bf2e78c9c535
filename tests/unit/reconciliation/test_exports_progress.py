"""Exports are safe to open in a spreadsheet; progress figures follow their documented definitions."""
from __future__ import annotations

import io

from openpyxl import load_workbook

from services.reconciliation.domain.exports import safe_cell, to_csv, to_xlsx
from services.reconciliation.domain.progress import PlaceCount, totals, township_rows, village_rows


def test_formula_like_text_is_neutralised_and_numbers_stay_numbers():
    assert safe_cell("=HYPERLINK(\"http://x\")") == "'=HYPERLINK(\"http://x\")"
    for text in ("+1", "-1+2", "@SUM(A1)", "\tx", "\rx"):
        assert safe_cell(text) == "'" + text
    assert safe_cell(-5) == -5 and safe_cell(0.25) == 0.25 and safe_cell("榴城镇") == "榴城镇"


def test_csv_has_a_bom_and_neutralised_cells():
    data = to_csv(["村", "金额"], [["=cmd|' /C calc'!A0", 12.5]]).decode("utf-8")
    assert data.startswith("\ufeff村,金额\r\n")
    assert "'=cmd" in data and "12.5" in data


def test_xlsx_keeps_text_as_text_not_formula():
    book = load_workbook(io.BytesIO(to_xlsx("表", ["a", "b"], [["=1+1", 3]])))
    ws = book.active
    assert ws["A2"].value == "'=1+1" and ws["A2"].data_type == "s"
    assert ws["B2"].value == 3


def test_township_rank_by_target_completion_and_region_totals():
    counts = [PlaceCount("甲镇", "一村", 100, 50, 40, 16000), PlaceCount("甲镇", "二村", 100, 70, 70, 28000),
              PlaceCount("乙镇", "三村", 50, 45, 45, 18000)]
    rows = {r["township"]: r for r in township_rows(counts, {"甲镇": 150, "乙镇": 100})}
    assert rows["甲镇"]["enrolled_people"] == 120 and rows["甲镇"]["target_completion"] == 0.8
    assert rows["乙镇"]["target_completion"] == 0.45
    assert (rows["甲镇"]["rank"], rows["乙镇"]["rank"]) == (1, 2)
    assert {v["village"]: v["coverage_rate"] for v in village_rows(counts)}["一村"] == 0.5
    assert totals(counts, {}) ["coverage_rate"] == round(165 / 250, 4)
