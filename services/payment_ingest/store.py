"""SQL of payment ingest: receipts (every one ever seen), assessed dues, the intake ledger.

One statement per batch and purpose; no round trip per receipt.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache

import asyncpg

from services.payment_ingest.domain.receipts import Decision, Known, Payer
from services.payment_ingest.domain.tally import GroupTotal, Intake
from shared.db import BatchUpsert
from shared.kafka import Unreadable
from shared.messages import DueAssessed, PayerFacts, ReceiptReceived
from shared.messages.payment import PAYBACK
from shared.messages.subsidy import newest_per_person_year

# received_at is left to its default, the transaction's time (migration 0005): one timestamp less to encode per row.
_RECEIPT_COLUMNS = ("receipt_no", "payload_sha256", "verdict", "reason_code", "reason", "person_id", "region",
                    "year", "amount_fen", "channel", "agent_id", "paid_at", "original_receipt_no", "item")


async def load_known(conn: asyncpg.Connection, receipts: Sequence[ReceiptReceived]) -> Known:
    """Earlier receipts under the batch's numbers (and reversed originals), and the people's dues."""
    known = Known()
    if not receipts:
        return known
    originals = sorted({r.original_receipt_no for r in receipts if r.original_receipt_no})
    numbers = sorted({r.receipt_no for r in receipts} | set(originals))
    for row in await conn.fetch(
        "SELECT receipt_no, payload_sha256, verdict, amount_fen FROM receipt WHERE receipt_no = ANY($1::text[])",
        numbers,
    ):
        known.hashes.setdefault(row["receipt_no"], set()).add(row["payload_sha256"])
        if row["verdict"] == "accepted":
            known.accepted_amount[row["receipt_no"]] = row["amount_fen"]
    if originals:
        for row in await conn.fetch(
            "SELECT original_receipt_no, -sum(amount_fen) AS fen FROM receipt "
            "WHERE verdict = 'accepted' AND original_receipt_no = ANY($1::text[]) GROUP BY 1",
            originals,
        ):
            known.reversed_fen[row["original_receipt_no"]] = row["fen"]
    paybacks = sorted({r.person_id for r in receipts if r.item == PAYBACK})
    if paybacks:  # gap years paid back (net of reversals): each is paid back once
        for row in await conn.fetch(
            "SELECT person_id, year FROM receipt WHERE verdict = 'accepted' AND item = $2 "
            "AND person_id = ANY($1::text[]) GROUP BY 1, 2 HAVING sum(amount_fen) > 0", paybacks, PAYBACK,
        ):
            known.paid_back.add((row["person_id"], row["year"]))
    for row in await conn.fetch(
        "SELECT person_id, year, region, due_fen, state, payer::text AS payer FROM due WHERE person_id = ANY($1::text[])",
        sorted({r.person_id for r in receipts}),
    ):
        known.dues[(row["person_id"], row["year"])] = Payer(
            row["region"], row["due_fen"], row["state"], payer_facts(row["payer"]) if row["payer"] else None)
    return known


@lru_cache(maxsize=65_536)
def payer_facts(text: str) -> PayerFacts:
    """The facts of a due row, decoded once per distinct text (most payers share a handful)."""
    return PayerFacts.model_validate_json(text)


async def save_decisions(conn: asyncpg.Connection, decisions: Sequence[Decision]) -> None:
    """COPY the accepted and rejected receipts of a batch (duplicates are only counted)."""
    records = [
        (r.receipt_no, sha, verdict, code, reason, r.person_id, r.region, r.year, r.amount_fen, r.channel,
         r.agent_id, r.paid_at, r.original_receipt_no, r.item)
        for r, sha, verdict, code, reason in decisions if verdict != "duplicate"
    ]
    if records:
        await conn.copy_records_to_table("receipt", records=records, columns=_RECEIPT_COLUMNS)


# A receipt the schema refused is kept once per payload (receipt_once: number + hash); the batch's time is its received_at.
_SCHEMA_REJECTION = BatchUpsert(
    "receipt", (("payload_sha256", "text"), ("receipt_no", "text"), ("reason_code", "text"), ("reason", "text"),
                ("raw", "jsonb")),
    stamp=(("verdict", "text"), ("received_at", "timestamptz")), returning=("payload_sha256",),
)


async def save_schema_rejections(
    conn: asyncpg.Connection, items: Sequence[tuple[str, str | None, str, str, str]], now: datetime
) -> set[str]:
    """Keep receipts that failed the schema: (payload hash, receipt no, reason code, reason, raw JSON text).

    Returns the hashes that were new (a redelivered one is kept once)."""
    return {r["payload_sha256"] for r in await _SCHEMA_REJECTION.fetch(conn, items, "rejected", now)}


async def dead_letters_already_kept(conn: asyncpg.Connection, records: Sequence[Unreadable]) -> int:
    """How many of these unreadable records are kept already (a redelivered batch)."""
    if not records:
        return 0
    return await conn.fetchval(
        "SELECT count(*) FROM dead_letter d JOIN unnest($1::text[], $2::int[], $3::bigint[]) AS u(t, p, o) "
        "ON d.source_topic = u.t AND d.partition = u.p AND d.record_offset = u.o",
        [r.topic for r in records], [r.partition for r in records], [r.offset for r in records],
    )


async def record_intake(conn: asyncpg.Connection, intake: Intake, now: datetime) -> None:
    await conn.execute(
        "INSERT INTO receipt_intake (received, accepted, rejected, dead_lettered, duplicate, recorded_at) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        intake.received, intake.accepted, intake.rejected, intake.dead_lettered, intake.duplicate, now,
    )


async def intake_totals(conn: asyncpg.Connection) -> Intake:
    row = await conn.fetchrow(
        "SELECT coalesce(sum(received), 0) AS received, coalesce(sum(accepted), 0) AS accepted, "
        "coalesce(sum(rejected), 0) AS rejected, coalesce(sum(dead_lettered), 0) AS dead_lettered, "
        "coalesce(sum(duplicate), 0) AS duplicate FROM receipt_intake"
    )
    return Intake(**{k: int(v) for k, v in dict(row).items()})


async def receipt_groups(conn: asyncpg.Connection) -> list[GroupTotal]:
    """Every stored receipt grouped as the live counters group them (for the rebuild)."""
    rows = await conn.fetch(
        "SELECT region, year, verdict, reason_code, channel, agent_id, amount_fen < 0 AS reversal, "
        "count(*) AS n, coalesce(sum(amount_fen), 0) AS fen "
        "FROM receipt GROUP BY region, year, verdict, reason_code, channel, agent_id, amount_fen < 0"
    )
    return [(r["region"], r["year"], r["verdict"], r["reason_code"], r["channel"], r["agent_id"], bool(r["reversal"]),
             r["n"], int(r["fen"])) for r in rows]


DUE = BatchUpsert(
    "due", (("person_id", "text"), ("year", "int"), ("region", "text"), ("due_fen", "bigint"), ("revision", "int"),
            ("state", "text"), ("payer", "jsonb")),
    conflict=("person_id", "year"), update=dict.fromkeys(("region", "due_fen", "revision", "state", "payer")),
    where="due.revision < EXCLUDED.revision")  # the topic is compacted and redeliveries are old: the newest wins


async def upsert_dues(conn: asyncpg.Connection, dues: Sequence[DueAssessed]) -> None:
    """Keep the newest revision of each person's due, with the payer's facts."""
    await DUE.execute(conn, [(d.person_id, d.year, d.region, d.due_fen, d.revision, d.state,
                              d.payer.model_dump_json() if d.payer else None) for d in newest_per_person_year(dues)])
