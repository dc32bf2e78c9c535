"""The baseline of the payment benchmark: a bare consumer with no logic.

It reads the receipt topic in batches, decodes each record as JSON (a record that
is not JSON is kept with nulls), COPYs (receipt_no, person_id, amount_fen, raw) into
a table, commits the transaction, then the offsets — the same at-least-once shape as
the service, without validation, de-duplication, events or counters. It stops after
`--expect` records and prints {"records", "seconds", "rate"} as JSON, timed from the
first fetched batch to the last commit.

    python -m tests.bench.bare_consumer --bootstrap H:P --topic T --group G --dsn D --table T --expect N
"""
from __future__ import annotations

import argparse
import asyncio
import json
import time

import asyncpg
from aiokafka import AIOKafkaConsumer


def row(value: bytes) -> tuple:
    try:
        m = json.loads(value)
    except ValueError:
        return (None, None, None, value)
    if not isinstance(m, dict):
        return (None, None, None, value)
    amount = m.get("amount_fen")
    return (m.get("receipt_no"), m.get("person_id"), amount if isinstance(amount, int) else None, value)


async def run(args: argparse.Namespace) -> dict:
    conn = await asyncpg.connect(args.dsn)
    await conn.execute(f"CREATE TABLE {args.table} (receipt_no text, person_id text, amount_fen bigint, raw bytea)")
    consumer = AIOKafkaConsumer(args.topic, bootstrap_servers=args.bootstrap, group_id=args.group,
                                enable_auto_commit=False, auto_offset_reset="earliest",
                                max_partition_fetch_bytes=4 * 1024 * 1024, fetch_max_bytes=64 * 1024 * 1024)
    await consumer.start()
    done, started = 0, None
    try:
        while done < args.expect:
            batches = await consumer.getmany(timeout_ms=200, max_records=args.batch)
            records = [r for rs in batches.values() for r in rs]
            if not records:
                continue
            started = started or time.monotonic()
            async with conn.transaction():
                await conn.copy_records_to_table(args.table, records=[row(r.value) for r in records],
                                                 columns=("receipt_no", "person_id", "amount_fen", "raw"))
            await consumer.commit()
            done += len(records)
        seconds = time.monotonic() - started
    finally:
        await consumer.stop()
        await conn.close()
    return {"records": done, "seconds": seconds, "rate": done / seconds}


def main() -> None:
    p = argparse.ArgumentParser()
    for name in ("bootstrap", "topic", "group", "dsn", "table"):
        p.add_argument(f"--{name}", required=True)
    p.add_argument("--expect", type=int, required=True)
    p.add_argument("--batch", type=int, default=10_000)
    print(json.dumps(asyncio.run(run(p.parse_args()))), flush=True)


if __name__ == "__main__":
    main()
