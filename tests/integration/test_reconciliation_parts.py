"""A run reads its season part by part (issue 15): cut into many parts or held as one, the answer is the same.

Two fresh databases receive the same generated season (every discrepancy kind planted, as the subscribers
and the import use cases record it) and the same extra rows that tie people of different parts together: a
reversal issued under another person and settled by a bank line naming only the reversal, a partial
reversal under another person, a receipt booked under someone else, an agent's cash line naming another
person's receipt, and a bank line naming a receipt of another year. One database is run with
`run_part_rows=1` (a part per person or two: the streaming path with dozens of parts), the other with a
bound larger than the season (one part). Both runs, run twice, leave equal discrepancies (ids, kinds,
amounts, details, places), equal run figures (counts, found, new, fingerprint) and equal
discrepancy-found events; and both equal the pure core's answer on the whole season read at once.
"""
from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from pydantic import TypeAdapter

from services.reconciliation import store
from services.reconciliation.domain.discrepancies import fingerprint, reconcile
from services.reconciliation.handlers import SUBSCRIPTIONS
from services.reconciliation.settings import Settings
from services.reconciliation.usecases import import_agent_deposits, import_bank_file, run_reconciliation
from services.reconciliation.usecases.runs import limits_for
from shared.db import schema_connection
from shared.migrate import SERVICE_SCHEMAS, migrate
from shared.uow import unit_of_work
from tests.e2e import reconciliation_season as gen
from tests.support.system import with_database

SCHEMA = "reconciliation"
NOW = datetime(2024, 12, 20, 15, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def season() -> gen.Season:
    return gen.generate(seed=11, people=90)


async def _tie_parts_together(conn: asyncpg.Connection) -> None:
    """Rows linking people far apart in ID order (so in different parts when parts are small)."""
    rows = await conn.fetch("SELECT DISTINCT ON (person_id) person_id, receipt_no, amount_fen, channel, paid_at "
                            "FROM receipt WHERE amount_fen > 0 ORDER BY person_id, receipt_no")
    first, last = rows[:4], rows[-4:]
    file_id = await conn.fetchval(
        "INSERT INTO import_file (kind, name, sha256, lines_in, accepted, rejected, imported_at) "
        "VALUES ('bank_settlement', 'tie', 'tie', 0, 0, 0, $1) RETURNING id", NOW)

    async def reversal(of: asyncpg.Record, under: str, fen: int, no: str) -> None:
        await conn.execute(
            "INSERT INTO receipt (receipt_no, person_id, region, year, amount_fen, channel, agent_id, paid_at, "
            "original_receipt_no) VALUES ($1, $2, $3, $4, $5, $6, NULL, $7, $8)",
            no, under, gen.REGION, gen.YEAR, -fen, of["channel"], of["paid_at"] + timedelta(days=2), of["receipt_no"])
        await conn.execute("INSERT INTO enrollment_payment VALUES ($1, $2, $3, $4, $5)",
                           no, under, gen.YEAR, gen.REGION, -fen)

    # 1. cancelled in full under the last person; the bank settles both at 0.00 in a line naming the reversal
    await reversal(first[0], last[0]["person_id"], first[0]["amount_fen"], "TIE-REV-1")
    await conn.execute("DELETE FROM settlement_line WHERE receipt_no = $1", first[0]["receipt_no"])
    await conn.execute("INSERT INTO settlement_line VALUES ('农商行', 'TIE', 'TIE-REV-1', $1, $2, $3, $4, "
                       "'TIE-REV-1', 0, $5)", NOW.date(), gen.REGION, first[0]["channel"],
                       (first[0]["paid_at"] + timedelta(days=2)).date(), file_id)
    # 2. a partial reversal under another person, and a bank line for it that matches nothing
    await reversal(first[1], last[1]["person_id"], 1000, "TIE-REV-2")
    await conn.execute("INSERT INTO settlement_line VALUES ('农商行', 'TIE', 'TIE-REV-2', $1, $2, $3, $4, "
                       "'TIE-REV-2', -900, $5)", NOW.date(), gen.REGION, first[1]["channel"],
                       (first[1]["paid_at"] + timedelta(days=2)).date(), file_id)
    # 3. the last-but-two person's receipt booked under the third person instead of them
    await conn.execute("UPDATE enrollment_payment SET person_id = $1 WHERE receipt_no = $2",
                       first[2]["person_id"], last[2]["receipt_no"])
    # 4. an agent's cash line of the fourth person naming the last-but-three person's receipt
    await conn.execute(
        "INSERT INTO agent_collection VALUES ('AG-TIE', 'T1', $1, $2, NULL, NULL, $3, $4, $5, $6, $6, NULL, $7)",
        gen.REGION, gen.YEAR, first[3]["person_id"], last[3]["receipt_no"], last[3]["amount_fen"],
        last[3]["paid_at"].date(), file_id)
    # 5. a receipt of another year, which a line names: no receipt of this season
    await conn.execute("INSERT INTO receipt VALUES ('TIE-2024', $1, $2, 2024, 38000, 'wechat', NULL, $3, NULL)",
                       first[0]["person_id"], gen.REGION, NOW - timedelta(days=400))
    await conn.execute("INSERT INTO settlement_line VALUES ('农商行', 'TIE', 'TIE-2024', $1, $2, 'wechat', $1, "
                       "'TIE-2024', 38000, $3)", NOW.date(), gen.REGION, file_id)


async def _database(servers: Any, season: gen.Season) -> str:
    name = f"recon_parts_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(servers.pg_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    dsn = with_database(servers.pg_dsn, name)
    await asyncio.to_thread(migrate, dsn, tuple(s for s in SERVICE_SCHEMAS if s.schema == SCHEMA))
    async with schema_connection(dsn, SCHEMA) as conn:
        for _consumer, topic, model, record, _inbox, _description in SUBSCRIPTIONS:
            adapter: TypeAdapter[Any] = TypeAdapter(model)
            events = [adapter.validate_json(value) for _key, value in season.messages.get(topic, [])]
            if events:
                async with unit_of_work(conn, schema=SCHEMA, topic_prefix="") as uow:
                    await record(uow, events)
        async with unit_of_work(conn, schema=SCHEMA, topic_prefix="") as uow:
            for bank, file_name, text in season.bank_files:
                await import_bank_file(uow, bank=bank, name=file_name, text=text, region=gen.REGION)
            await import_agent_deposits(uow, name="agents.csv", text=season.agent_file, region=gen.REGION)
        await _tie_parts_together(conn)
    return dsn


@pytest.fixture(scope="module")
async def databases(servers: Any, season: gen.Season) -> AsyncIterator[tuple[str, str]]:
    dsns = [await _database(servers, season), await _database(servers, season)]
    try:
        yield dsns[0], dsns[1]
    finally:
        admin = await asyncpg.connect(servers.pg_dsn)
        try:
            for dsn in dsns:
                await admin.execute(f'DROP DATABASE IF EXISTS "{dsn.rsplit("/", 1)[1]}" WITH (FORCE)')
        finally:
            await admin.close()


async def _run_twice(dsn: str, part_rows: int) -> list[dict[str, Any]]:
    settings = Settings(schedule_enabled=False, run_part_rows=part_rows)
    answers = []
    async with schema_connection(dsn, SCHEMA) as conn:
        for _ in range(2):
            async with unit_of_work(conn, schema=SCHEMA, topic_prefix="", now=NOW) as uow:
                answers.append(await run_reconciliation(uow, settings, region=gen.REGION, year=gen.YEAR,
                                                        day=gen.RUN_DAY, trigger="test"))
    return answers


async def _books(dsn: str) -> dict[str, Any]:
    async with schema_connection(dsn, SCHEMA) as conn:
        runs = await conn.fetch("SELECT id, day, counts, found, new, fingerprint FROM run ORDER BY id")
        found = await conn.fetch("SELECT * FROM discrepancy ORDER BY id")
        # parts announce in their own order: the events are compared as a set (each is keyed by its person)
        outbox = await conn.fetch("SELECT topic, key, payload FROM outbox ORDER BY payload")
        snapshot = await conn.fetch("SELECT * FROM progress_snapshot ORDER BY township, village")
    return {"runs": [dict(r) for r in runs], "discrepancies": [dict(r) for r in found],
            "events": [(r["topic"], bytes(r["key"]), json.loads(r["payload"])) for r in outbox],
            "snapshot": [dict(r) for r in snapshot]}


async def test_a_season_cut_into_many_parts_gives_the_same_answer_as_one_part(databases: tuple[str, str]) -> None:
    many_dsn, one_dsn = databases
    async with schema_connection(one_dsn, SCHEMA) as conn:
        whole = await store.load_season(conn, gen.REGION, gen.YEAR, Settings().timezone)
    settings = Settings(schedule_enabled=False)
    pure = reconcile(whole, gen.RUN_DAY, limits_for(settings, gen.REGION, gen.YEAR))

    many = await _run_twice(many_dsn, part_rows=1)
    one = await _run_twice(one_dsn, part_rows=10**9)

    assert many[0]["parts"] >= 40 and one[0]["parts"] == 1  # the streaming path really ran, part after part
    for a, b in zip(many, one, strict=True):
        assert {k: v for k, v in a.items() if k not in ("parts", "timings")} == \
            {k: v for k, v in b.items() if k not in ("parts", "timings")}
    assert many[0]["fingerprint"] == fingerprint(gen.REGION, gen.YEAR, pure)
    assert many[0]["found"] == len(pure) and many[0]["new"] == len(pure) and many[1]["new"] == 0
    left, right = await _books(many_dsn), await _books(one_dsn)
    assert left == right
    ids = {x.id(gen.REGION, gen.YEAR): x for x in pure}
    assert {r["id"]: (r["kind"], r["amount_fen"], r["detail"]) for r in left["discrepancies"]} == \
        {i: (str(x.kind), x.amount_fen, x.detail) for i, x in ids.items()}
    assert len(left["events"]) == len(pure)
    # every kind the season plants, and the rows tying parts together, were found
    assert set(many[0]["counts"]) >= {k for k, *_ in gen.generate(seed=11, people=90).planted}
    subjects = {r["subject"] for r in left["discrepancies"]}
    assert "settle:农商行:TIE:TIE-2024" in subjects and "settle:农商行:TIE:TIE-REV-2" in subjects
    assert not any("TIE-REV-1" in s for s in subjects)  # settled across parts by the line naming the reversal
