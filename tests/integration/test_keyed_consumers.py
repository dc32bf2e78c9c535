"""Consumers without an inbox row per message, on the real PostgreSQL: the key of what they keep is their inbox.

At the December peak every receipt reaches enrollment, subsidy and reconciliation, and its due reaches
payment ingest, enrollment and reconciliation; an inbox row for each was PostgreSQL's largest cost in the
chain. These consumers de-duplicate by the key of their own rows instead (a receipt by its number, a due by
its revision). Here each use case is handed the same batch twice, as a redelivery after a crash between the
database commit and the offset commit would: the second delivery raises no event and changes no row.
"""
from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from services.enrollment import usecases as enrollment
from services.payment_ingest import usecases as payment
from services.reconciliation import usecases as reconciliation
from services.subsidy import usecases as subsidy
from shared.db import create_pool
from shared.messages import DueAssessed, ReceiptAccepted
from shared.migrate import SERVICE_SCHEMAS
from shared.uow import UnitOfWork, unit_of_work
from tests.support.people import resident_id
from tests.support.system import fresh_database

REGION, YEAR = "340321", 2025
PAID_AT = datetime(2024, 10, 8, 9, 0, tzinfo=UTC)


def receipts(n: int) -> list[ReceiptAccepted]:
    return [ReceiptAccepted(message_id=uuid.uuid4(), occurred_at=PAID_AT, receipt_no=f"R{uuid.uuid4().hex[:12]}",
                            person_id=resident_id(REGION), region=REGION, year=YEAR, amount_fen=40000,
                            channel="wechat", paid_at=PAID_AT) for _ in range(n)]


def zero_dues(n: int) -> list[DueAssessed]:
    """Fully subsidised people (特困): a due of 0 makes enrollment enrol and cover them without a receipt."""
    return [DueAssessed(message_id=uuid.uuid4(), occurred_at=PAID_AT, person_id=resident_id(REGION), region=REGION,
                        year=YEAR, standard_fen=40000, subsidy_fen=40000, due_fen=0, revision=1)
            for _ in range(n)]


async def snapshot(conn: asyncpg.Connection) -> dict[str, list[tuple]]:
    """Every row of the schema's tables but the machinery's (inbox, outbox), times left out."""
    tables = [r["t"] for r in await conn.fetch(
        "SELECT table_name AS t FROM information_schema.tables WHERE table_schema = current_schema() "
        "AND table_type = 'BASE TABLE' AND table_name NOT IN ('inbox', 'outbox', 'schema_migrations')")]
    out = {}
    for table in sorted(tables):
        rows = await conn.fetch(f'SELECT * FROM "{table}"')
        out[table] = sorted(tuple(v for k, v in r.items() if not isinstance(v, datetime) or k == "paid_at")
                            for r in rows)
    return out


UseCase = Callable[[UnitOfWork, Sequence[Any]], Awaitable[object]]
CASES: dict[str, tuple[str, UseCase, Callable[[], Sequence[Any]]]] = {
    "enrollment receipts": ("enrollment", enrollment.mark_paid, lambda: receipts(5)),
    "enrollment dues": ("enrollment", enrollment.record_dues, lambda: zero_dues(3)),
    "subsidy receipts": ("subsidy", subsidy.record_receipts, lambda: receipts(5)),
    "payment dues": ("payment", payment.record_dues, lambda: zero_dues(3)),
    "reconciliation receipts": ("reconciliation", reconciliation.record_receipts_accepted, lambda: receipts(5)),
    "reconciliation dues": ("reconciliation", reconciliation.record_dues_assessed, lambda: zero_dues(3)),
}


@pytest.fixture(scope="module")
async def database(servers):
    async with fresh_database(servers, "keyed", *SERVICE_SCHEMAS) as dsn:
        yield dsn


@pytest.mark.parametrize("case", list(CASES))
async def test_a_redelivered_batch_changes_nothing(database, case):
    schema, use_case, batch = CASES[case]
    pool = await create_pool(database, schema)
    try:
        events = batch()
        async with pool.acquire() as conn:
            async with unit_of_work(conn, schema=schema, topic_prefix="") as uow:
                await use_case(uow, events)
            raised = await conn.fetchval("SELECT count(*) FROM outbox")  # no relay runs: the events stay there
            before = await snapshot(conn)
            # Redelivered a minute later, the same records (same message ids).
            async with unit_of_work(conn, schema=schema, topic_prefix="",
                                    now=datetime.now(UTC) + timedelta(minutes=1)) as again:
                await use_case(again, events)
            assert await conn.fetchval("SELECT count(*) FROM outbox") == raised, f"{case}: the redelivery raised events"
            assert await snapshot(conn) == before
        assert any(before.values()), f"{case}: the first delivery kept nothing, so the check proves nothing"
        if schema == "enrollment":
            assert raised > 0  # a payment and a zero due are announced the first time
    finally:
        await pool.close()
