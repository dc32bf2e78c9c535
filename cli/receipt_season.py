"""A realistic collection season of tax receipts (`yibao simulate receipts` streams it to Kafka).

    yibao simulate receipts --region 340321 --count 100000 [--rate 5000] [--seed 7] [--ledger out.csv]

What a season looks like (every share is an option, defaults below): people pay through
WeChat, Alipay, the tax app, banks, the tax hall, or in cash to a village agent who
uploads a batch of 5-30 receipts for one day; most payments come in December; some
people pay late (after the collection period); the gateway resends receipts (exact
duplicates), sometimes corrects one under the same number (a conflict), sends last
year's amount, malformed records (not JSON, or a bad resident ID), and reversals of
earlier receipts. Amounts and dates come from the region's policy pack.

Each record carries the outcome it should get (`Simulated.expect`); `season_totals`
adds them up, and `--ledger` writes them per record: the ground truth for tests and
the benchmark. The generator is deterministic for a seed.
"""
from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

from shared.codes import PAYMENT_CHANNELS
from shared.policy import load_pack
from shared.resident_id import check_character, person_key

BEIJING = timezone(timedelta(hours=8))
# Channels a person pays through by themselves, and how often (village agents' batches come apart: Mix).
CHANNELS = ("wechat", "alipay", "app", "bank", "tax_hall")
CHANNEL_WEIGHTS = (35, 20, 15, 10, 5)
assert set(CHANNELS) <= set(PAYMENT_CHANNELS), "simulated channels must be payment channels (shared.codes)"
_AGENT_BATCH = (5, 30)  # receipts in one village agent's upload
_AGENT_BATCH_MEAN = sum(_AGENT_BATCH) / 2


@dataclass(frozen=True)
class Mix:
    """Shares of a season (fractions of all records); the rest are ordinary valid payments."""

    village_agent: float = 0.15   # cash collected by village agents, uploaded in batches
    december: float = 0.45        # of the valid payments, the share paid in December (the peak)
    late: float = 0.03            # paid after the collection period (a general late payer)
    duplicate: float = 0.02       # exact resends (half with the same message id, half with a new one)
    conflict: float = 0.005       # a known receipt number with a changed payload
    wrong_amount: float = 0.01    # last year's amount instead of the standard
    not_json: float = 0.0025      # truncated bytes
    bad_id: float = 0.0025        # resident ID with a wrong check character (schema rejection)
    reversal: float = 0.003       # a negative receipt reversing an earlier accepted one


@dataclass(frozen=True)
class Simulated:
    key: bytes
    value: bytes
    receipt_no: str | None
    amount_fen: int
    expect: str  # accepted | duplicate | dead_lettered | rejected:<reason code>


@dataclass
class _State:
    accepted: list[dict[str, Any]] = field(default_factory=list)   # payloads accepted so far (for resends, reversals)
    reversed: set[str] = field(default_factory=set)
    conflicted: set[str] = field(default_factory=set)   # one conflict per number (a second would be a replay)


def _person(rng: random.Random, region: str, n: int) -> str:
    born = date(1940, 1, 1) + timedelta(days=rng.randrange(0, 365 * 80))
    first17 = f"{region}{born:%Y%m%d}{n % 1000:03d}"
    return first17 + check_character(first17)


def _day(rng: random.Random, start: date, end: date, december: float) -> date:
    dec_start = max(start, date(end.year, 12, 1)) if end.month == 12 else None
    if dec_start and rng.random() < december:
        return dec_start + timedelta(days=rng.randrange((end - dec_start).days + 1))
    return start + timedelta(days=rng.randrange((end - start).days + 1))


def _moment(rng: random.Random, day: date) -> datetime:
    return datetime(day.year, day.month, day.day, rng.randrange(7, 22), rng.randrange(60), rng.randrange(60),
                    tzinfo=BEIJING)


def _message(no: str, person: str, region: str, year: int, amount: int, channel: str, paid: datetime,
             agent: str | None = None, original: str | None = None) -> dict[str, Any]:
    m = {"message_id": str(uuid.uuid4()), "occurred_at": paid.isoformat(), "receipt_no": no, "person_id": person,
         "region": region, "year": year, "amount_fen": amount, "channel": channel, "paid_at": paid.isoformat()}
    if agent:
        m["agent_id"] = agent
    if original:
        m["original_receipt_no"] = original
    return m


def _encode(m: dict[str, Any]) -> bytes:
    return json.dumps(m, ensure_ascii=False, separators=(",", ":")).encode()


def season(region: str, count: int, *, seed: int = 7, year: int = 2025, mix: Mix = Mix()) -> Iterator[Simulated]:
    """`count` records of one region's season, in the order the gateway would send them."""
    pack = load_pack(region, year)
    standard = pack.money.individual_contribution
    start, end = pack.collection_period.start, pack.collection_period.end
    late_start, late_end = end + timedelta(days=1), end + timedelta(days=40)
    from services.payment_ingest.domain.windows import PolicyWindows  # the pack's windows, to label late payers
    windows = PolicyWindows()
    rng = random.Random(seed)
    state = _State()
    numbers = iter(range(1, 10**10))
    made = 0
    # one roll makes one record, except an agent's batch (17.5 on average): roll for batches accordingly
    cut = [mix.duplicate, mix.conflict, mix.wrong_amount, mix.not_json, mix.bad_id, mix.reversal, mix.late,
           mix.village_agent / _AGENT_BATCH_MEAN]
    bounds = [sum(cut[: i + 1]) for i in range(len(cut))]

    def receipt_no() -> str:
        return f"3{region}{year % 100:02d}{next(numbers):010d}"

    def valid(person: str, paid: datetime, channel: str, agent: str | None = None) -> Simulated:
        m = _message(receipt_no(), person, region, year, standard, channel, paid, agent)
        w = windows.window(region, year, paid)
        expect = "accepted" if w.open and w.general_due_fen == standard else f"rejected:{w.reason_code or 'amount_differs_from_due'}"
        if expect == "accepted":
            state.accepted.append(m)
        return Simulated(person_key(person).encode(), _encode(m), m["receipt_no"], standard, expect)

    while made < count:
        roll = rng.random()
        kind = next((i for i, b in enumerate(bounds) if roll < b), None)
        person = _person(rng, region, made)
        paid = _moment(rng, _day(rng, start, end, mix.december))
        channel = rng.choices(CHANNELS, CHANNEL_WEIGHTS)[0]
        if kind == 0 and state.accepted:  # exact resend
            m = rng.choice(state.accepted)
            again = m if rng.random() < 0.5 else {**m, "message_id": str(uuid.uuid4())}
            out = [Simulated(person_key(m["person_id"]).encode(), _encode(again), m["receipt_no"], m["amount_fen"], "duplicate")]
        elif kind == 1 and state.accepted:  # same number, changed payload
            m = rng.choice(state.accepted)
            if m["receipt_no"] in state.conflicted:
                continue
            state.conflicted.add(m["receipt_no"])
            changed = {**m, "message_id": str(uuid.uuid4()), "channel": "bank" if m["channel"] != "bank" else "wechat"}
            changed.pop("agent_id", None)
            out = [Simulated(person_key(m["person_id"]).encode(), _encode(changed), m["receipt_no"], m["amount_fen"], "rejected:receipt_conflict")]
        elif kind == 2:  # last year's amount
            m = _message(receipt_no(), person, region, year, standard - 2000, channel, paid)
            out = [Simulated(person_key(person).encode(), _encode(m), m["receipt_no"], m["amount_fen"], "rejected:amount_differs_from_due")]
        elif kind == 3:  # truncated bytes
            raw = _encode(_message(receipt_no(), person, region, year, standard, channel, paid))
            out = [Simulated(person_key(person).encode(), raw[: len(raw) // 2], None, 0, "dead_lettered")]
        elif kind == 4:  # wrong check character
            bad = person[:17] + ("0" if person[17] != "0" else "1")
            m = _message(receipt_no(), bad, region, year, standard, channel, paid)
            out = [Simulated(person_key(person).encode(), _encode(m), m["receipt_no"], standard, "rejected:invalid_resident_id")]
        elif kind == 5 and state.accepted:  # reversal of an accepted receipt, in full
            m = rng.choice(state.accepted)
            if m["receipt_no"] in state.reversed or m["amount_fen"] <= 0:
                continue
            state.reversed.add(m["receipt_no"])
            r = _message(receipt_no(), m["person_id"], region, year, -m["amount_fen"], m["channel"],
                         _moment(rng, late_start), m.get("agent_id"), original=m["receipt_no"])
            out = [Simulated(person_key(m["person_id"]).encode(), _encode(r), r["receipt_no"], r["amount_fen"], "accepted")]
        elif kind == 6:  # late payer
            late = _moment(rng, late_start + timedelta(days=rng.randrange((late_end - late_start).days + 1)))
            out = [valid(person, late, channel)]
        elif kind == 7:  # a village agent's cash batch: one agent, one day, consecutive receipts
            agent = f"A{region}-{rng.randrange(1, 400):03d}"
            out = [valid(_person(rng, region, made + i), paid + timedelta(minutes=i), "village_agent", agent)
                   for i in range(min(rng.randrange(_AGENT_BATCH[0], _AGENT_BATCH[1] + 1), count - made))]
        else:
            out = [valid(person, paid, channel)]
        for item in out:
            made += 1
            yield item
        if len(state.accepted) > 50_000:  # resend and reverse among the recent ones; bounded memory
            del state.accepted[:25_000]


def season_totals(records: list[Simulated]) -> dict[str, Any]:
    """What the records should come to: counts per outcome and reason, accepted fen."""
    by = Counter(r.expect for r in records)
    rejected = {k.split(":", 1)[1]: v for k, v in by.items() if k.startswith("rejected:")}
    return {
        "records": len(records), "accepted": by["accepted"],
        "accepted_fen": sum(r.amount_fen for r in records if r.expect == "accepted"),
        "rejected": sum(rejected.values()), "rejected_by_reason": rejected,
        "dead_lettered": by["dead_lettered"], "duplicate": by["duplicate"],
    }


async def produce(bootstrap: str, topic: str, records: Iterator[Simulated], rate: float | None = None,
                  on_sent: Callable[[Simulated], object] | None = None, linger_ms: int = 20,
                  client_options: dict[str, Any] | None = None) -> int:
    """Send the records in order (keyed by person), batched by the producer; `rate` records/s when given.

    `client_options`: the sender's Kafka authentication (`shared.kafka_security.aiokafka_options`)."""
    from aiokafka import AIOKafkaProducer
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all", linger_ms=linger_ms,
                                max_batch_size=1024 * 1024, **(client_options or {}))
    await producer.start()
    sent, pending, started = 0, [], time.monotonic()
    try:
        for record in records:
            pending.append(await producer.send(topic, value=record.value, key=record.key))
            if on_sent:
                on_sent(record)
            sent += 1
            if len(pending) >= 20_000:
                await asyncio.gather(*pending)
                pending.clear()
            if rate and sent % max(1, int(rate / 100)) == 0:
                ahead = sent / rate - (time.monotonic() - started)
                if ahead > 0:
                    await asyncio.sleep(ahead)
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return sent
