"""Every setting of a pack, one by one: its dotted path, its value and the document line it cites.

A pack is a tree of sections (`money`, `waiting` …), keyed entries (a subsidy per status, a path
per id, a county's overrides) and values. `leaves(pack)` flattens it in the file's order, naming
each value as the pack's `defaults` and the engine's reasons do (`subsidies.minimum_living.amount`,
`paths.newborn_90_days.window.days`), with the `source` of the nearest section that has one — the
seed line a village worker can look up. What only names or documents the pack (its region, name,
version, the `defaults` notes, the `source` texts themselves, a path's title, a county's name) is not
a setting. A section a pack leaves out (`waiting: null`) is one leaf holding None.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from shared.codes import Category
from shared.policy.pack import Pack, Path, SubsidyRule, is_amount

_NOT_SETTINGS = frozenset({"schema_version", "region", "name", "year", "version", "seed", "defaults", "applies_to"})
# A top-level value with no section of its own cites the section the engine cites for it.
_CITED_WITH = {"reminder_date": "collection_period"}


@dataclass(frozen=True)
class SameAs:
    """A subsidy priced as another status is (`same_as`)."""
    category: Category


@dataclass(frozen=True)
class Leaf:
    setting: str          # dotted path, paths by id
    value: Any            # as validated: fen for amounts, dates, enums, lists; SameAs for a same_as subsidy
    amount: bool          # an amount (held in fen, written in CNY)
    cites: str | None     # the `source` of the nearest section that has one
    entry: str | None     # the keyed entry it belongs to (`subsidies.minimum_living`, `paths.collection`), if any


def leaves(pack: Pack) -> dict[str, Leaf]:
    """Every setting of `pack` by its dotted path, in the file's order."""
    found: dict[str, Leaf] = {}
    for name, field in Pack.model_fields.items():
        if name in _NOT_SETTINGS:
            continue
        value = getattr(pack, name)
        cited = _CITED_WITH.get(name)
        cites = getattr(getattr(pack, cited), "source", None) if cited else None
        for leaf in _walk(name, value, is_amount(field), cites, None):
            found[leaf.setting] = leaf
    return found


def _walk(setting: str, value: Any, amount: bool, cites: str | None, entry: str | None) -> Iterator[Leaf]:
    if isinstance(value, SubsidyRule):
        yield from _subsidy(setting, value)
    elif isinstance(value, BaseModel):
        own = getattr(value, "source", None) or cites
        for name, field in type(value).model_fields.items():
            if name in ("source", "title", "name") or (isinstance(value, Path) and name == "id"):
                continue
            yield from _walk(f"{setting}.{name}", getattr(value, name), is_amount(field), own, entry)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(f"{setting}.{key}", item, False, cites, f"{setting}.{key}")
    elif setting == "paths":
        for path in value:
            yield from _walk(f"paths.{path.id}", path, False, cites, f"paths.{path.id}")
    else:
        yield Leaf(setting, value, amount, cites, entry)


def _subsidy(setting: str, rule: SubsidyRule) -> Iterator[Leaf]:
    """A subsidy's price is one setting, whether a figure of its own or another status's (`same_as`)."""
    price = SameAs(rule.same_as) if rule.same_as is not None else rule.amount
    yield Leaf(f"{setting}.amount", price, True, rule.source, setting)
    yield Leaf(f"{setting}.funding_source", rule.funding_source, False, rule.source, setting)
    yield Leaf(f"{setting}.mode", rule.mode, False, rule.source, setting)

