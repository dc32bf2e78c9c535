"""Benchmark: enrollment's receipt use case (`mark_paid`) on the real PostgreSQL, batched vs one by one.

Run: `eval "$(python3 deploy/local/stack.py env)" && .venv/bin/python -m tests.integration.enrollment_bench`
Reports receipts per second for a batch as the consumer delivers it (settings.batch_max_records)
and, as the baseline measured in the same run, the same use case called once per receipt, each in
its own unit of work (events to the outbox, as in the service); plus the share of time spent in the policy engine. Bounded: a few thousand
receipts in a throwaway database, dropped afterwards.
"""
from __future__ import annotations

import asyncio
import os
import time
import uuid
from datetime import UTC, datetime

import asyncpg

from services.enrollment.usecases import mark_paid
from shared.db import create_pool
from shared.messages import ReceiptAccepted
from shared.migrate import SERVICE_SCHEMAS, migrate
from shared.uow import unit_of_work
from tests.support.people import resident_id
from tests.support.system import with_database

BATCH, SINGLES = 2000, 200


def receipts(n: int) -> list[ReceiptAccepted]:
    now = datetime.now(UTC)
    return [ReceiptAccepted(message_id=uuid.uuid4(), occurred_at=now, receipt_no=f"B{uuid.uuid4().hex[:20]}",
                            person_id=resident_id("340321", seq=i % 1000), region="340321", year=2025,
                            amount_fen=40000, channel="wechat", paid_at=datetime(2024, 10, 15, 2, tzinfo=UTC))
            for i in range(n)]


async def main() -> None:
    dsn = os.environ["YIBAO_PG_DSN"]
    database = f"yibao_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(dsn)
    await admin.execute(f'CREATE DATABASE "{database}"')
    try:
        bench_dsn = with_database(dsn, database)
        await asyncio.to_thread(migrate, bench_dsn, tuple(s for s in SERVICE_SCHEMAS if s.service == "enrollment"))
        pool = await create_pool(bench_dsn, "enrollment", max_size=2)
        try:
            # distinct people per run: vary the birth date so IDs do not repeat across the two runs
            batch = [r.model_copy(update={"person_id": resident_id("340321", born=datetime(1970 + i // 1000, 1, 1).date(),
                                                                   seq=i % 1000)}) for i, r in enumerate(receipts(BATCH))]
            singles = [r.model_copy(update={"person_id": resident_id("340321", born=datetime(1990, 1, 1).date(), seq=i)})
                       for i, r in enumerate(receipts(SINGLES))]
            started = time.perf_counter()
            async with unit_of_work(pool, schema="enrollment", topic_prefix="") as uow:
                await mark_paid(uow, batch)
            batched = BATCH / (time.perf_counter() - started)
            started = time.perf_counter()
            for r in singles:
                async with unit_of_work(pool, schema="enrollment", topic_prefix="") as uow:
                    await mark_paid(uow, [r])
            one_by_one = SINGLES / (time.perf_counter() - started)
        finally:
            await pool.close()
        from services.enrollment.domain import lifecycle
        rows = [lifecycle.new(r.person_id, r.region, r.year, None) for r in batch[:500]]
        started = time.perf_counter()
        for row, r in zip(rows, batch):
            lifecycle.apply_payment(row, r.amount_fen, r.paid_at, ())
        policy_per_receipt = (time.perf_counter() - started) / len(rows)
        print(f"batched ({BATCH} receipts, one transaction): {batched:,.0f} receipts/s")
        print(f"one by one ({SINGLES} receipts, a transaction each): {one_by_one:,.0f} receipts/s")
        print(f"ratio batched / one-by-one: {batched / one_by_one:.1f}x")
        print(f"policy + lifecycle per receipt: {policy_per_receipt * 1e6:.0f} µs "
              f"({policy_per_receipt * batched:.0%} of batched time)")
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
