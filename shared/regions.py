"""County-level region codes (GB/T 2260) from the table python-stdnum ships (`stdnum/cn/loc.dat`).

A code that existed at any time is a real place: people keep IDs issued under
codes that were later renamed or merged, so we keep every name a code ever had,
with the years it was valid. The table is read on first use, never at import.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

_NAME = re.compile(r"^(?:\[(\d*)-(\d*)\])?(.+)$")


@dataclass(frozen=True)
class RegionName:
    name: str
    valid_from: int | None
    valid_to: int | None


@dataclass(frozen=True)
class Region:
    code: str
    province: str
    names: tuple[RegionName, ...]

    @property
    def name(self) -> str:
        """The most recent name."""
        return self.names[-1].name


def _names(raw: str) -> tuple[RegionName, ...]:
    out = []
    for part in raw.split(","):
        m = _NAME.match(part.strip())
        if m is None:  # only an empty name fails `(.+)`
            raise ValueError(f"loc.dat: empty region name in {raw!r}")
        start, end, name = m.group(1), m.group(2), m.group(3)
        out.append(RegionName(name, int(start) if start else None, int(end) if end else None))
    return tuple(out)


@cache
def _table() -> dict[str, Region]:
    text = resources.files("stdnum.cn").joinpath("loc.dat").read_text(encoding="utf-8")
    table: dict[str, Region] = {}
    province_code, province = "", ""
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        code, _, attr = line.strip().partition(" ")
        value = attr.split("=", 1)[1].strip('"')
        if not line.startswith(" "):  # a province line: two digits
            province_code, province = code, value
            continue
        full = province_code + code
        table[full] = Region(full, province, _names(value))
    return table


def lookup(code: str) -> Region | None:
    """The region with this 6-digit code, or None if the code never existed."""
    return _table().get(code)


def is_known(code: str) -> bool:
    return code in _table()


def name_of(code: str) -> str:
    """The latest name of `code`, or the code itself when unknown (never raises: for display)."""
    region = lookup(code)
    return region.name if region else code


def counties_of(city: str, year: int) -> list[str]:
    """The county-level codes of a prefecture-level city (`city` ends in 00) that were in use in `year`: same
    first four digits; the city's own code and its 市辖区 (…01, no place of its own) left out. A code retired
    before `year` (610928 旬阳县, 旬阳市 610981 since 2021) is not among them."""
    def in_use(region: Region) -> bool:
        return any((n.valid_from is None or n.valid_from <= year) and (n.valid_to is None or year <= n.valid_to)
                   for n in region.names)

    return sorted(code for code, region in _table().items()
                  if code[:4] == city[:4] and code[4:] not in ("00", "01") and in_use(region))
