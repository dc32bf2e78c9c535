"""SQL of reconciliation's own copy of what the other services publish: one statement per batch and table."""
from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime

import asyncpg

from services.reconciliation.domain.enrollments import Booking, EnrollmentYear
from shared.db import BatchUpsert
from shared.messages import DueAssessed, PersonBaselined, ReceiptAccepted, ReceiptRejected, RefundOrdered, StatusChanged
from shared.messages.enrollment import EnrollmentRefundOrdered

_ENROLLMENT_YEAR_UPDATED = ("region", "township", "village", "kind", "state", "paid_total_fen", "updated_at")
ENROLLMENT_YEAR = BatchUpsert(
    "enrollment_year",
    (("person_id", "text"), ("year", "int"), ("region", "text"), ("township", "text"), ("village", "text"),
     ("kind", "text"), ("state", "text"), ("paid_total_fen", "bigint")),
    stamp=(("updated_at", "timestamptz"),), conflict=("person_id", "year"),
    update=dict.fromkeys(_ENROLLMENT_YEAR_UPDATED))
ENROLLMENT_PAYMENT = BatchUpsert(
    "enrollment_payment",
    (("receipt_no", "text"), ("person_id", "text"), ("year", "int"), ("region", "text"), ("amount_fen", "bigint")))
RECEIPT = BatchUpsert(
    "receipt",
    (("receipt_no", "text"), ("person_id", "text"), ("region", "text"), ("year", "int"), ("amount_fen", "bigint"),
     ("channel", "text"), ("agent_id", "text"), ("paid_at", "timestamptz"), ("original_receipt_no", "text")),
    conflict=("receipt_no",))
RECEIPT_REJECTED = BatchUpsert(
    "receipt_rejected",
    (("message_id", "uuid"), ("receipt_no", "text"), ("person_key", "text"), ("region", "text"), ("year", "int"),
     ("amount_fen", "bigint"), ("reason_code", "text"), ("reason", "text"), ("occurred_at", "timestamptz")))
# A redelivered or compacted-away older revision must not replace a newer one: each column keeps its
# value unless the incoming revision is newer.
_DUE_UPDATED = ("region", "due_fen", "refund_after_fen", "state", "revision", "lines")
DUE = BatchUpsert(
    "due",
    (("person_id", "text"), ("year", "int"), ("region", "text"), ("due_fen", "bigint"), ("refund_after_fen", "bigint"),
     ("state", "text"), ("revision", "int"), ("lines", "jsonb")),
    conflict=("person_id", "year"),
    update=dict.fromkeys(_DUE_UPDATED), where="due.revision < EXCLUDED.revision")  # the newest revision wins
REFUND_ORDER = BatchUpsert(
    "refund_order",
    (("refund_id", "uuid"), ("person_id", "text"), ("region", "text"), ("year", "int"), ("amount_fen", "bigint"),
     ("reason", "text"), ("funding_source", "text"), ("township", "text"), ("ordered_at", "timestamptz")),
    conflict=("refund_id",))
# One status set per person and region: another region's departments listing the person too never
# replace what this region certified (an identity.status-changed event names the region it is of).
PERSON_STATUS = BatchUpsert(
    "person_status",
    (("person_id", "text"), ("region", "text"), ("township", "text"), ("village", "text"), ("statuses", "jsonb")),
    stamp=(("updated_at", "timestamptz"),), conflict=("person_id", "region"),
    update=dict.fromkeys(("township", "village", "statuses", "updated_at")))
BASELINE_PERSON = BatchUpsert(
    "baseline_person",
    (("person_id", "text"), ("region", "text"), ("township", "text"), ("village", "text"), ("name", "text"),
     ("source", "text")),
    stamp=(("updated_at", "timestamptz"),), conflict=("person_id",),
    update=dict.fromkeys(("region", "township", "village", "name", "source", "updated_at")))


async def enrollment_years(conn: asyncpg.Connection,
                           keys: Iterable[tuple[str, int]]) -> dict[tuple[str, int], EnrollmentYear]:
    """The rows held for these (person, year) keys."""
    wanted = sorted(set(keys))
    rows = await conn.fetch(
        "SELECT e.person_id, e.year, e.region, e.township, e.village, e.kind, e.state, e.paid_total_fen "
        "FROM enrollment_year e JOIN unnest($1::text[], $2::int[]) AS k(p, y) ON e.person_id = k.p AND e.year = k.y",
        [k[0] for k in wanted], [k[1] for k in wanted])
    return {(r["person_id"], r["year"]): EnrollmentYear(*r) for r in rows}


async def save_enrollment_years(conn: asyncpg.Connection, rows: Sequence[EnrollmentYear], now: datetime) -> None:
    await ENROLLMENT_YEAR.execute(conn, [(r.person_id, r.year, r.region, r.township, r.village, r.kind, r.state,
                                          r.paid_total_fen) for r in rows], now)


async def save_bookings(conn: asyncpg.Connection, bookings: Sequence[Booking]) -> None:
    await ENROLLMENT_PAYMENT.execute(conn, [(b.receipt_no, b.person_id, b.year, b.region, b.amount_fen) for b in bookings])


async def save_receipts(conn: asyncpg.Connection, receipts: Sequence[ReceiptAccepted]) -> None:
    await RECEIPT.execute(conn, [(r.receipt_no, r.person_id, r.region, r.year, r.amount_fen, r.channel, r.agent_id,
                                  r.paid_at, r.original_receipt_no) for r in receipts])


async def save_rejections(conn: asyncpg.Connection, events: Sequence[ReceiptRejected]) -> None:
    await RECEIPT_REJECTED.execute(conn, [(e.message_id, e.receipt_no, e.person_key, e.region, e.year, e.amount_fen,
                                           e.reason_code, e.reason, e.occurred_at) for e in events])


async def save_dues(conn: asyncpg.Connection, dues: Sequence[DueAssessed]) -> None:
    await DUE.execute(conn, [(d.person_id, d.year, d.region, d.due_fen, d.refund_after_fen,
                              d.state, d.revision,
                              json.dumps([line.model_dump(mode="json") for line in d.lines])) for d in dues])


async def save_refunds(conn: asyncpg.Connection, events: Sequence[RefundOrdered]) -> None:
    await REFUND_ORDER.execute(conn, [(e.refund_id, e.person_id, e.region, e.year, e.amount_fen, e.reason,
                                       e.funding_source, e.township, e.occurred_at) for e in events])


async def save_enrollment_refunds(conn: asyncpg.Connection, events: Sequence[EnrollmentRefundOrdered]) -> None:
    """Refunds enrollment ordered (death, duplicate payment …) join the subsidy service's in one ledger."""
    await REFUND_ORDER.execute(conn, [(e.refund_id, e.person_id, e.region, e.year, e.amount_fen, e.reason, None,
                                       e.township, e.occurred_at) for e in events])


async def save_statuses(conn: asyncpg.Connection, events: Sequence[StatusChanged], now: datetime) -> None:
    await PERSON_STATUS.execute(conn, [(e.person_id, e.region, e.township, e.village,
                                        json.dumps([s.model_dump(mode="json") for s in e.statuses])) for e in events], now)


async def save_baseline(conn: asyncpg.Connection, events: Sequence[PersonBaselined], now: datetime) -> None:
    await BASELINE_PERSON.execute(conn, [(e.person_id, e.region, e.township, e.village, e.name, e.source)
                                         for e in events], now)
