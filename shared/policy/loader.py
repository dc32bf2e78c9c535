"""Finding, validating and caching packs: `packs/<region>-<year>.yaml`, one per region and year.

A county inside a city-wide pooling region (610924 in 安康市 610900) has no file
of its own: `load_pack("610924", 2025)` loads the city pack and applies that
county's overrides; `pooling_region_of("610924", 2025)` says "610900".
"""
from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml
from pydantic import ValidationError

from shared.policy.errors import PolicyError
from shared.policy.pack import Pack

_PACKS = "shared.policy.packs"


def _file_name(region: str, year: int) -> str:
    return f"{region}-{year}.yaml"


def _exists(region: str, year: int) -> bool:
    return resources.files(_PACKS).joinpath(_file_name(region, year)).is_file()


def available() -> list[tuple[str, int]]:
    """Every (region, year) that has a pack file."""
    found = []
    for entry in resources.files(_PACKS).iterdir():
        stem, _, ext = entry.name.rpartition(".")
        region, _, year = stem.partition("-")
        if ext == "yaml" and region.isdigit() and year.isdigit():
            found.append((region, int(year)))
    return sorted(found)


def pooling_region_of(code: str, year: int) -> str:
    """The pooling region whose pack applies to `code` in `year` (the code itself, or its city)."""
    if _exists(code, year):
        return code
    city = code[:4] + "00"
    if code != city and _exists(city, year) and _load_file(city, year).covers(code):
        return city
    years = sorted({y for r, y in available() if r in (code, city)})
    if years:  # the place is known, the year is not
        raise PolicyError(f"{code}没有{year}年度的政策包，现有年度：{years}", field="year")
    raise PolicyError(f"没有{code}的政策包（no policy pack for region {code}）", field="region")


@cache
def _load_file(region: str, year: int) -> Pack:
    name = _file_name(region, year)
    text = resources.files(_PACKS).joinpath(name).read_text(encoding="utf-8")
    return parse_pack(text, file=f"shared/policy/packs/{name}", region=region, year=year)


def parse_pack(text: str, *, file: str, region: str | None = None, year: int | None = None) -> Pack:
    """Validate YAML text as a pack, or raise PolicyError naming the file and the first bad field."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise PolicyError(f"not valid YAML: {e}", file=file) from None
    return pack_of(raw, file=file, region=region, year=year)


def pack_of(raw: Any, *, file: str, region: str | None = None, year: int | None = None) -> Pack:
    """Validate a pack as written (amounts in CNY, dates ISO; `pack_document`, amended or not), or raise
    PolicyError naming the file and the first bad field."""
    if not isinstance(raw, dict):
        raise PolicyError("a pack is a mapping of settings", file=file)
    if "applies_to" in raw:
        raise PolicyError("set by the loader, not in a file", field="applies_to", file=file)
    try:
        pack = Pack.model_validate(raw)
    except ValidationError as e:
        first = e.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or None
        more = f" (and {e.error_count() - 1} more)" if e.error_count() > 1 else ""
        raise PolicyError(first["msg"] + more, field=field, file=file) from None
    for which, want, got in (("region", region, pack.region), ("year", year, pack.year)):
        if want is not None and want != got:
            raise PolicyError(f"file is for {want} but says {got}", field=which, file=file)
    for i, note in enumerate(pack.defaults):
        if not _resolves(raw, note.setting):
            raise PolicyError(f"names no setting of this pack: {note.setting}", field=f"defaults.{i}.setting", file=file)
    return pack


def _resolves(raw: Any, dotted: str) -> bool:
    node = raw
    for part in dotted.split("."):
        if isinstance(node, dict):
            key = next((k for k in node if str(k) == part), None)
            if key is None:
                return False
            node = node[key]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, list):  # paths are named by id, not by position
            node = next((x for x in node if isinstance(x, dict) and x.get("id") == part), None)
            if node is None:
                return False
        else:
            return False
    return True


def pack_document(region: str, year: int) -> dict[str, Any]:
    """The pack file of `region`'s pooling region and `year` as it is written (CNY, ISO dates), a fresh copy each
    call: what a what-if amends before validating it again (`pack_of`)."""
    raw: dict[str, Any] = yaml.safe_load(resources.files(_PACKS).joinpath(
        _file_name(pooling_region_of(region, year), year)).read_text(encoding="utf-8"))
    return raw


def load_pack(region: str, year: int) -> Pack:
    """The validated pack for `region` (a pooling region or a county inside one) and coverage year."""
    return _for_county(region, year)


@cache
def _for_county(region: str, year: int) -> Pack:
    pooling = pooling_region_of(region, year)
    pack = _load_file(pooling, year)
    return pack if pooling == region else pack.model_copy(update={"applies_to": region})


def standard_fen(region: str, year: int) -> int:
    """The individual contribution (个人缴费标准) in fen: the hot-path figure services need."""
    return load_pack(region, year).money.individual_contribution
