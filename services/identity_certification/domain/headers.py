"""Find the header row of a hand-made list and map its Chinese headers to canonical fields.

Departments word their headers differently (身份证号 / 公民身份号码 / 身份证号码 …) and put
a title row or two above them. Pure: rows of text go in, a `HeaderMap` comes out.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

# Canonical field -> the headers that mean it (compared without spaces, brackets folded to ASCII).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "person_id": ("公民身份号码", "身份证号", "身份证号码", "身份证", "居民身份证号码", "证件号码", "身份号码", "id"),
    "category": ("人员类别", "困难类别", "救助类别", "类别", "身份类别", "对象类别", "人员类型", "category"),
    "certified_on": ("认定时间", "认定日期", "纳入时间", "纳入日期", "认定年月", "certified_on"),
    "ended_on": ("退出时间", "取消时间", "退出日期", "取消日期", "ended_on"),
    "township": ("乡镇(街道)", "乡镇", "街道", "乡镇街道", "所属乡镇", "township"),
    "village": ("村(社区)", "村", "社区", "村社区", "村居", "所属村", "village"),
    # 农业农村 (乡村振兴) keep their 防返贫监测 lists by the household's kind; the column names the category too.
    "monitoring_type": ("监测类型", "监测对象类型", "监测户类型", "监测类别", "监测对象类别", "监测户类别",
                        "监测对象属性", "监测户属性", "monitoring_type"),
}
# Headers we understand and deliberately do not keep (names, addresses, phones are not needed here).
IGNORED = ("姓名", "户籍地址", "联系电话", "备注", "序号", "性别", "家庭住址", "地址", "电话", "手机号码", "户主姓名",
           "与户主关系", "出生日期", "年龄", "民族")
HEADER_SEARCH_ROWS = 10  # a header lower than this is not a header


def fold(header: str) -> str:
    """`乡镇（街道）` and ` 乡镇(街道) *` compare equal."""
    return re.sub(r"[\s*＊:：]", "", unicodedata.normalize("NFKC", header)).lower()


_LOOKUP = {fold(word): name for name, words in SYNONYMS.items() for word in words}
_IGNORED = frozenset(fold(word) for word in IGNORED)


@dataclass(frozen=True)
class HeaderMap:
    row_index: int  # 0-based index of the header row among the rows read
    columns: dict[str, int]  # canonical field -> column index
    not_understood: tuple[str, ...] = ()
    repeated: tuple[str, ...] = field(default=())


class NoHeader(ValueError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.code = "no_header"
        self.reason = reason


def map_header(cells: list[str]) -> tuple[dict[str, int], list[str], list[str]]:
    """Columns of each canonical field, the headers not understood, and fields named twice."""
    columns: dict[str, int] = {}
    unknown, repeated = [], []
    for index, cell in enumerate(cells):
        key = fold(cell)
        if not key or key in _IGNORED:
            continue
        name = _LOOKUP.get(key)
        if name is None:
            unknown.append(cell.strip())
        elif name in columns:
            repeated.append(cell.strip())
        else:
            columns[name] = index
    return columns, unknown, repeated


def find_header(rows: list[list[str]]) -> HeaderMap:
    """The first row naming a resident-ID column and at least one other field of ours."""
    for index, cells in enumerate(rows[:HEADER_SEARCH_ROWS]):
        columns, unknown, repeated = map_header(cells)
        if "person_id" in columns and len(columns) >= 2:
            return HeaderMap(index, columns, tuple(unknown), tuple(repeated))
    raise NoHeader(
        f"前{HEADER_SEARCH_ROWS}行中没有找到表头：表头须有“身份证号”（或“公民身份号码”）列，"
        "以及“人员类别”“认定时间”等列"
    )
