"""Kafka handlers of payment ingest: receipts from the tax gateway, dues from subsidy."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime
from uuid import uuid4

import asyncpg
from faststream.kafka import KafkaRouter
from faststream.kafka.annotations import KafkaMessage

from services.payment_ingest import store
from services.payment_ingest.domain.receipts import Decision, decide
from shared.kafka import Unreadable, batch_subscriber
from shared.logging import get_logger
from shared.messages import DueAssessed, ReceiptAccepted, ReceiptReceived, ReceiptRejected
from shared.metrics import MESSAGES
from shared.outbox import Outgoing
from shared.policy import PolicyError, standard_fen
from shared.resident_id import person_key
from shared.runtime import Runtime
from shared.topics import DUE_ASSESSED, RECEIPT_ACCEPTED, RECEIPT_RECEIVED, RECEIPT_REJECTED

log = get_logger(__name__)
SERVICE = "payment_ingest"


def standard_fen_or_none(region: str, year: int) -> int | None:
    """The region-year's individual contribution, or None when no policy pack covers it."""
    try:
        return standard_fen(region, year)
    except PolicyError:
        return None


def accepted_event(d: Decision, now: datetime) -> Outgoing:
    r = d.receipt
    event = ReceiptAccepted(
        message_id=uuid4(), occurred_at=now, receipt_no=r.receipt_no, person_id=r.person_id, region=r.region,
        year=r.year, amount_fen=r.amount_fen, channel=r.channel, agent_id=r.agent_id, paid_at=r.paid_at,
        original_receipt_no=r.original_receipt_no,
    )
    return Outgoing(RECEIPT_ACCEPTED.name, person_key(r.person_id), event)


def rejected_event(d: Decision, now: datetime) -> Outgoing:
    r = d.receipt
    key = person_key(r.person_id)
    event = ReceiptRejected(
        message_id=uuid4(), occurred_at=now, receipt_no=r.receipt_no, person_key=key, region=r.region,
        year=r.year, amount_fen=r.amount_fen, reason_code=d.reason_code or "", reason=d.reason or "",
    )
    return Outgoing(RECEIPT_REJECTED.name, key, event)


def schema_rejection(record: Unreadable, now: datetime) -> tuple[tuple[str, str | None, str, str], Outgoing]:
    """A receipt that is JSON but not a valid receipt: rejected with the fields that failed."""
    data = json.loads(record.value)
    receipt_no = data.get("receipt_no") if isinstance(data, dict) and isinstance(data.get("receipt_no"), str) else None
    sha = hashlib.sha256(record.value).hexdigest()
    reason = f"税票不合规：{record.reason}"
    event = ReceiptRejected(message_id=uuid4(), occurred_at=now, receipt_no=receipt_no,
                            reason_code="schema", reason=reason)
    return (sha, receipt_no, reason, record.value.decode("utf-8", "replace")), Outgoing(
        RECEIPT_REJECTED.name, receipt_no or sha, event)


async def ingest_receipts(
    conn: asyncpg.Connection, receipts: list[ReceiptReceived], schema_invalid: list[Unreadable], now: datetime
) -> list[Outgoing]:
    known = await store.load_known(conn, receipts)
    decisions = decide(receipts, known, standard_fen_or_none)
    await store.save_decisions(conn, decisions, now)
    outgoing = [
        accepted_event(d, now) if d.verdict == "accepted" else rejected_event(d, now)
        for d in decisions if d.verdict != "duplicate"
    ]
    rows_and_events = [schema_rejection(r, now) for r in schema_invalid]
    new = await store.save_schema_rejections(conn, [row for row, _ in rows_and_events], now)
    outgoing += [event for row, event in rows_and_events if row[0] in new]
    counts: dict[str, int] = {}
    for d in decisions:
        counts[d.verdict] = counts.get(d.verdict, 0) + 1
    counts["rejected"] = counts.get("rejected", 0) + len(new)
    counts["duplicate"] = counts.get("duplicate", 0) + len(schema_invalid) - len(new)
    for verdict, n in counts.items():
        MESSAGES.labels(SERVICE, RECEIPT_RECEIVED.name, f"receipt_{verdict}").inc(n)
    return outgoing


def register_handlers(router: KafkaRouter, runtime: Runtime) -> None:
    settings = runtime.settings

    @batch_subscriber(router, settings, RECEIPT_RECEIVED.name, group=settings.group(SERVICE, "receipts"),
                      model=ReceiptReceived, description="Receipts from the tax gateway, in batches.")
    async def on_receipts(receipts: list[ReceiptReceived], message: KafkaMessage) -> None:
        schema_invalid = [u for u in message.unreadable if u.is_json]
        not_json = [u for u in message.unreadable if not u.is_json]
        invalid_ids = {(u.partition, u.offset) for u in schema_invalid}

        async def handle(conn: asyncpg.Connection, fresh: list[ReceiptReceived], now: datetime) -> list[Outgoing]:
            return await ingest_receipts(conn, fresh, schema_invalid, now)

        # Schema-invalid receipts have no trustworthy message id: they are de-duplicated by payload hash,
        # so they are handled even when every valid receipt of the batch was seen before.
        await runtime.process_batch(
            consumer="receipts", topic=RECEIPT_RECEIVED.name, events=receipts, handle=handle,
            dead_letters=not_json, always_handle=bool(invalid_ids),
        )

    @batch_subscriber(router, settings, DUE_ASSESSED.name, group=settings.group(SERVICE, "dues"),
                      model=DueAssessed, description="Assessed dues: what each receipt must amount to.")
    async def on_dues(dues: list[DueAssessed], message: KafkaMessage) -> None:
        async def handle(conn: asyncpg.Connection, fresh: list[DueAssessed], now: datetime) -> list[Outgoing]:
            await store.upsert_dues(conn, fresh)
            return []

        await runtime.process_batch(consumer="dues", topic=DUE_ASSESSED.name, events=dues, handle=handle,
                                    dead_letters=message.unreadable)

    router.publisher(settings.topic(RECEIPT_ACCEPTED.name), schema=ReceiptAccepted,
                     description=RECEIPT_ACCEPTED.description)
    router.publisher(settings.topic(RECEIPT_REJECTED.name), schema=ReceiptRejected,
                     description=RECEIPT_REJECTED.description)
