"""What a policy change would cost: the same people's dues under the stored pack and an amended one, totalled.

`Tally.add` takes one person at a time (their township and their due before and after, or None when the
rules cannot judge them on that side) and keeps only totals, so a region of millions is counted in the
memory of a few hundred numbers: per side, what the tax side collects, what is refunded later (先缴后补),
what residents finally bear and what the funds pay, by funding source and by township; and per person
how much more or less they bear — a count per distinct change, banded when there are many
(`distribution`). Pure: the use case (services/subsidy/whatif.py) streams the people in.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from services.subsidy.domain.dues import Due

NO_TOWNSHIP = "（未登记乡镇）"


@dataclass
class Money:
    """Totals of one side: what is collected at payment, refunded later, and paid by the funds."""
    people: int = 0
    collected_fen: int = 0
    refund_after_fen: int = 0
    subsidy_fen: int = 0

    @property
    def borne_fen(self) -> int:
        """What residents finally bear: collected less the 先缴后补 refunds."""
        return self.collected_fen - self.refund_after_fen

    def add(self, due: Due) -> None:
        self.people += 1
        self.collected_fen += due.due_fen
        self.refund_after_fen += due.refund_after_fen
        self.subsidy_fen += due.subsidy_fen


@dataclass
class Pair:
    before: Money = field(default_factory=Money)
    after: Money = field(default_factory=Money)


@dataclass(frozen=True)
class Band:
    """People whose burden changed by `low_fen` … `high_fen` (one figure when equal)."""
    low_fen: int
    high_fen: int
    people: int


@dataclass
class Tally:
    people: int = 0
    unassessable_before: int = 0
    unassessable_after: int = 0
    region: Pair = field(default_factory=Pair)
    sources: dict[str, list[int]] = field(default_factory=dict)      # funding source → [before, after] fen
    townships: dict[str, Pair] = field(default_factory=dict)
    deltas: Counter[int] = field(default_factory=Counter)              # fen more (+) or less (−) borne → people

    def add(self, township: str | None, before: Due | None, after: Due | None) -> None:
        """One person: their due under the stored pack and under the amended one (None: not judged)."""
        self.people += 1
        place = self.townships.setdefault(township or NO_TOWNSHIP, Pair())
        for side, due in ((0, before), (1, after)):
            if due is None:
                continue
            (self.region.before if side == 0 else self.region.after).add(due)
            (place.before if side == 0 else place.after).add(due)
            for _category, amount, source, _mode in due.lines:
                self.sources.setdefault(source, [0, 0])[side] += amount
        self.unassessable_before += before is None
        self.unassessable_after += after is None
        if before is not None and after is not None:
            self.deltas[_borne(after) - _borne(before)] += 1

    @property
    def pay_more(self) -> int:
        return sum(n for d, n in self.deltas.items() if d > 0)

    @property
    def pay_less(self) -> int:
        return sum(n for d, n in self.deltas.items() if d < 0)

    @property
    def unchanged(self) -> int:
        return self.deltas.get(0, 0)

    @property
    def more_fen(self) -> int:
        return sum(d * n for d, n in self.deltas.items() if d > 0)

    @property
    def less_fen(self) -> int:
        return -sum(d * n for d, n in self.deltas.items() if d < 0)


def _borne(due: Due) -> int:
    return due.due_fen - due.refund_after_fen


def distribution(deltas: Counter[int], *, bands: int = 12) -> list[Band]:
    """How many people bear how much more or less: each distinct change when there are at most `bands`, else
    the decreases and the increases each in equal ranges (half the bands each side), no change kept apart, so
    that no range mixes people who pay less with people who pay more."""
    if len(deltas) <= bands:
        return [Band(d, d, n) for d, n in sorted(deltas.items())]
    less = {d: n for d, n in deltas.items() if d < 0}
    more = {d: n for d, n in deltas.items() if d > 0}
    same = [Band(0, 0, deltas[0])] if deltas.get(0) else []
    return _banded(less, bands // 2) + same + _banded(more, bands // 2)


def _banded(part: dict[int, int], bands: int) -> list[Band]:
    if len(part) <= bands:
        return [Band(d, d, n) for d, n in sorted(part.items())]
    low, high = min(part), max(part)
    width = -(-(high - low + 1) // bands)
    counted: Counter[int] = Counter()
    for d, n in part.items():
        counted[(d - low) // width] += n
    return [Band(low + i * width, min(high, low + (i + 1) * width - 1), n) for i, n in sorted(counted.items())]
