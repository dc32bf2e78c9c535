"""A region's pack with some amounts changed, in memory only: the question a what-if asks.

A change is written `PATH=YUAN`, PATH being the dotted path of an amount in the pack file itself
(`shared/policy/packs/<region>-<year>.yaml`) and YUAN a number of CNY (元) with at most two decimals:

    money.individual_contribution=420               个人缴费标准 400 → 420
    subsidies.minimum_living.amount=360             低保对象资助 340 → 360
    subsidies.orphan.amount=full                    a subsidy may also be `full` (the whole contribution)
    counties.610924.subsidies.minimum_living.amount=260   紫阳县's own 低保 figure (安康市 pack)

Only amounts the pack already has can change (`amount_settings` lists them): a subsidy for a status
the pack does not subsidise needs its funding source and mode, which is a new pack, not a what-if.
A subsidy priced as another status (`same_as`) gets a figure of its own. The amended document is
validated as a pack file is (the same errors, naming the setting) and never written anywhere.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from shared.policy.errors import PolicyError
from shared.policy.leaves import leaves
from shared.policy.loader import load_pack, pack_document, pack_of, pooling_region_of
from shared.policy.pack import Pack
from shared.policy.words import setting_words, value_words

SYNTAX = "PATH=YUAN，如 money.individual_contribution=420、subsidies.minimum_living.amount=360"
_CHANGE = re.compile(r"^\s*([a-z0-9_.]+)\s*=\s*(\S+)\s*$")
_YUAN = re.compile(r"^[0-9]+(\.[0-9]{1,2})?$")


@dataclass(frozen=True)
class Change:
    """One amount to set: the setting's dotted path and its new value in CNY (or `full`)."""
    setting: str
    yuan: Decimal | Literal["full"]

    def __str__(self) -> str:
        return f"{self.setting}={self.yuan}"


@dataclass(frozen=True)
class Changed:
    """A change as made: the setting in words, and its value before and after (fen where a figure)."""
    setting: str
    what: str
    before: int | str | None
    after: int | str | None
    before_text: str
    after_text: str


@dataclass(frozen=True)
class Amended:
    """The stored pack, the amended one (same region and year) and what was changed."""
    stored: Pack
    pack: Pack
    changes: tuple[Changed, ...]


def parse_change(text: str) -> Change:
    """`PATH=YUAN` → Change (full-width characters read as their ASCII); PolicyError (field: the setting, or `set`) when it is not that."""
    found = _CHANGE.match(unicodedata.normalize("NFKC", text))  # full-width digits and ＝ as typed with a Chinese IME
    if found is None:
        raise PolicyError(f"“{text}”应写作 {SYNTAX}", field="set")
    setting, raw = found[1], found[2]
    if raw == "full":
        return Change(setting, "full")
    if _YUAN.match(raw) is None:
        raise PolicyError(f"“{raw}”应为不小于0、至多两位小数的元数（或 full）", field=setting)
    value = Decimal(raw)
    return Change(setting, value)


def amount_settings(pack: Pack) -> list[str]:
    """Every amount of `pack` a what-if may change, as PATH for `--set`, in the file's order."""
    return [leaf.setting for leaf in leaves(_file_pack(pack)).values() if leaf.amount]


def amend(region: str, year: int, changes: Sequence[Change]) -> Amended:
    """The pack of `region` (its pooling region's file) and `year` with `changes` made, validated. Raises
    PolicyError naming the setting: not an amount of this pack, set twice, or a pack that no longer holds."""
    stored = load_pack(pooling_region_of(region, year), year)
    allowed = amount_settings(stored)
    document = pack_document(region, year)
    seen: set[str] = set()
    for change in changes:
        if change.setting in seen:
            raise PolicyError("同一项只能改一次", field=change.setting)
        seen.add(change.setting)
        if change.setting not in allowed:
            raise PolicyError(_not_an_amount(stored, change.setting, allowed), field=change.setting)
        if change.yuan == "full" and not change.setting.endswith(".amount"):
            raise PolicyError("full（全额）只用于资助金额（…subsidies.<身份>.amount）", field=change.setting)
        _put(document, change)
    pack = pack_of(document, file=f"（测算）shared/policy/packs/{stored.region}-{year}.yaml", region=stored.region,
                   year=year)
    return Amended(stored, pack, tuple(_changed(stored, pack, c.setting) for c in changes))


def _file_pack(pack: Pack) -> Pack:
    return pack.model_copy(update={"applies_to": None}) if pack.applies_to else pack


def _not_an_amount(pack: Pack, setting: str, allowed: list[str]) -> str:
    parts = setting.split(".")
    if parts[-1] == "amount" and "subsidies" in parts:
        return (f"本政策包没有“{setting_words(pack, setting.rsplit('.', 1)[0])}”的资助规则；新增资助须在政策包中写明资金来源和"
                f"资助方式，不能在测算中添加。可改的金额：{'、'.join(allowed)}")
    return f"不是本政策包（{pack.region}-{pack.year}）的金额设置。可改的金额：{'、'.join(allowed)}"


def _put(document: dict[str, Any], change: Change) -> None:
    """Set the value in the document as written; a subsidy copied from another status (`same_as`) loses it."""
    *parents, last = change.setting.split(".")
    node: Any = document
    for part in parents:
        node = node[part] if part in node else node[int(part) if part.isdigit() else part]
    node[last] = change.yuan
    if last == "amount":
        node.pop("same_as", None)


def _changed(stored: Pack, pack: Pack, setting: str) -> Changed:
    before, after = leaves(_file_pack(stored))[setting], leaves(pack)[setting]
    return Changed(setting, setting_words(stored, setting), _plain(before.value), _plain(after.value),
                   value_words(setting, before.value, amount=True), value_words(setting, after.value, amount=True))


def _plain(value: Any) -> int | str | None:
    return value if value is None or isinstance(value, (int, str)) else value_words("", value)
