"""The ground truth of a chaos run: receipts and status changes, and what each must come to.

`generate(receipts=N, seed=S)` is deterministic for a seed. Each receipt record has a
*kind* (valid, resent, conflicting, malformed in one of many ways, a reversal …) and
the outcome it must get whatever happens to the processes: accepted, rejected (with
a reason), dead-lettered or ignored as a duplicate. The records are shuffled, except
that records about the same receipt keep their order (a reversal after its original,
a resend after what it resends): the gateway's order across people means nothing.

Status changes are department submissions (JSON over HTTP) for people who do not
pay: each person's final set of statuses is known, so their due can be checked
against the pure policy engine. `write_jsonl` writes the ledger, one line per
record or submission.
"""
from __future__ import annotations

import base64
import json
import random
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from shared.policy import load_pack
from shared.resident_id import check_character, person_key

REGION, YEAR = "340321", 2025   # 怀远县: the pack every figure comes from
BEIJING = timezone(timedelta(hours=8))
CHANNELS = ("wechat", "alipay", "app", "bank", "tax_hall")

# kind -> (share of all records, expected outcome). The rest of the records are valid payments.
KINDS: dict[str, tuple[float, str]] = {
    "resent_same_message": (0.02, "duplicate"),
    "resent_new_message": (0.02, "duplicate"),
    "conflicting_payload": (0.005, "rejected"),
    "wrong_amount": (0.01, "rejected"),
    "zero_amount": (0.002, "rejected"),
    "negative_without_original": (0.002, "rejected"),
    "fractional_amount": (0.002, "rejected"),
    "wrong_check_character": (0.003, "rejected"),
    "impossible_date": (0.002, "rejected"),
    "unknown_region": (0.002, "rejected"),
    "unknown_channel": (0.002, "rejected"),
    "agent_missing": (0.002, "rejected"),
    "oversized": (0.0005, "rejected"),
    "truncated_json": (0.003, "dead_lettered"),
    "wrong_encoding": (0.002, "dead_lettered"),
    "reversal": (0.005, "accepted"),
}


@dataclass(frozen=True)
class Receipt:
    """One record for payment.receipt-received and its expected outcome."""

    n: int
    kind: str
    expect: str                 # accepted | rejected | dead_lettered | duplicate
    key: bytes
    value: bytes
    receipt_no: str | None
    person_id: str | None       # the payer whose money it is (None for malformed ones)
    amount_fen: int             # what it adds to the money when accepted


@dataclass(frozen=True)
class StatusRow:
    id: str
    category: str
    certified_on: str
    ended_on: str | None = None
    township: str = "榴城镇"
    village: str = "城关村"


@dataclass(frozen=True)
class Submission:
    """A department's list, posted over HTTP with that department's credential."""

    n: int
    department: str
    period: str
    rows: tuple[StatusRow, ...]
    expect: str                  # processed | duplicate
    bad_rows: int = 0            # rows that must be rejected with a reason


@dataclass
class Ledger:
    seed: int
    receipts: list[Receipt] = field(default_factory=list)
    submissions: list[Submission] = field(default_factory=list)

    # ---------------------------------------------------------------- what it comes to

    def expected(self) -> dict:
        by = Counter(r.expect for r in self.receipts)
        return {
            "records": len(self.receipts), "accepted": by["accepted"], "rejected": by["rejected"],
            "dead_lettered": by["dead_lettered"], "duplicate": by["duplicate"],
            "accepted_fen": sum(r.amount_fen for r in self.receipts if r.expect == "accepted"),
            "by_kind": dict(sorted(Counter(r.kind for r in self.receipts).items())),
        }

    def accepted_receipts(self) -> dict[str, int]:
        return {r.receipt_no: r.amount_fen for r in self.receipts if r.expect == "accepted"}

    def paid_by_person(self) -> dict[str, int]:
        paid: Counter = Counter()
        for r in self.receipts:
            if r.expect == "accepted":
                paid[r.person_id] += r.amount_fen
        return dict(paid)

    def final_statuses(self) -> dict[str, dict[tuple[str, str], str | None]]:
        """person -> {(category, certified_on): ended_on} after every processed submission."""
        people: dict[str, dict[tuple[str, str], str | None]] = {}
        for s in self.submissions:
            if s.expect != "processed":
                continue
            for row in s.rows[: len(s.rows) - s.bad_rows]:
                people.setdefault(row.id, {})[(row.category, row.certified_on)] = row.ended_on
        return people

    def people_ids(self) -> set[str]:
        ids = {r.person_id for r in self.receipts if r.person_id}
        return ids | {row.id for s in self.submissions for row in s.rows}

    def write_jsonl(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as f:
            for r in self.receipts:
                line = {k: v for k, v in asdict(r).items() if k not in ("key", "value")}
                line["type"] = "receipt"
                line["value_b64"] = base64.b64encode(r.value[:2048]).decode()
                f.write(json.dumps(line, ensure_ascii=False) + "\n")
            for s in self.submissions:
                f.write(json.dumps({"type": "submission", **asdict(s)}, ensure_ascii=False) + "\n")


def person(n: int, born_from: date) -> str:
    """The n-th synthetic resident of the run: distinct for every n below a million."""
    born = born_from + timedelta(days=n // 1000)
    first17 = f"{REGION}{born:%Y%m%d}{n % 1000:03d}"
    return first17 + check_character(first17)


def _encode(m: dict) -> bytes:
    return json.dumps(m, ensure_ascii=False, separators=(",", ":")).encode()


class _Receipts:
    """Builds the records one at a time, keeping the valid ones to resend, conflict with and reverse."""

    def __init__(self, rng: random.Random) -> None:
        pack = load_pack(REGION, YEAR)
        self.rng = rng
        self.standard = pack.money.individual_contribution
        self.start, self.end = pack.collection_period.start, pack.collection_period.end
        self.valid: list[dict] = []
        self.reversed: set[str] = set()
        self.conflicts: dict[str, int] = {}
        self.numbers = 0
        self.people = 0

    def message(self, amount: int | None = None, **over) -> dict:
        self.numbers += 1
        self.people += 1
        span = (self.end - self.start).days
        day = self.start + timedelta(days=self.rng.randrange(1, span))  # never on a boundary day
        paid = datetime(day.year, day.month, day.day, self.rng.randrange(8, 20), self.rng.randrange(60), tzinfo=BEIJING)
        channel = self.rng.choice(CHANNELS)
        m = {"message_id": str(uuid.uuid4()), "occurred_at": paid.isoformat(),
             "receipt_no": f"3{REGION}{YEAR % 100}{self.numbers:010d}", "person_id": person(self.people, date(1960, 1, 1)),
             "region": REGION, "year": YEAR, "amount_fen": self.standard if amount is None else amount,
             "channel": channel, "paid_at": paid.isoformat()}
        if self.rng.random() < 0.15:
            m["channel"], m["agent_id"] = "village_agent", f"A{REGION}-{self.rng.randrange(1, 300):03d}"
        m.update(over)
        return m

    def record(self, n: int, kind: str, expect: str, m: dict | None, value: bytes | None = None,
               amount: int = 0) -> Receipt:
        key = person_key(m["person_id"]).encode() if m and "person_id" in m else b"malformed"
        pid = m.get("person_id") if m and expect == "accepted" else None
        return Receipt(n, kind, expect, key, value if value is not None else _encode(m),
                       m.get("receipt_no") if m else None, pid, amount)

    def make(self, n: int, kind: str, expect: str) -> Receipt:
        rng = self.rng
        base = rng.choice(self.valid[-5000:]) if self.valid else None
        if kind == "resent_same_message" and base:
            return self.record(n, kind, expect, base)
        if kind == "resent_new_message" and base:
            return self.record(n, kind, expect, {**base, "message_id": str(uuid.uuid4())})
        if kind == "conflicting_payload" and base:
            # a second conflict on the same receipt must differ from the first, or it is an exact resend of it
            self.conflicts[base["receipt_no"]] = self.conflicts.get(base["receipt_no"], 0) + 1
            paid = datetime.fromisoformat(base["paid_at"]) + timedelta(minutes=self.conflicts[base["receipt_no"]])
            changed = {**base, "message_id": str(uuid.uuid4()), "paid_at": paid.isoformat(),
                       "channel": "bank" if base["channel"] != "bank" else "wechat"}
            changed.pop("agent_id", None)
            return self.record(n, kind, expect, changed)
        if kind == "reversal" and base and base["receipt_no"] not in self.reversed:
            self.reversed.add(base["receipt_no"])
            m = self.message(-base["amount_fen"], person_id=base["person_id"], original_receipt_no=base["receipt_no"],
                             channel=base["channel"])
            if "agent_id" in base:
                m["agent_id"] = base["agent_id"]
            else:
                m.pop("agent_id", None)
            return self.record(n, kind, expect, m, amount=m["amount_fen"])
        malformed = {
            "wrong_amount": lambda: self.message(self.standard - 2000),
            "zero_amount": lambda: self.message(0),
            "negative_without_original": lambda: self.message(-self.standard),
            "fractional_amount": lambda: self.message(self.standard + 0.5),
            "wrong_check_character": lambda: (lambda m: {**m, "person_id": m["person_id"][:17] + (
                "0" if m["person_id"][17] != "0" else "1")})(self.message()),
            "impossible_date": lambda: self.message(paid_at="2024-02-30T10:00:00+08:00"),
            "unknown_region": lambda: self.message(region="990000"),
            "unknown_channel": lambda: self.message(channel="cash_in_envelope"),
            "agent_missing": lambda: {k: v for k, v in self.message(channel="village_agent").items() if k != "agent_id"},
            "oversized": lambda: self.message(note="备注" * 32_000),
        }
        if kind in malformed:
            return self.record(n, kind, expect, malformed[kind]())
        if kind == "truncated_json":
            raw = _encode(self.message())
            return self.record(n, kind, expect, None, raw[: len(raw) // 2])
        if kind == "wrong_encoding":
            m = self.message(agent_id="村代收员", channel="village_agent")
            return self.record(n, kind, expect, None, json.dumps(m, ensure_ascii=False).encode("gb18030"))
        m = self.message()
        self.valid.append(m)
        return self.record(n, "valid", "accepted", m, amount=m["amount_fen"])


def _shuffle_keeping_chains(records: list[Receipt], rng: random.Random) -> list[Receipt]:
    """A random global order in which records of the same person keep their relative order."""
    slots = sorted(range(len(records)), key=lambda _: rng.random())
    chains: dict[bytes, list[int]] = {}
    for i, r in enumerate(records):
        chains.setdefault(r.key if r.key != b"malformed" else str(i).encode(), []).append(i)
    placed: list[tuple[int, Receipt]] = []
    for members in chains.values():
        positions = sorted(slots[i] for i in members)
        placed += [(pos, records[i]) for pos, i in zip(positions, members)]
    return [r for _, r in sorted(placed, key=lambda t: t[0])]


def _submissions(count: int, rng: random.Random) -> list[Submission]:
    people = [person(n, date(1950, 1, 1)) for n in range(count)]
    civil = [p for i, p in enumerate(people) if i % 3 != 2]
    farm = [p for i, p in enumerate(people) if i % 3 == 2]
    bad = person(999_999, date(1950, 1, 1))
    bad = bad[:17] + ("0" if bad[17] != "0" else "1")
    first = tuple(StatusRow(p, "minimum_living" if i % 2 else "extreme_poverty", "2024-10-08")
                  for i, p in enumerate(civil)) + (StatusRow(bad, "minimum_living", "2024-10-08"),)
    monitored = tuple(StatusRow(p, "poverty_monitoring", "2024-10-15") for p in farm)
    ending = tuple(StatusRow(r.id, r.category, r.certified_on, "2024-11-20")
                   for r in first[:-1] if rng.random() < 0.2 and r.category == "minimum_living")
    return [
        Submission(1, "civil_affairs", "2024-10", first, "processed", bad_rows=1),
        Submission(2, "civil_affairs", "2024-10", first, "duplicate", bad_rows=1),
        Submission(3, "agriculture", "2024-10", monitored, "processed"),
        Submission(4, "civil_affairs", "2024-11", ending, "processed"),
        Submission(5, "agriculture", "2024-10", monitored, "duplicate"),
    ]


def generate(receipts: int, *, seed: int = 7) -> Ledger:
    rng = random.Random(seed)
    uuid_rng = random.Random(seed + 1)
    original_uuid4 = uuid.uuid4
    uuid.uuid4 = lambda: uuid.UUID(int=uuid_rng.getrandbits(128), version=4)  # deterministic ids for a seed
    try:
        builder = _Receipts(rng)
        thresholds, total = [], 0.0
        for kind, (share, expect) in KINDS.items():
            total += share
            thresholds.append((total, kind, expect))
        records = []
        for n in range(receipts):
            roll = rng.random()
            kind, expect = next(((k, e) for t, k, e in thresholds if roll < t), ("valid", "accepted"))
            records.append(builder.make(n, kind, expect))
        ledger = Ledger(seed, _shuffle_keeping_chains(records, rng))
        ledger.submissions = _submissions(max(12, min(2000, receipts // 100)), rng)
        return ledger
    finally:
        uuid.uuid4 = original_uuid4
