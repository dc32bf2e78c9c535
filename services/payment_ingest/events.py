"""The events payment ingest raises, as the bytes that go on the wire.

A receipt's accepted or rejected event is written as JSON text, without a model or a
dict per event: every field was validated when the receipt was decoded, and building
ReceiptAccepted per receipt (validating the resident ID again) costs more than the
decision itself; even a dict through to_json is a fifth of a receipt's handling.
Fields that are free text (receipt numbers, agent, reason) are escaped; the others
are validated to be digits, codes or ISO dates. tests/unit/payment/test_payment_events.py
checks, also by property with any text in the free fields, that these parse as the wire
models with every field equal.
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime
from uuid import uuid4

from services.payment_ingest.domain.receipts import Decision
from shared.kafka import Unreadable
from shared.messages import ReceiptRejected
from shared.outbox import Outgoing
from shared.resident_id import person_key
from shared.topics import RECEIPT_ACCEPTED, RECEIPT_REJECTED

# (payload hash, receipt number, reason code, reason, raw JSON text): a receipt the schema refused, as stored.
SchemaRejection = tuple[str, str | None, str, str, str]

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


def accepted_event(d: Decision, now: str) -> Outgoing:
    r = d.receipt
    return Outgoing(RECEIPT_ACCEPTED.name, person_key(r.person_id), (
        f'{{"message_id":"{event_id(d.payload_sha256, "accepted")}","occurred_at":"{now}","schema_version":1,'
        f'"event_type":"payment.receipt-accepted","receipt_no":{_json_str(r.receipt_no)},'
        f'"person_id":"{r.person_id}","region":"{r.region}","year":{r.year},"amount_fen":{r.amount_fen},'
        f'"channel":"{r.channel}","agent_id":{_json_opt(r.agent_id)},"paid_at":"{r.paid_at.isoformat()}",'
        f'"original_receipt_no":{_json_opt(r.original_receipt_no)},"item":"{r.item}"}}').encode())


def rejected_event(d: Decision, now: str) -> Outgoing:
    r = d.receipt
    key = person_key(r.person_id)
    return Outgoing(RECEIPT_REJECTED.name, key, (
        f'{{"message_id":"{event_id(d.payload_sha256, "rejected")}","occurred_at":"{now}","schema_version":1,'
        f'"event_type":"payment.receipt-rejected","receipt_no":{_json_str(r.receipt_no)},"person_key":"{key}",'
        f'"region":"{r.region}","year":{r.year},"amount_fen":{r.amount_fen},'
        f'"reason_code":{_json_str(d.reason_code or "")},"reason":{_json_str(d.reason or "")}}}').encode())


def schema_rejection(record: Unreadable, now: datetime) -> tuple[SchemaRejection, Outgoing]:
    """A receipt that is JSON but not a valid receipt: rejected with the fields that failed."""
    data = json.loads(record.value)
    receipt_no = data.get("receipt_no") if isinstance(data, dict) and isinstance(data.get("receipt_no"), str) else None
    sha = hashlib.sha256(record.value).hexdigest()
    code = "invalid_resident_id" if record.reason.startswith("person_id") else "schema"
    reason = "税票不合规：" + record.reason.replace("Value error, ", "")
    event = ReceiptRejected(message_id=uuid4(), occurred_at=now, receipt_no=receipt_no, reason_code=code, reason=reason)
    return (sha, receipt_no, code, reason, record.value.decode("utf-8", "replace")), Outgoing(
        RECEIPT_REJECTED.name, receipt_no or sha, event)
