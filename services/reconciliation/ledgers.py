"""SQL that keeps reconciliation's own copy of what the other services publish. One statement per batch."""
from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

import asyncpg

from shared.messages import (
    DueAssessed,
    EnrollmentEnded,
    EnrollmentPaid,
    EnrollmentRegistered,
    PersonBaselined,
    ReceiptAccepted,
    ReceiptRejected,
    RefundOrdered,
    StatusChanged,
)
from shared.messages.enrollment import EnrollmentRefundOrdered
from shared.messages.subsidy import newest_per_person_year


async def apply_enrollment_events(conn: asyncpg.Connection, events: Sequence, now: datetime) -> None:
    """Fold registered / paid / ended events, in order, into one row per person and year."""
    keys = sorted({(e.person_id, e.year) for e in events})
    rows = await conn.fetch(
        "SELECT e.* FROM enrollment_year e JOIN unnest($1::text[], $2::int[]) AS k(p, y) "
        "ON e.person_id = k.p AND e.year = k.y", [k[0] for k in keys], [k[1] for k in keys])
    state = {(r["person_id"], r["year"]): dict(r) for r in rows}
    bookings = []
    for e in events:
        key = (e.person_id, e.year)
        row = state.setdefault(key, {"person_id": e.person_id, "year": e.year, "region": e.region, "township": None,
                                     "village": None, "kind": None, "state": "registered", "paid_total_fen": 0})
        row["region"] = e.region
        row["township"] = e.township or row["township"]
        row["village"] = e.village or row["village"]
        if isinstance(e, EnrollmentRegistered):
            row["kind"] = e.kind
            if row["state"] == "ended":
                row["state"] = "paid" if row["paid_total_fen"] > 0 else "registered"
        elif isinstance(e, EnrollmentPaid):
            row["paid_total_fen"] = e.paid_total_fen
            if row["state"] != "ended":
                row["state"] = "paid" if e.paid_total_fen > 0 else "registered"
            bookings.append((e.receipt_no, e.person_id, e.year, e.region, e.amount_fen))
        elif isinstance(e, EnrollmentEnded):
            row["state"] = "ended"
    items = list(state.values())
    await conn.execute(
        """
        INSERT INTO enrollment_year (person_id, year, region, township, village, kind, state, paid_total_fen,
                                     updated_at)
        SELECT p, y, r, t, v, k, s, f, $9 FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::text[],
                                                      $6::text[], $7::text[], $8::bigint[]) AS u(p, y, r, t, v, k, s, f)
        ON CONFLICT (person_id, year) DO UPDATE SET region = EXCLUDED.region, township = EXCLUDED.township,
            village = EXCLUDED.village, kind = EXCLUDED.kind, state = EXCLUDED.state,
            paid_total_fen = EXCLUDED.paid_total_fen, updated_at = EXCLUDED.updated_at
        """,
        [i["person_id"] for i in items], [i["year"] for i in items], [i["region"] for i in items],
        [i["township"] for i in items], [i["village"] for i in items], [i["kind"] for i in items],
        [i["state"] for i in items], [i["paid_total_fen"] for i in items], now,
    )
    if bookings:
        await conn.execute(
            "INSERT INTO enrollment_payment (receipt_no, person_id, year, region, amount_fen) "
            "SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::bigint[]) ON CONFLICT DO NOTHING",
            *[list(col) for col in zip(*bookings)],
        )


async def save_receipts(conn: asyncpg.Connection, receipts: Sequence[ReceiptAccepted]) -> None:
    await conn.execute(
        """
        INSERT INTO receipt (receipt_no, person_id, region, year, amount_fen, channel, agent_id, paid_at,
                             original_receipt_no)
        SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::bigint[], $6::text[], $7::text[],
                             $8::timestamptz[], $9::text[])
        ON CONFLICT (receipt_no) DO NOTHING
        """,
        [r.receipt_no for r in receipts], [r.person_id for r in receipts], [r.region for r in receipts],
        [r.year for r in receipts], [r.amount_fen for r in receipts], [r.channel for r in receipts],
        [r.agent_id for r in receipts], [r.paid_at for r in receipts], [r.original_receipt_no for r in receipts],
    )


async def save_rejections(conn: asyncpg.Connection, events: Sequence[ReceiptRejected]) -> None:
    await conn.execute(
        """
        INSERT INTO receipt_rejected (message_id, receipt_no, person_key, region, year, amount_fen, reason_code,
                                      reason, occurred_at)
        SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::int[], $6::bigint[], $7::text[],
                             $8::text[], $9::timestamptz[])
        ON CONFLICT DO NOTHING
        """,
        [e.message_id for e in events], [e.receipt_no for e in events], [e.person_key for e in events],
        [e.region for e in events], [e.year for e in events], [e.amount_fen for e in events],
        [e.reason_code for e in events], [e.reason for e in events], [e.occurred_at for e in events],
    )


async def save_dues(conn: asyncpg.Connection, dues: Sequence[DueAssessed]) -> None:
    """Keep the newest revision of each person-year's due (the topic is compacted; redeliveries are older)."""
    items = newest_per_person_year(dues)
    await conn.execute(
        """
        INSERT INTO due (person_id, year, region, due_fen, refund_after_fen, state, revision, lines)
        SELECT p, y, r, d, f, s, v, l::jsonb FROM unnest($1::text[], $2::int[], $3::text[], $4::bigint[],
                                                        $5::bigint[], $6::text[], $7::int[], $8::text[])
            AS u(p, y, r, d, f, s, v, l)
        ON CONFLICT (person_id, year) DO UPDATE SET region = EXCLUDED.region, due_fen = EXCLUDED.due_fen,
            refund_after_fen = EXCLUDED.refund_after_fen, state = EXCLUDED.state, revision = EXCLUDED.revision,
            lines = EXCLUDED.lines
            WHERE due.revision < EXCLUDED.revision
        """,
        [d.person_id for d in items], [d.year for d in items], [d.region for d in items],
        [d.due_fen for d in items], [d.refund_after_fen for d in items],
        [getattr(d, "state", "active") for d in items], [d.revision for d in items],
        [json.dumps([line.model_dump(mode="json") for line in d.lines]) for d in items],
    )


async def save_refunds(conn: asyncpg.Connection, events: Sequence[RefundOrdered]) -> None:
    await conn.execute(
        """
        INSERT INTO refund_order (refund_id, person_id, region, year, amount_fen, reason, funding_source, township,
                                  ordered_at)
        SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::int[], $5::bigint[], $6::text[], $7::text[],
                             $8::text[], $9::timestamptz[])
        ON CONFLICT (refund_id) DO NOTHING
        """,
        [e.refund_id for e in events], [e.person_id for e in events], [e.region for e in events],
        [e.year for e in events], [e.amount_fen for e in events], [e.reason for e in events],
        [e.funding_source for e in events], [e.township for e in events], [e.occurred_at for e in events],
    )


async def save_statuses(conn: asyncpg.Connection, events: Sequence[StatusChanged], now: datetime) -> None:
    latest = {e.person_id: e for e in events}  # each event carries the full current set: the last one wins
    items = list(latest.values())
    await conn.execute(
        """
        INSERT INTO person_status (person_id, region, township, village, statuses, updated_at)
        SELECT p, r, t, v, s::jsonb, $6 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
            AS u(p, r, t, v, s)
        ON CONFLICT (person_id) DO UPDATE SET region = EXCLUDED.region, township = EXCLUDED.township,
            village = EXCLUDED.village, statuses = EXCLUDED.statuses, updated_at = EXCLUDED.updated_at
        """,
        [e.person_id for e in items], [e.region for e in items], [e.township for e in items],
        [e.village for e in items], [json.dumps([s.model_dump(mode="json") for s in e.statuses]) for e in items], now,
    )


async def save_baseline(conn: asyncpg.Connection, events: Sequence[PersonBaselined], now: datetime) -> None:
    latest = {e.person_id: e for e in events}
    items = list(latest.values())
    await conn.execute(
        """
        INSERT INTO baseline_person (person_id, region, township, village, name, source, updated_at)
        SELECT p, r, t, v, n, s, $7 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                                                $6::text[]) AS u(p, r, t, v, n, s)
        ON CONFLICT (person_id) DO UPDATE SET region = EXCLUDED.region, township = EXCLUDED.township,
            village = EXCLUDED.village, name = EXCLUDED.name, source = EXCLUDED.source,
            updated_at = EXCLUDED.updated_at
        """,
        [e.person_id for e in items], [e.region for e in items], [e.township for e in items],
        [e.village for e in items], [e.name for e in items], [e.source for e in items], now,
    )


async def save_enrollment_refunds(conn: asyncpg.Connection, events: Sequence) -> None:
    """Refunds enrollment ordered (death, duplicate payment …) join the subsidy service's in one ledger;
    a refused request is enrollment's answer to the person and owes nothing."""
    ordered = [e for e in events if isinstance(e, EnrollmentRefundOrdered)]
    if not ordered:
        return
    await conn.execute(
        """
        INSERT INTO refund_order (refund_id, person_id, region, year, amount_fen, reason, funding_source, township,
                                  ordered_at)
        SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::int[], $5::bigint[], $6::text[], $7::text[],
                             $8::text[], $9::timestamptz[])
        ON CONFLICT (refund_id) DO NOTHING
        """,
        [e.refund_id for e in ordered], [e.person_id for e in ordered], [e.region for e in ordered],
        [e.year for e in ordered], [e.amount_fen for e in ordered], [e.reason for e in ordered],
        [None] * len(ordered), [e.township for e in ordered], [e.occurred_at for e in ordered],
    )
