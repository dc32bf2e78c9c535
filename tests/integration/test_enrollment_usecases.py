"""Enrollment's use cases on the real servers: each entry point only translates, so the same use case
reached two ways leaves the same rows and raises the same events.

* receipts: `mark_paid` through the Kafka subscriber (a real broker, the service's own handlers and
  `Runtime.consuming`) and called directly in a unit of work;
* a household register and a bulk registration: over HTTP (the service's FastAPI app, in process)
  and from the command line (`yibao enrollment import` / `register`).

Each side has its own fresh database with enrollment's migrations; no outbox relay runs, so the
events raised stay in the outbox to be compared (without message ids, times and case/refund ids).
"""
from __future__ import annotations

import asyncio
import dataclasses
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import asyncpg
import httpx
import pytest
from typer.testing import CliRunner

from services.enrollment import usecases
from services.enrollment.app import SPEC
from services.enrollment.cli import app as cli
from shared.access import Caller
from shared.contracts import contract
from shared.db import create_pool
from shared.kafka_admin import delete_topics_with_prefix, ensure_topics
from shared.messages import ReceiptAccepted
from shared.migrate import ServiceSchema
from shared.resident_id import person_key
from shared.runtime import Runtime
from shared.service import build_broker, create_app
from shared.settings import ServiceSettings
from shared.topics import DEAD_LETTER, RECEIPT_ACCEPTED
from shared.uow import unit_of_work
from tests.support.kafka import produce, wait_consumed
from tests.support.people import resident_id
from tests.support.system import fresh_database

HY, SQ = "340321", "430502"
VOLATILE = {"message_id", "occurred_at", "case_id", "refund_id", "duplicate_case_id"}  # new per run, by design
TABLES = {  # table: (order, columns that differ by when or by random id)
    "population": ("region, person_id", {"imported_at"}),
    "payment": ("receipt_no", {"recorded_at"}),
    "duplicate_case": ("person_id, year, dropped_region", {"id", "refund_id", "opened_at"}),
    "refund": ("person_id, region, year", {"id", "duplicate_case_id", "decided_at"}),
    "baseline_import": ("list, region, rows_total", {"id", "imported_at"}),
    "baseline_rejected_row": ("line_no", {"import_id"}),
    "registration_refusal": ("person_id, region, year, line_no", {"id", "refused_at"}),
}


@dataclasses.dataclass
class Side:
    """One database with enrollment's schema, and settings naming it."""

    dsn: str
    settings: ServiceSettings
    pool: asyncpg.Pool


@asynccontextmanager
async def side(servers, tag: str) -> AsyncIterator[Side]:
    async with fresh_database(servers, "enr", ServiceSchema("enrollment", "enrollment")) as dsn:
        settings = ServiceSettings(kafka_bootstrap=servers.kafka_bootstrap, pg_dsn=dsn, redis_url=servers.redis_url,
                                   topic_prefix=f"{tag}.", group_prefix=tag, batch_timeout_ms=20,
                                   retry_backoff_s=0.1)
        pool = await create_pool(dsn, "enrollment", max_size=2)
        try:
            yield Side(dsn, settings, pool)
        finally:
            await pool.close()


@pytest.fixture
async def sides(servers) -> AsyncIterator[tuple[Side, Side]]:
    tag = f"u{uuid.uuid4().hex[:8]}"
    async with side(servers, tag) as one, side(servers, tag) as other:
        yield one, other


def runtime_on(s: Side) -> Runtime:
    """The service's runtime on this side's pool, without outbox relay: its events stay in the outbox."""
    runtime = Runtime(SPEC.name, SPEC.schema, s.settings)
    runtime.pool = s.pool
    return runtime


async def stored(s: Side) -> dict[str, list]:
    """What a side holds, without the columns that differ by when or by random id."""
    async with s.pool.acquire() as conn:
        enrollments = await conn.fetch("SELECT * FROM enrollment ORDER BY person_id, region, year")
        outbox = await conn.fetch("SELECT topic, key, payload FROM outbox ORDER BY id")
        tables = {
            "enrollment": [{k: v for k, v in r.items() if k != "updated_at"} for r in enrollments],
            # in order per Kafka key, as consumers see them; keys apart come in any order
            "outbox": sorted(((r["topic"], bytes(r["key"]).decode(), _stable(json.loads(bytes(r["payload"]))))
                              for r in outbox), key=lambda event: event[:2]),
        }
        for table, (order, volatile) in TABLES.items():
            rows = await conn.fetch(f"SELECT * FROM {table} ORDER BY {order}")
            tables[table] = [{k: v for k, v in r.items() if k not in volatile} for r in rows]
    return tables


def _stable(payload: dict) -> dict:
    return {k: v for k, v in payload.items() if k not in VOLATILE}


def receipts() -> list[ReceiptAccepted]:
    """Four people's receipts: one paid, one paid in two regions (a duplicate case, a refund), one paid and
    reversed, and one receipt number sent twice."""
    paid, twice, reversed_, repeated = (resident_id(HY) for _ in range(4))

    def one(person: str, amount: int, day: int, region: str = HY, number: str | None = None) -> ReceiptAccepted:
        return ReceiptAccepted(message_id=uuid.uuid4(), occurred_at=datetime.now(UTC),
                               receipt_no=number or f"R{uuid.uuid4().hex[:16]}", person_id=person, region=region,
                               year=2025, amount_fen=amount, channel="wechat",
                               paid_at=datetime(2024, 10, day, 2, tzinfo=UTC))

    return [one(paid, 40000, 10), one(twice, 40000, 11), one(twice, 40000, 12, region=SQ),
            one(reversed_, 40000, 13), one(reversed_, -40000, 14), one(repeated, 40000, 15, number="R-SAME"),
            one(repeated, 40000, 16, number="R-SAME")]


async def baseline_for(s: Side, people: list[str]) -> None:
    """Both regions' registers list everyone: each payment then buys cover (and two of them a duplicate)."""
    for region in (HY, SQ):
        async with unit_of_work(s.pool, schema="enrollment", topic_prefix=s.settings.topic_prefix) as uow:
            office = usecases.Upload(None, [{"line_no": i, "id": p} for i, p in enumerate(people, start=1)])
            await usecases.import_baseline(uow, Caller(region, "agency", f"office {region}"), office, "public_security")


async def test_receipts_through_the_consumer_and_called_directly_store_and_raise_the_same(servers, sides):
    consumed, direct = sides
    batch = receipts()
    people = sorted({r.person_id for r in batch})
    for s in sides:
        await baseline_for(s, people)

    async with unit_of_work(direct.pool, schema="enrollment", topic_prefix=direct.settings.topic_prefix) as uow:
        await usecases.mark_paid(uow, batch)

    settings = consumed.settings
    topics = [dataclasses.replace(t, name=settings.topic(t.name)) for t in (*contract("enrollment").consumes, DEAD_LETTER)]
    await ensure_topics(servers.kafka_bootstrap, topics)
    broker = build_broker(SPEC, runtime_on(consumed))
    try:
        await broker.start()
        await produce(servers.kafka_bootstrap, settings.topic(RECEIPT_ACCEPTED.name),
                      [(person_key(r.person_id).encode(), r.model_dump_json().encode()) for r in batch])
        await wait_consumed(servers.kafka_bootstrap, settings.group("enrollment", "receipts"),
                            settings.topic(RECEIPT_ACCEPTED.name))
    finally:
        await broker.stop()
        await delete_topics_with_prefix(servers.kafka_bootstrap, settings.topic_prefix)

    theirs, mine = await stored(consumed), await stored(direct)
    assert [e["state"] for e in mine["enrollment"]].count("ended") == 1 and len(mine["duplicate_case"]) == 1
    assert len(mine["payment"]) == 6     # the repeated receipt number once
    assert theirs == mine


async def test_a_register_and_registrations_over_http_and_from_the_cli_store_and_raise_the_same(sides, tmp_path):
    web, command_line = sides
    listed, stranger, declared = resident_id(HY), resident_id(SQ), resident_id(SQ)
    register_file = tmp_path / "花名册.json"
    register_file.write_text(json.dumps({"people": [
        {"身份证号": listed, "乡镇": "榴城镇", "村": "城关村"}, {"身份证号": "3.40321E+17"}, {"籍贯": "安徽"}]},
        ensure_ascii=False), encoding="utf-8")
    registrations = [{"id": listed, "year": 2025, "registered_on": "2024-10-10"},
                     {"id": stranger, "year": 2025, "registered_on": "2024-10-10"},
                     {"id": declared, "year": 2025, "hukou_region": SQ, "residence_region": HY,
                      "registered_on": "2024-10-11"},
                     {"id": listed, "year": 2025, "registered_on": "2024-10-12"}]
    registrations_file = tmp_path / "registrations.json"
    registrations_file.write_text(json.dumps(registrations), encoding="utf-8")

    tokens = []
    for s in sides:
        async with unit_of_work(s.pool, schema="enrollment", topic_prefix=s.settings.topic_prefix) as uow:
            tokens.append(await usecases.grant_credential(uow, HY, "agency", "怀远县医保中心"))

    app = create_app(SPEC, web.settings)
    app.state.runtime.pool = web.pool   # no lifespan in process: the routes' runtime gets the side's pool
    auth = {"Authorization": f"Bearer {tokens[0]}"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://enrollment") as client:
        imported = await client.post("/api/baseline/file", headers=auth,
                                     files={"file": (register_file.name, register_file.read_bytes())})
        registered = await client.post("/api/enrollments/bulk", headers=auth, json={"registrations": registrations})
    assert imported.status_code == registered.status_code == 200, imported.text + registered.text

    env = {"YIBAO_PG_DSN": command_line.dsn, "YIBAO_TOPIC_PREFIX": command_line.settings.topic_prefix,
           "YIBAO_ENROLLMENT_TOKEN": tokens[1]}
    runner = CliRunner()
    by_cli = await asyncio.to_thread(runner.invoke, cli, ["import", str(register_file)], env=env)
    registered_by_cli = await asyncio.to_thread(runner.invoke, cli, ["register", str(registrations_file)], env=env)
    assert by_cli.exit_code == 0, by_cli.output
    assert registered_by_cli.exit_code == 3, registered_by_cli.output   # one refused

    answer = registered.json()
    assert (answer["registered"], answer["already"], answer["refused"]) == (2, 1, 1)
    assert answer["total"] == answer["accepted"] + answer["refused"]
    assert f"{answer['total']}人：登记2，已登记1，拒绝1" in registered_by_cli.output
    assert f"{imported.json()['rows_total']}行，导入1行，退回2行" in by_cli.output
    over_http, from_cli = await stored(web), await stored(command_line)
    assert [(r["person_id"], r["line_no"], r["reason_code"]) for r in from_cli["registration_refusal"]] == [
        (stranger, 2, "place_unknown")]   # kept with its reason, by either entry point
    assert sorted(e["event_type"] for _, _, e in from_cli["outbox"]) == [
        "enrollment.registered", "enrollment.registered", "population.baselined"]
    assert over_http == from_cli
