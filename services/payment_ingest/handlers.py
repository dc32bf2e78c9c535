"""Kafka handlers of payment ingest: receipts from the tax gateway, dues from subsidy.

One consumed batch of receipts = one decide() call and one transaction: receipts by
COPY (their number + payload hash is their idempotency key, so no inbox row each),
one intake ledger row, dead letters, events to the outbox by COPY. The console
counters get the batch's pre-aggregated increments after the commit.
"""
from __future__ import annotations

import hashlib
import json
from collections import Counter
from datetime import datetime
from uuid import uuid4

import asyncpg
from faststream.kafka import KafkaRouter
from faststream.kafka.annotations import KafkaMessage

from services.payment_ingest import counters, store
from services.payment_ingest.domain.receipts import Decision, decide
from services.payment_ingest.domain.tally import Group, Intake, groups_of
from services.payment_ingest.domain.windows import PolicyWindows
from shared.kafka import Unreadable, batch_subscriber
from shared.logging import get_logger
from shared.messages import DueAssessed, ReceiptAccepted, ReceiptReceived, ReceiptRejected
from shared.metrics import MESSAGES
from shared.outbox import Outgoing
from shared.resident_id import person_key
from shared.runtime import Runtime
from shared.topics import DUE_ASSESSED, RECEIPT_ACCEPTED, RECEIPT_RECEIVED, RECEIPT_REJECTED

log = get_logger(__name__)
SERVICE = "payment_ingest"


_UUID_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}


def event_id(payload_sha256: str, verdict: str) -> str:
    """The message id of a receipt's accepted or rejected event, derived from the receipt itself.

    A receipt (number + payload hash) is recorded once, so its event is unique; deriving the
    id (an RFC 9562 version-8 UUID from one half of the hash per verdict) also means that a
    receipt processed again, e.g. after restoring the database, announces itself under the
    same id, which downstream inboxes drop. And it is cheaper than a random uuid4 per receipt."""
    h = payload_sha256[:32] if verdict == "accepted" else payload_sha256[32:64]
    return f"{h[:8]}-{h[8:12]}-8{h[13:16]}-{_UUID_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"


# A JSON string literal, escaped by the standard library's C encoder (non-ASCII kept, as UTF-8).
_json_str = json.encoder.encode_basestring


def _json_opt(value: str | None) -> str:
    return "null" if value is None else _json_str(value)


# The receipt events are written as text, without a model or a dict per event: every field was validated
# when the receipt was decoded, and building ReceiptAccepted per receipt (validating the resident ID again)
# cost more than the decision itself; even a dict through to_json was a fifth of a receipt's handling.
# Fields that are free text (receipt numbers, agent, reason) are escaped; the others are validated to be
# digits, codes or ISO dates. tests/unit/payment/test_payment_events.py checks, also by property with any
# text in the free fields, that these parse as the wire models with every field equal.

def accepted_event(d: Decision, now: str) -> Outgoing:
    r = d.receipt
    return Outgoing(RECEIPT_ACCEPTED.name, person_key(r.person_id), (
        f'{{"message_id":"{event_id(d.payload_sha256, "accepted")}","occurred_at":"{now}","schema_version":1,'
        f'"event_type":"payment.receipt-accepted","receipt_no":{_json_str(r.receipt_no)},'
        f'"person_id":"{r.person_id}","region":"{r.region}","year":{r.year},"amount_fen":{r.amount_fen},'
        f'"channel":"{r.channel}","agent_id":{_json_opt(r.agent_id)},"paid_at":"{r.paid_at.isoformat()}",'
        f'"original_receipt_no":{_json_opt(r.original_receipt_no)}}}').encode())


def rejected_event(d: Decision, now: str) -> Outgoing:
    r = d.receipt
    key = person_key(r.person_id)
    return Outgoing(RECEIPT_REJECTED.name, key, (
        f'{{"message_id":"{event_id(d.payload_sha256, "rejected")}","occurred_at":"{now}","schema_version":1,'
        f'"event_type":"payment.receipt-rejected","receipt_no":{_json_str(r.receipt_no)},"person_key":"{key}",'
        f'"region":"{r.region}","year":{r.year},"amount_fen":{r.amount_fen},'
        f'"reason_code":{_json_str(d.reason_code or "")},"reason":{_json_str(d.reason or "")}}}').encode())


def schema_rejection(record: Unreadable, now: datetime) -> tuple[tuple[str, str | None, str, str, str], Outgoing]:
    """A receipt that is JSON but not a valid receipt: rejected with the fields that failed."""
    data = json.loads(record.value)
    receipt_no = data.get("receipt_no") if isinstance(data, dict) and isinstance(data.get("receipt_no"), str) else None
    sha = hashlib.sha256(record.value).hexdigest()
    code = "invalid_resident_id" if record.reason.startswith("person_id") else "schema"
    reason = "税票不合规：" + record.reason.replace("Value error, ", "")
    event = ReceiptRejected(message_id=uuid4(), occurred_at=now, receipt_no=receipt_no, reason_code=code, reason=reason)
    return (sha, receipt_no, code, reason, record.value.decode("utf-8", "replace")), Outgoing(
        RECEIPT_REJECTED.name, receipt_no or sha, event)


class ReceiptBatch:
    """One consumed batch: decided and saved inside the transaction, tallied for the counters after it."""

    def __init__(self, windows: PolicyWindows, received: list[ReceiptReceived], unreadable: list[Unreadable]) -> None:
        self.windows = windows
        self.received = received
        self.schema_invalid = [u for u in unreadable if u.is_json]
        self.not_json = [u for u in unreadable if not u.is_json]
        self.groups: Counter = Counter()
        self.intake: Intake | None = None

    async def handle(self, conn: asyncpg.Connection, now: datetime) -> list[Outgoing]:
        fresh = self.received
        decisions = decide(fresh, await store.load_known(conn, fresh), self.windows)
        await store.save_decisions(conn, decisions)
        stamp = now.isoformat()
        outgoing = [accepted_event(d, stamp) if d.verdict == "accepted" else rejected_event(d, stamp)
                    for d in decisions if d.verdict != "duplicate"]
        rows_and_events = [schema_rejection(r, now) for r in self.schema_invalid]
        new = await store.save_schema_rejections(conn, [row for row, _ in rows_and_events], now)
        outgoing += [event for row, event in rows_and_events if row[0] in new]
        kept_before = await store.dead_letters_already_kept(conn, self.not_json)
        verdicts = Counter(d.verdict for d in decisions)
        self.intake = Intake(
            received=len(self.received) + len(self.schema_invalid) + len(self.not_json),
            accepted=verdicts["accepted"],
            rejected=verdicts["rejected"] + len(new),
            dead_lettered=len(self.not_json) - kept_before,
            duplicate=verdicts["duplicate"] + (len(self.schema_invalid) - len(new)) + kept_before,
        )
        await store.record_intake(conn, self.intake, now)
        self.groups = groups_of(decisions)
        for row, _ in rows_and_events:
            if row[0] in new:
                self.groups[(Group(None, None, "rejected", row[2], None, None, False), "count")] += 1
        return outgoing


def register_handlers(router: KafkaRouter, runtime: Runtime) -> None:
    settings = runtime.settings
    windows = PolicyWindows()

    @batch_subscriber(router, settings, RECEIPT_RECEIVED.name, group=settings.group(SERVICE, "receipts"),
                      model=ReceiptReceived, description="Receipts from the tax gateway, in batches.")
    async def on_receipts(receipts: list[ReceiptReceived], message: KafkaMessage) -> None:
        batch = ReceiptBatch(windows, receipts, message.unreadable)
        # Receipts are de-duplicated by receipt number + payload hash (a redelivered batch, a resend under
        # the same or a new message id: all exact replays), so they claim no inbox row (inbox=False): at
        # the December peak that row per receipt was PostgreSQL's largest cost. Schema-invalid ones are
        # de-duplicated by payload hash, not-JSON ones by topic position (dead_letter's unique key).
        async with runtime.consuming(topic=RECEIPT_RECEIVED.name, consumer="receipts", events=receipts,
                                     dead_letters=batch.not_json, inbox=False) as (uow, _):
            uow.publish_all(await batch.handle(uow.conn, uow.now))
        if batch.intake is None:
            return
        for outcome, n in batch.intake.as_fields().items():
            MESSAGES.labels(SERVICE, RECEIPT_RECEIVED.name, f"receipt_{outcome}").inc(n)
        try:
            await counters.apply(runtime.redis, settings.topic_prefix, batch.groups, batch.intake)
        except Exception as err:  # committed already: the counters lag until `yibao payments rebuild-counters`
            MESSAGES.labels(SERVICE, RECEIPT_RECEIVED.name, "counters_not_updated").inc(batch.intake.received)
            log.error("live counters not updated; rebuild them from PostgreSQL", error=repr(err))

    @batch_subscriber(router, settings, DUE_ASSESSED.name, group=settings.group(SERVICE, "dues"),
                      model=DueAssessed, description="Assessed dues: what each receipt must amount to.")
    async def on_dues(dues: list[DueAssessed], message: KafkaMessage) -> None:
        async with runtime.consuming(topic=DUE_ASSESSED.name, consumer="dues", events=dues,
                                     dead_letters=message.unreadable) as (uow, fresh):
            if fresh:
                await store.upsert_dues(uow.conn, fresh)

    router.publisher(settings.topic(RECEIPT_ACCEPTED.name), schema=ReceiptAccepted,
                     description=RECEIPT_ACCEPTED.description)
    router.publisher(settings.topic(RECEIPT_REJECTED.name), schema=ReceiptRejected,
                     description=RECEIPT_REJECTED.description)
