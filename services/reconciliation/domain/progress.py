"""Progress figures from counts: coverage rates, township targets and ranks, region totals.

Definitions (the same in the API, the console, the exports and the tests):
- baseline people: people of the population baseline living in the place (the denominator);
- enrolled (已参保): the person-year is paid, or registered with nothing to pay (fully subsidised);
  an ended enrollment is not counted;
- paid: the person-year's accepted receipts add up to more than zero;
- coverage rate: enrolled / baseline; completion: enrolled / the township's target (任务数).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

UNPLACED = "（未知）"  # a place the data does not name, shown as such rather than dropped


@dataclass(frozen=True)
class PlaceCount:
    township: str
    village: str
    baseline_people: int
    enrolled_people: int
    paid_people: int
    paid_fen: int


def rate(part: int, whole: int | None) -> float | None:
    """part / whole rounded to 4 decimals; None when there is no denominator."""
    return round(part / whole, 4) if whole else None


def village_rows(counts: Iterable[PlaceCount]) -> list[dict[str, Any]]:
    return [{**asdict(c), "coverage_rate": rate(c.enrolled_people, c.baseline_people)}
            for c in sorted(counts, key=lambda c: (c.township, c.village))]


def township_rows(counts: Iterable[PlaceCount], targets: Mapping[str, int]) -> list[dict[str, Any]]:
    """One row per township with its target and rank (by completion of the target, else by coverage)."""
    sums: dict[str, list[int]] = {}
    for c in counts:
        s = sums.setdefault(c.township, [0, 0, 0, 0])
        s[0] += c.baseline_people
        s[1] += c.enrolled_people
        s[2] += c.paid_people
        s[3] += c.paid_fen
    for township in targets:
        sums.setdefault(township, [0, 0, 0, 0])
    rows: list[dict[str, Any]] = []
    for township, (baseline, enrolled, paid, paid_fen) in sums.items():
        target = targets.get(township)
        rows.append({
            "township": township, "baseline_people": baseline, "enrolled_people": enrolled, "paid_people": paid,
            "paid_fen": paid_fen, "coverage_rate": rate(enrolled, baseline), "target_people": target,
            "target_completion": rate(enrolled, target),
        })

    def score(row: dict[str, Any]) -> float:
        value = row["target_completion"] if row["target_completion"] is not None else row["coverage_rate"]
        return value if value is not None else -1.0

    ranked = sorted(rows, key=lambda r: (-score(r), r["township"]))
    for position, row in enumerate(ranked, start=1):
        row["rank"] = position
    return sorted(rows, key=lambda r: r["township"])


def totals(counts: Iterable[PlaceCount], targets: Mapping[str, int]) -> dict[str, Any]:
    items = list(counts)
    baseline = sum(c.baseline_people for c in items)
    enrolled = sum(c.enrolled_people for c in items)
    target = sum(targets.values()) or None
    return {
        "baseline_people": baseline, "enrolled_people": enrolled,
        "paid_people": sum(c.paid_people for c in items), "paid_fen": sum(c.paid_fen for c in items),
        "coverage_rate": rate(enrolled, baseline), "target_people": target,
        "target_completion": rate(enrolled, target),
    }
