"""Validate the rows of a department submission: good rows go through, bad rows get a reason.

Pure: the date a submission was received is passed in, never read from a clock.
Duplicates inside a submission are found by the pipeline in SQL (over the staged
rows), so that a million-row file needs no million-entry dictionary here.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from shared.codes import CERTIFIED_BY, LABEL, Category, Department, categories_of
from shared.regions import is_known
from shared.resident_id import InvalidResidentId, mask, parse_resident_id, valid_resident_id

_CODES = frozenset(c.value for c in Category)
_DEPARTMENT_NAMES = {d.value: LABEL[d] for d in Department}


@dataclass(frozen=True)
class SubmittedRow:
    """One row as the department sent it (line numbers count from the file's first line)."""

    line_no: int
    person_id: str
    category: str
    certified_on: date | None
    ended_on: date | None = None
    township: str | None = None
    village: str | None = None
    defect: tuple[str, str] | None = None  # (code, reason) found while reading the cells, e.g. a bad date
    subtype: str | None = None  # MonitoringSubtype of a poverty_monitoring row (监测类型), when the list says
    category_assumed: bool = False  # the file had no 人员类别: the department's one category was assumed


@dataclass(frozen=True)
class RowVerdict:
    line_no: int
    row: SubmittedRow
    person_id: str | None  # the normalised ID, when it is valid
    reason_code: str | None = None
    reason: str | None = None

    @property
    def accepted(self) -> bool:
        return self.reason_code is None

    @property
    def person_masked(self) -> str:
        return mask(self.person_id or self.row.person_id)


@dataclass(frozen=True)
class SubmissionRefused:
    """Why the whole submission is refused (e.g. a category the department may not certify)."""

    code: str
    reason: str


def foreign_categories(department: str, categories: set[str]) -> set[str]:
    """The known categories among `categories` that `department` may not certify."""
    return {c for c in categories if c in _CODES and CERTIFIED_BY[Category(c)] != department}


def sole_category(department: str | None) -> str | None:
    """The category `department` certifies when it certifies exactly one (veterans, the disabled persons'
    federation): its list needs no 人员类别 column. None for a department with several, or none."""
    if department is None or department not in _DEPARTMENT_NAMES:
        return None
    owned = categories_of(Department(department))
    return next(iter(owned)).value if len(owned) == 1 else None


def refusal_for(department: str, foreign: set[str]) -> SubmissionRefused:
    owners = "、".join(f"{LABEL[Category(c)]}({c})由{LABEL[CERTIFIED_BY[Category(c)]]}认定" for c in sorted(foreign))
    name = _DEPARTMENT_NAMES.get(department, department)
    return SubmissionRefused("category_not_owned", f"{name}无权认定以下人员类别，整批退回：{owners}")


@lru_cache(maxsize=16)
def _digits(day: date) -> str:
    return f"{day:%Y%m%d}"


def _person_of(text: str, received_on: date) -> str:
    """`parse_resident_id(text, today=received_on).value`, the common case faster: 17 ASCII digits born on or
    before the day received are checked by `valid_resident_id`, whose refusals are then the same (a birth
    date after `received_on`, the one check it leaves out, cannot apply); anything else takes the full path."""
    if len(text) == 18 and text.isascii() and text[:17].isdigit() and text[6:14] <= _digits(received_on):
        return valid_resident_id(text)
    return parse_resident_id(text, today=received_on).value


def validate_row(row: SubmittedRow, *, received_on: date) -> RowVerdict:
    """The verdict on one row by itself (duplicates across rows are the pipeline's job)."""
    if row.defect and row.defect[0].startswith("id_"):
        return RowVerdict(row.line_no, row, None, *row.defect)
    try:
        person = _person_of(row.person_id, received_on)
    except InvalidResidentId as err:
        return RowVerdict(row.line_no, row, None, err.code, err.reason)

    def refuse(code: str, reason: str) -> RowVerdict:
        return RowVerdict(row.line_no, row, person, code, reason)

    if not is_known(person[:6]):
        return refuse("id_region_unknown", f"身份证号前6位{person[:6]}不是任何时期的行政区划代码：请核对号码")
    if row.defect:
        return refuse(*row.defect)
    if not row.category:
        return refuse("missing_category", "缺少人员类别")
    if row.category not in _CODES:
        return refuse("unknown_category", f"人员类别“{row.category[:20]}”不是规定的类别")
    if row.certified_on is None:
        return refuse("missing_certified_on", "缺少认定时间")
    if row.certified_on > received_on:
        return refuse("certified_in_future", f"认定时间{row.certified_on}晚于报送日期{received_on}")
    if row.ended_on is not None and row.ended_on < row.certified_on:
        return refuse("ended_before_certified", f"退出时间{row.ended_on}早于认定时间{row.certified_on}")
    return RowVerdict(row.line_no, row, person)
