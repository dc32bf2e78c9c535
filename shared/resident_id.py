"""Resident ID numbers (公民身份号码, GB 11643): validation, masking and the person key.

An ID is 6 digits of region, 8 of birth date, 3 of sequence (odd = male) and a
check character by ISO 7064 MOD 11-2 (`X` stands for 10). We check the check
character and the birth date ourselves: `stdnum.cn.ric` also refuses IDs whose
region code is newer than the birth year, and people keep IDs issued under
codes that changed after they were born.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from operator import mul

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_ZERO_OFFSET = 48 * sum(_WEIGHTS)
_SHAPE = re.compile(r"^\d{17}[\dX]$")
_EXCEL_NUMBER = "身份证号被 Excel 存成了数字，后三位已丢失（变成000或科学计数法）：请把该列设为文本后重新导出，不要手工补位"
_FULLWIDTH = str.maketrans("０１２３４５６７８９Ｘｘ", "0123456789XX")


class InvalidResidentId(ValueError):
    """The text is not a valid resident ID; `reason` says why, in words a clerk can act on."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class ResidentId:
    value: str

    @property
    def region_code(self) -> str:
        return self.value[:6]

    @property
    def birth_date(self) -> date:
        v = self.value
        return date(int(v[6:10]), int(v[10:12]), int(v[12:14]))

    @property
    def is_male(self) -> bool:
        return int(self.value[16]) % 2 == 1

    def __str__(self) -> str:  # never print the whole number by accident
        return mask(self.value)


def check_character(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character for the first 17 digits."""
    if len(first17) == 17 and first17.isascii() and first17.isdigit():
        # Hot path (every receipt): weights times the ASCII codes, minus 48 ('0') times each weight.
        total = sum(map(mul, first17.encode(), _WEIGHTS)) - _ZERO_OFFSET
    else:
        total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS))
    return _CHECK[total % 11]


def normalize(text: str) -> str:
    """Strip spaces (also full-width) and map full-width digits; lower-case x to X."""
    return text.translate(_FULLWIDTH).replace("\u3000", "").strip().upper()


def parse_resident_id(text: str, *, today: date | None = None) -> ResidentId:
    """Validate `text` as an 18-character resident ID or raise `InvalidResidentId`."""
    value = normalize(text)
    if re.fullmatch(r"\d(\.\d+)?E\+?\d+", value):
        raise InvalidResidentId("id_excel_number", _EXCEL_NUMBER)
    if len(value) != 18:
        raise InvalidResidentId("id_length", f"身份证号应为18位，实为{len(value)}位")
    if not _SHAPE.match(value):
        raise InvalidResidentId("id_characters", "身份证号只能是17位数字加1位数字或X")
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise InvalidResidentId("id_birth_date", f"身份证号中的出生日期{value[6:14]}不存在") from None
    if born.year < 1890 or (today is not None and born > today):
        raise InvalidResidentId("id_birth_date", f"身份证号中的出生日期{value[6:14]}不可能")
    expected = check_character(value[:17])
    if value[17] != expected:
        if value.endswith("000"):
            # Excel keeps 15 significant digits: the last three of a number become 000.
            raise InvalidResidentId("id_excel_number", _EXCEL_NUMBER)
        raise InvalidResidentId("id_check_character", "身份证号校验位错误：请核对号码是否抄错")
    return ResidentId(value)


def valid_resident_id(text: str) -> str:
    """The ID as `parse_resident_id` would give it, or `InvalidResidentId`; fast when already clean.

    Every receipt and status row carries an ID, and almost all arrive normalised and valid:
    those are checked here without normalising, a regular expression, a `date` or a
    ResidentId (this check was a third of the decoding time of a receipt); anything else
    takes the full path and its precise reason. test_resident_id.py shows by property that
    both paths accept and refuse the same texts."""
    if (len(text) == 18 and text.isascii() and text[:17].isdigit()
            and _CHECK[(sum(map(mul, text.encode(), _WEIGHTS)) - _ZERO_OFFSET) % 11] == text[17]
            and _plausible_birth_date(text[6:10], text[10:14])):
        return text
    return parse_resident_id(text).value


# Month and day pairs of a leap year: with the year's range and 29 February, what `date()` accepts.
_MONTH_DAYS = frozenset(f"{m:02d}{d:02d}" for m in range(1, 13)
                        for d in range(1, (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)[m - 1] + 1))


def _plausible_birth_date(yyyy: str, mmdd: str) -> bool:
    """The birth date exists and is not before 1890 (as parse_resident_id checks it, without a `date`)."""
    if yyyy < "1890" or mmdd not in _MONTH_DAYS:
        return False
    if mmdd != "0229":
        return True
    year = int(yyyy)
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def birth_date_of(text: str) -> date:
    """The birth date of a resident ID (as `parse_resident_id(text).birth_date`), or `InvalidResidentId`.

    Per receipt on the hot path (the policy memo's key): the fast check, then the date of its eight digits,
    remembered (a region's people share a few tens of thousands of birth dates)."""
    return _birth_date(valid_resident_id(text)[6:14])


@lru_cache(maxsize=65_536)
def _birth_date(yyyymmdd: str) -> date:
    return date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:]))


def mask(value: str) -> str:
    """Keep the region code and the last two characters: 340321**********1X."""
    if len(value) < 8:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 8) + value[-2:]


def person_key(value: str) -> str:
    """A stable pseudonymous key for a person (Kafka keys, counters, URLs): never the ID itself."""
    # A clean ID (digits and an upper-case X: every validated one) is its own normal form; skipping
    # normalize() matters on the hot paths, where every event gets a key.
    clean = value.isdigit() or (value[:-1].isdigit() and value[-1:] == "X")
    return hashlib.blake2b((value if clean and value.isascii() else normalize(value)).encode(),
                           digest_size=10).hexdigest()
