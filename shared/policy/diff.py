"""What differs between two policy packs, setting by setting, each side with the seed line it cites: pure.

`diff_packs(a, b)` compares two years of a region (340321-2024 against 340321-2025) or two regions
(341522-2025 against 610900-2025): every amount, date, period and rule that is not the same, in the
file's order, one row each, with both values typed (fen for amounts, dates as dates) and in words, the
`source` each side cites and, where a side's value is a documented default, why it was chosen. A
keyed entry one pack has and the other has not (a subsidy for a status, an enrollment path, a county's
overrides) is one row, "本包无此项" on the side without it; a section a pack leaves out (怀远县2024 has
no waiting period) gives a row per setting of the other side, saying so. Wording and titles are not
compared, only what decides. The console page and `yibao pack diff` both show this.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from shared.policy.errors import PolicyError
from shared.policy.leaves import Leaf, leaves
from shared.policy.loader import available, load_pack
from shared.policy.pack import Pack
from shared.policy.words import SECTIONS, setting_words, value_words
from shared.sheets import Sheet, yuan_of

_NAMED = re.compile(r"^(\d{6})-(\d{4})$")
_ABSENT = {"subsidies": "本包无此身份的资助", "paths": "本包无此缴费路径", "counties": "本包无此县（区）的特别规定"}
_ORDER = {name: i for i, name in enumerate(SECTIONS)}


@dataclass(frozen=True)
class Side:
    """One pack's side of a row."""
    value: Any            # typed: fen for an amount, a date, a code; None when missing or not set
    text: str             # in words
    amount: bool          # `value` is fen
    cites: str | None     # the seed line the pack cites for it
    default: str | None   # why, where the value is a documented default (the document is silent)
    missing: bool = False


@dataclass(frozen=True)
class Row:
    setting: str          # the dotted path in the pack files
    what: str             # the setting in words
    left: Side
    right: Side

    @property
    def change_fen(self) -> int | None:
        """right − left, where both sides are amounts of money."""
        lv, rv = self.left.value, self.right.value
        if self.left.amount and self.right.amount and isinstance(lv, int) and isinstance(rv, int):
            return rv - lv
        return None


@dataclass(frozen=True)
class PackDiff:
    left: str             # each pack's title: 怀远县2024年度政策包（340321-2024，第1版）
    right: str
    rows: tuple[Row, ...]


def title(pack: Pack) -> str:
    return f"{pack.name}{pack.year}年度政策包（{pack.region}-{pack.year}，第{pack.version}版）"


def pack_named(name: str) -> Pack:
    """The pack a name such as 340321-2025 stands for (a county of a city pack too: 610924-2025). Raises
    PolicyError listing the packs there are."""
    found = _NAMED.match(name.strip())
    if found is None:
        there = "、".join(f"{r}-{y}" for r, y in available())
        raise PolicyError(f"“{name}”应写作“区划代码-年度”，如 340321-2025；现有：{there}", field="pack")
    return load_pack(found[1], int(found[2]))


def diff_packs(a: Pack, b: Pack) -> PackDiff:
    """Every setting that differs between `a` (left) and `b` (right)."""
    left, right = leaves(a), leaves(b)
    rows: list[Row] = []
    done_entries: set[str] = set()
    for setting in sorted(dict.fromkeys([*left, *right]), key=_section_order):
        one, other = left.get(setting), right.get(setting)
        if one is not None and other is not None:
            if one.value != other.value:
                rows.append(Row(setting, _words(a, b, setting), _side(a, one), _side(b, other)))
            continue
        row = _one_sided(a, b, left, right, setting, done_entries)
        if row is not None:
            rows.append(row)
    order = _path_order(a, b)
    if order is not None:
        rows.insert(next((i for i, r in enumerate(rows) if r.setting.startswith("paths")), len(rows)), order)
    return PackDiff(title(a), title(b), tuple(rows))


def _section_order(setting: str) -> int:
    return _ORDER.get(setting.split(".", 1)[0], len(_ORDER))


def _words(a: Pack, b: Pack, setting: str) -> str:
    parts = setting.split(".")
    in_a = parts[0] != "paths" or any(p.id == parts[1] for p in a.paths)
    return setting_words(a if in_a else b, setting)


def _side(pack: Pack, leaf: Leaf) -> Side:
    return Side(leaf.value, value_words(leaf.setting, leaf.value, amount=leaf.amount), leaf.amount, leaf.cites,
                pack.default_note(leaf.setting))


def _one_sided(a: Pack, b: Pack, left: dict[str, Leaf], right: dict[str, Leaf], setting: str,
               done_entries: set[str]) -> Row | None:
    """A setting only one pack has: its whole entry missing on the other side (one row per entry), or a
    section the other pack leaves out (a row per setting); nothing for the left-out section's own None."""
    has_left = setting in left
    here, there = (left, right) if has_left else (right, left)
    pack_here, pack_there = (a, b) if has_left else (b, a)
    if any(key.startswith(setting + ".") for key in there):
        return None  # this is the None of a section the other side has: its settings give the rows
    leaf = here[setting]
    if leaf.value is None:
        return None  # not set on this side, not there on the other: nothing differs
    if leaf.entry is not None and not any(key.startswith(leaf.entry + ".") for key in there):
        if leaf.entry in done_entries:
            return None
        done_entries.add(leaf.entry)
        present = _entry_side(pack_here, here, leaf.entry)
        absent = Side(None, _ABSENT.get(leaf.entry.split(".", 1)[0], "本包无此项"), False, None, None, missing=True)
        what = setting_words(pack_here, leaf.entry)
        return Row(leaf.entry, what, *((present, absent) if has_left else (absent, present)))
    section = next((p for p in _ancestors(setting) if p in there), None)
    said = f"本包未设{setting_words(pack_there, section)}" if section else "本包未规定"
    absent = Side(None, said, False, there[section].cites if section else None,
                  pack_there.default_note(section) if section else None, missing=True)
    present = _side(pack_here, leaf)
    return Row(setting, setting_words(pack_here, setting), *((present, absent) if has_left else (absent, present)))


def _ancestors(setting: str) -> list[str]:
    parts = setting.split(".")
    return [".".join(parts[:n]) for n in range(len(parts) - 1, 0, -1)]


def _entry_side(pack: Pack, found: dict[str, Leaf], entry: str) -> Side:
    """A whole entry in words: each of its settings that is set, e.g. 340元；医疗救助资金；同缴同补."""
    own = [leaf for leaf in found.values() if leaf.entry == entry and leaf.value is not None]
    if entry.startswith(("subsidies.", "counties.")):
        text = "；".join(value_words(x.setting, x.value, amount=x.amount) for x in own)
    else:
        text = "；".join(f"{setting_words(pack, x.setting).split('」', 1)[-1]}：{value_words(x.setting, x.value, amount=x.amount)}"
                        for x in own if x.value is not False)
    price = next((x for x in own if x.amount and isinstance(x.value, int)), None)
    return Side(price.value if price else None, text, price is not None, own[0].cites if own else None,
                pack.default_note(entry))


def _path_order(a: Pack, b: Pack) -> Row | None:
    """The paths both packs have, when they are tried in another order (the first that fits applies)."""
    common = {p.id for p in a.paths} & {p.id for p in b.paths}
    ids_a, ids_b = [p.id for p in a.paths if p.id in common], [p.id for p in b.paths if p.id in common]
    if ids_a == ids_b:
        return None

    def side(pack: Pack, ids: list[str]) -> Side:
        titles = {p.id: p.title for p in pack.paths}
        return Side(None, " → ".join(f"{n}.{titles[i]}" for n, i in enumerate(ids, 1)), False, None, None)

    return Row("paths", "参保缴费路径的先后（先符合者适用）", side(a, ids_a), side(b, ids_b))


def diff_sheet(d: PackDiff) -> Sheet:
    """The diff as a table: money in yuan and dates as dates (typed for XLSX), each side's citation beside it."""
    header = ("设置项", "项目", f"A：{d.left}", "A依据", f"B：{d.right}", "B依据", "变化（B−A，元）", "A默认说明",
              "B默认说明")
    rows = [(r.setting, r.what, cell(r.left), r.left.cites, cell(r.right), r.right.cites, yuan_of(r.change_fen),
             r.left.default, r.right.default) for r in d.rows]
    return Sheet("政策包差异", header, rows)


def cell(side: Side) -> object:
    """A side as a typed cell: yuan for an amount, the date for a date, else its words."""
    if side.amount and isinstance(side.value, int) and not side.missing and not isinstance(side.value, bool):
        return yuan_of(side.value)
    if isinstance(side.value, date):
        return side.value
    return side.text
