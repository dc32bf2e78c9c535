"""Judging the rows of a household register or an employee-insurance roster: accepted or refused with why.

Count in = accepted + refused, always. A row of another region is refused, not
moved: each region imports only its own list. IDs stored by Excel as numbers are
refused with exactly that reason and never repaired.
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Generic, NamedTuple, TypeVar

from shared.api_contract import visible
from shared.resident_id import InvalidResidentId, mask, parse_resident_id, valid_resident_id

_EXCEL_EPOCH = date(1899, 12, 30)
Row = Mapping[str, Any]  # a list's row: canonical field -> cell as uploaded, plus "line_no"
Rejection = tuple[int, str, str, str]  # line, masked ID, code, reason
T = TypeVar("T")
_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")


class Household(NamedTuple):
    """One person of a household register (a named tuple: a register is millions of them)."""

    person_id: str
    township: str | None
    village: str | None
    name: str | None


@dataclass(frozen=True)
class Employee:
    person_id: str
    employer: str | None
    insured_from: date
    insured_to: date | None


@dataclass
class Judged(Generic[T]):
    accepted: list[T] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)


def text(cell: Any) -> str | None:
    if cell is None:
        return None
    if isinstance(cell, float) and cell.is_integer():
        cell = int(cell)
    value = str(cell).replace("\u3000", " ").strip()
    return value or None


def parse_date(cell: Any) -> date | None:
    """2024-11-05, 2024/11/5, 2024年11月5日, 20241105, an Excel serial number, or a date cell."""
    if cell is None or (isinstance(cell, str) and not cell.strip()):
        return None
    if isinstance(cell, datetime):
        return cell.date()
    if isinstance(cell, date):
        return cell
    if isinstance(cell, (int, float)) and 20000 <= cell <= 80000:
        return _EXCEL_EPOCH + timedelta(days=int(cell))
    raw = text(cell) or ""
    if re.fullmatch(r"\d{8}", raw):
        raw = f"{raw[:4]}-{raw[4:6]}-{raw[6:]}"
    m = _DATE.match(raw)
    if not m:
        raise ValueError(f"日期“{raw}”无法识别（可写作2024-11-05、2024/11/5、2024年11月5日或20241105）")
    return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))


def _excel_number() -> InvalidResidentId:
    """shared.resident_id's own refusal for an ID that Excel turned into a number."""
    try:
        parse_resident_id("3.40321E+17")
    except InvalidResidentId as e:
        return e
    raise AssertionError("an Excel number must not parse as a resident ID")


def _unreadable(row: Row) -> str | None:
    """The first cell holding a control character or an unpaired surrogate: no one typed it, and PostgreSQL
    cannot store a NUL."""
    texts = [cell for cell in row.values() if isinstance(cell, str)]
    joined = "".join(texts)
    if visible(joined) == joined:  # the usual row, checked in one pass
        return None
    for name, cell in row.items():
        if isinstance(cell, str) and visible(cell) != cell:
            return name
    return None


def _person(row: Row, region: str, judged: Judged[Any]) -> str | None:
    cell = row.get("id")
    raw = text(cell)
    line = row["line_no"]
    if raw is None:
        judged.rejected.append((line, "", "id_missing", "身份证号为空"))
        return None
    unreadable = _unreadable(row)
    if unreadable is not None:
        judged.rejected.append((line, mask(visible(raw)), "control_character",
                                f"“{unreadable}”一栏含有控制字符或无效字符：请在表格中删除后重新导入"))
        return None
    if isinstance(cell, (int, float)) and not isinstance(cell, bool):
        # A numeric cell holds at most 15 significant digits: the ID is already damaged, never repair it.
        err = _excel_number()
        judged.rejected.append((line, mask(raw), err.code, err.reason))
        return None
    try:
        person = valid_resident_id(raw)  # parse_resident_id's answer, quicker for a clean ID
    except InvalidResidentId as e:
        judged.rejected.append((line, mask(raw), e.code, e.reason))
        return None
    other = text(row.get("region"))
    if other is not None and other != region:
        judged.rejected.append((line, mask(person), "other_region",
                                f"该行统筹区为{other}，不是本统筹区{region}：请由该统筹区自行导入"))
        return None
    return person


def household(row: Row, region: str, judged: Judged[Household]) -> Household | None:
    """One row judged alone (a person repeated in the file is the caller's to find): the household, or None
    with its refusal added to `judged`."""
    person = _person(row, region, judged)
    if person is None:
        return None
    return Household(person, text(row.get("township")), text(row.get("village")), text(row.get("name")))


def households(rows: Sequence[Row], region: str) -> Judged[Household]:
    judged: Judged[Household] = Judged()
    seen: set[str] = set()
    for row in rows:
        person = _person(row, region, judged)
        if person is None:
            continue
        if person in seen:
            judged.rejected.append((row["line_no"], mask(person), "duplicate_row", "同一身份证号在本文件中重复出现"))
            continue
        seen.add(person)
        judged.accepted.append(Household(person, text(row.get("township")), text(row.get("village")),
                                         text(row.get("name"))))
    return judged


def employees(rows: Sequence[Row], region: str) -> Judged[Employee]:
    judged: Judged[Employee] = Judged()
    seen: set[str] = set()
    for row in rows:
        person = _person(row, region, judged)
        if person is None:
            continue
        line = row["line_no"]
        try:
            start, end = parse_date(row.get("insured_from")), parse_date(row.get("insured_to"))
        except ValueError as e:
            judged.rejected.append((line, mask(person), "bad_date", str(e)))
            continue
        if start is None:
            judged.rejected.append((line, mask(person), "insured_from_missing", "缺少职工医保参保日期"))
        elif end is not None and end < start:
            judged.rejected.append((line, mask(person), "dates_reversed", f"停保日期{end}早于参保日期{start}"))
        elif person in seen:
            judged.rejected.append((line, mask(person), "duplicate_row", "同一身份证号在本文件中重复出现"))
        else:
            seen.add(person)
            judged.accepted.append(Employee(person, text(row.get("employer")), start, end))
    return judged
