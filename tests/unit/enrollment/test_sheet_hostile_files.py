"""CSV registers that the csv module cannot read in its default mode: refused with a reason or read, never a 500."""
from __future__ import annotations

import pytest

from services.enrollment.sheets import SheetError, read
from tests.support.people import resident_id


def test_a_lone_carriage_return_ends_a_line() -> None:
    person = resident_id("340321")
    sheet = read(f"身份证号,姓名\r{person},张三\r\rK".encode(), "名册.csv")
    assert [r["id"] for r in sheet.rows] == [person, "K"]


def test_a_cell_beyond_the_csv_size_limit_refuses_the_file_with_its_line() -> None:
    with pytest.raises(SheetError, match="第2行无法按 CSV 读取"):
        read(('身份证号,姓名\n"' + "x" * 200_000 + '",张三\n').encode(), "名册.csv")
