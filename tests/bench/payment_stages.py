"""CPU per receipt of each stage of payment ingest's hot path, in one process, without servers.

`python -m tests.bench.payment_stages [--receipts 100000]`: a simulated season is decoded,
decided, turned into events and COPY rows and tallied, batch by batch as the service does,
each stage timed on its own (best of --repeat); then the use case's part after the decision
(`usecases.settle`: events, count in, counter groups) as a whole, which should cost about
events + counter groups. The end-to-end figure is `make bench`'s; this
one says where a receipt's microseconds go, to see what a change to one stage is worth.
"""
from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from types import SimpleNamespace

from cli.receipt_season import season
from services.payment_ingest import usecases
from services.payment_ingest.domain.receipts import Decision, Known, decide, payload_hash
from services.payment_ingest.domain.tally import Intake, groups_of
from services.payment_ingest.domain.windows import PolicyWindows
from services.payment_ingest.events import accepted_event, rejected_event
from shared.gc_tuning import tune
from shared.kafka import batch_decoder
from shared.messages import ReceiptReceived
from shared.resident_id import person_key, valid_resident_id
from shared.settings import ServiceSettings
from shared.uow import MemoryUnitOfWork


def best_of(repeat: int, work: Callable[[], object]) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = work()
        best = min(best, time.perf_counter() - started)
    return best, result


def settle(decisions: list[Decision], now: datetime) -> Intake:
    """`usecases.settle` on an in-memory unit of work, as `ingest_receipts` calls it per batch."""
    return usecases.settle(MemoryUnitOfWork(now=now), decisions, [], set(), not_json=0, kept_before=0, counters=None)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--receipts", type=int, default=100_000)
    p.add_argument("--region", default="340321")
    p.add_argument("--batch", type=int, default=ServiceSettings().batch_max_records)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()

    records = [SimpleNamespace(topic="t", partition=0, offset=i, value=s.value)
               for i, s in enumerate(season(args.region, args.receipts, seed=7))]
    tune(ServiceSettings().gc_gen0_threshold)  # as the service runs
    decoder, windows, n, b = batch_decoder(ReceiptReceived), PolicyWindows(), len(records), args.batch
    now = datetime.now(UTC)
    stamp = now.isoformat()

    async def decode_all() -> list[ReceiptReceived]:
        out: list[ReceiptReceived] = []
        for i in range(0, n, b):
            out += await decoder(SimpleNamespace(raw_message=records[i:i + b]))
        return out

    stages: list[tuple[str, Callable[[], object]]] = []
    seconds, receipts = best_of(args.repeat, lambda: asyncio.run(decode_all()))
    print(f"{'stage':<38}µs per receipt   ({n:,} records, {len(receipts):,} decoded, batches of {b:,})")
    print(f"{'decode (pydantic, ID check)':<38}{seconds / n * 1e6:8.2f}")
    seconds, decisions = best_of(args.repeat, lambda: [
        d for i in range(0, len(receipts), b) for d in decide(receipts[i:i + b], Known(), windows)])
    print(f"{'decide (hash, windows, rules)':<38}{seconds / n * 1e6:8.2f}")
    kept = [d for d in decisions if d.verdict != "duplicate"]
    stages += [
        ("events (JSON text, key, id)", lambda: [
            accepted_event(d, stamp) if d.verdict == "accepted" else rejected_event(d, stamp) for d in kept]),
        ("COPY rows (tuples only)", lambda: [
            (r.receipt_no, sha, verdict, code, reason, r.person_id, r.region, r.year, r.amount_fen, r.channel,
             r.agent_id, r.paid_at, r.original_receipt_no) for r, sha, verdict, code, reason in kept]),
        ("counter groups", lambda: [groups_of(decisions[i:i + b]) for i in range(0, len(decisions), b)]),
        ("usecases.settle (events, tally)", lambda: [settle(decisions[i:i + b], now)
                                                     for i in range(0, len(decisions), b)]),
        ("  payload hash (in decide)", lambda: [payload_hash(r) for r in receipts]),
        ("  resident ID check (in decode)", lambda: [valid_resident_id(r.person_id) for r in receipts]),
        ("  person key (in events)", lambda: [person_key(r.person_id) for r in receipts]),
        ("  paid_at.isoformat() (decide, events)", lambda: [r.paid_at.isoformat() for r in receipts]),
    ]
    for label, work in stages:
        seconds, _ = best_of(args.repeat, work)
        print(f"{label:<38}{seconds / n * 1e6:8.2f}")


if __name__ == "__main__":
    main()
