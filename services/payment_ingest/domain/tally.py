"""The console's live counters, pre-aggregated: one group per (region, year, outcome, reason, channel, agent).

A batch of decisions and a GROUP BY over the receipt table give the same groups,
so the live path (per batch) and the rebuild (from PostgreSQL) produce the same
Redis fields. Pure.

Counters are per region, year, channel and collecting agent: payment ingest does not
know villages (the population baseline belongs to enrollment); the per-village
view is reconciliation's, which joins receipts with the baseline.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from services.payment_ingest.domain.receipts import Decision

UNKNOWN_REGION = "unknown"  # receipts refused by the schema may not say their region


@dataclass(frozen=True)
class Group:
    region: str | None      # None: a receipt refused by the schema that does not say
    year: int | None
    verdict: str            # accepted | rejected
    reason_code: str | None
    channel: str | None
    agent_id: str | None
    reversal: bool


# A group's fields as a plain tuple, in Group's order.
GroupKey = tuple[str | None, int | None, str, str | None, str | None, str | None, bool]
# A row of the receipt table grouped like that: the group's fields, then the count and the sum of fen.
GroupTotal = tuple[str | None, int | None, str, str | None, str | None, str | None, bool, int, int]


def groups_of(decisions: Iterable[Decision]) -> Counter[tuple[Group, str]]:
    """(group, "count" | "fen") -> value, for the accepted and rejected decisions of a batch."""
    # Counted under plain tuples first: a batch has thousands of decisions but a few dozen groups, and
    # hashing a tuple is far cheaper than building and hashing a Group per decision.
    counts: Counter[GroupKey] = Counter()
    fen: Counter[GroupKey] = Counter()
    for d in decisions:
        if d.verdict == "duplicate":
            continue
        r = d.receipt
        key: GroupKey = (r.region, r.year, d.verdict, d.reason_code, r.channel, r.agent_id, r.amount_fen < 0)
        counts[key] += 1
        fen[key] += r.amount_fen
    out: Counter[tuple[Group, str]] = Counter()
    for key, n in counts.items():
        group = Group(*key)
        out[(group, "count")] = n
        out[(group, "fen")] = fen[key]
    return out


def schema_rejected(reason_code: str) -> Group:
    """The group of a receipt refused by the schema: no region, year, channel or agent known."""
    return Group(None, None, "rejected", reason_code, None, None, False)


def totals(rows: Iterable[GroupTotal]) -> Counter[tuple[Group, str]]:
    """The groups of stored receipts (a GROUP BY over the receipt table), as `groups_of` gives a batch's."""
    out: Counter[tuple[Group, str]] = Counter()
    for region, year, verdict, reason_code, channel, agent_id, reversal, n, fen in rows:
        group = Group(region, year, verdict, reason_code, channel, agent_id, reversal)
        out[(group, "count")] += n
        out[(group, "fen")] += fen
    return out


def fields(groups: Counter[tuple[Group, str]]) -> dict[tuple[str, int], Counter[str]]:
    """Redis hash fields per (region, year) for the groups."""
    out: dict[tuple[str, int], Counter[str]] = {}
    for (g, what), value in groups.items():
        h = out.setdefault((g.region or UNKNOWN_REGION, g.year or 0), Counter())
        suffix = "" if what == "count" else ":fen"
        if g.verdict == "rejected":
            if what == "count":
                h["rejected"] += value
                h[f"rejected:{g.reason_code}"] += value
            continue
        h["reversed" + suffix if g.reversal else "accepted" + suffix] += value
        h["net_fen"] += value if what == "fen" else 0
        if g.channel:
            h[f"channel:{g.channel}{suffix}"] += value
        if g.agent_id:
            h[f"agent:{g.agent_id}{suffix}"] += value
    return out


@dataclass(frozen=True)
class Intake:
    """One batch's count in, split by outcome: received = accepted + rejected + dead_lettered + duplicate."""

    received: int
    accepted: int
    rejected: int
    dead_lettered: int
    duplicate: int

    def balanced(self) -> bool:
        return self.received == self.accepted + self.rejected + self.dead_lettered + self.duplicate

    def as_fields(self) -> dict[str, int]:
        return {"received": self.received, "accepted": self.accepted, "rejected": self.rejected,
                "dead_lettered": self.dead_lettered, "duplicate": self.duplicate}
