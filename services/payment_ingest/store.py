"""SQL of payment ingest: receipts (every one ever seen) and assessed dues. One statement per batch."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg

from services.payment_ingest.domain.receipts import Decision, Known
from shared.messages import DueAssessed, ReceiptReceived


async def load_known(conn: asyncpg.Connection, receipts: Sequence[ReceiptReceived]) -> Known:
    numbers = sorted({r.receipt_no for r in receipts} | {r.original_receipt_no for r in receipts if r.original_receipt_no})
    rows = await conn.fetch(
        "SELECT receipt_no, payload_sha256, verdict, amount_fen FROM receipt WHERE receipt_no = ANY($1::text[])",
        numbers,
    )
    hashes: dict[str, set[str]] = {}
    accepted: dict[str, str] = {}
    amounts: dict[str, int] = {}
    for row in rows:
        hashes.setdefault(row["receipt_no"], set()).add(row["payload_sha256"])
        if row["verdict"] == "accepted":
            accepted[row["receipt_no"]] = row["payload_sha256"]
            amounts[row["receipt_no"]] = row["amount_fen"]
    people = sorted({r.person_id for r in receipts})
    due_rows = await conn.fetch(
        "SELECT person_id, year, due_fen FROM due WHERE person_id = ANY($1::text[])", people
    )
    dues = {(r["person_id"], r["year"]): r["due_fen"] for r in due_rows}
    return Known(hashes, accepted, amounts, dues)


async def save_decisions(conn: asyncpg.Connection, decisions: Sequence[Decision], now: datetime) -> None:
    """COPY the accepted and rejected receipts of a batch (duplicates are only counted)."""
    records = [
        (d.receipt.receipt_no, d.payload_sha256, d.verdict, d.reason_code, d.reason, d.receipt.person_id,
         d.receipt.region, d.receipt.year, d.receipt.amount_fen, d.receipt.channel, d.receipt.agent_id,
         d.receipt.paid_at, d.receipt.original_receipt_no, now)
        for d in decisions if d.verdict != "duplicate"
    ]
    await _copy(conn, records)


async def save_schema_rejections(
    conn: asyncpg.Connection, items: Sequence[tuple[str, str | None, str, str]], now: datetime
) -> set[str]:
    """Keep receipts that failed the schema: (payload hash, receipt no, reason, raw JSON text).

    Returns the hashes that were new (a redelivered one is kept once)."""
    if not items:
        return set()
    rows = await conn.fetch(
        "INSERT INTO receipt (payload_sha256, receipt_no, reason, raw, verdict, reason_code, received_at) "
        "SELECT h, n, r, w::jsonb, 'rejected', 'schema', $5 "
        "FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS u(h, n, r, w) "
        "ON CONFLICT DO NOTHING RETURNING payload_sha256",
        [i[0] for i in items], [i[1] for i in items], [i[2] for i in items], [i[3] for i in items], now,
    )
    return {r["payload_sha256"] for r in rows}


async def _copy(conn: asyncpg.Connection, records: list[tuple]) -> None:
    if records:
        await conn.copy_records_to_table(
            "receipt",
            records=records,
            columns=("receipt_no", "payload_sha256", "verdict", "reason_code", "reason", "person_id", "region",
                     "year", "amount_fen", "channel", "agent_id", "paid_at", "original_receipt_no", "received_at"),
        )


async def upsert_dues(conn: asyncpg.Connection, dues: Sequence[DueAssessed]) -> None:
    """Keep the newest revision of each person's due (the topic is compacted, redeliveries are old)."""
    latest: dict[tuple[str, int], DueAssessed] = {}
    for due in dues:
        key = (due.person_id, due.year)
        if key not in latest or latest[key].revision < due.revision:
            latest[key] = due
    items = list(latest.values())
    await conn.execute(
        """
        INSERT INTO due (person_id, year, region, due_fen, revision)
        SELECT * FROM unnest($1::text[], $2::int[], $3::text[], $4::bigint[], $5::int[])
        ON CONFLICT (person_id, year) DO UPDATE
            SET region = EXCLUDED.region, due_fen = EXCLUDED.due_fen, revision = EXCLUDED.revision
            WHERE due.revision < EXCLUDED.revision
        """,
        [d.person_id for d in items], [d.year for d in items], [d.region for d in items],
        [d.due_fen for d in items], [d.revision for d in items],
    )
