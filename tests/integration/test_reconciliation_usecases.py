"""One use case, two entry points: reconciliation's HTTP API and its command line leave the same books.

Two fresh databases receive the same generated season (every discrepancy kind planted)
through the consumed topics' use cases, as the subscribers would record it, and the same
bank files but one through the import use case. In one, the clerk hands in the last bank
file, the agents' cash book and the targets over HTTP and starts the run with
`POST /api/runs`; in the other, the same files and the run go through
`yibao reconcile import-… / run` (each a real process). The service app is the assembled one
(`SPEC`, its router and authenticator) on a real PostgreSQL, with no outbox relay started,
so the outbox keeps what each run wrote. The imports answer the same, the runs find the
same, and the runs, the discrepancies and the discrepancy-found events are equal — all
but who started it and when. The command line prints only JSON on stdout.
"""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from pydantic import TypeAdapter

from services.reconciliation.app import SPEC
from services.reconciliation.handlers import SUBSCRIPTIONS
from services.reconciliation.settings import Settings
from services.reconciliation.usecases import import_bank_file
from shared.db import create_pool, schema_connection
from shared.migrate import SERVICE_SCHEMAS, migrate
from shared.service import create_app
from shared.uow import unit_of_work
from tests.e2e import reconciliation_season as gen
from tests.support.system import with_database

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = "reconciliation"
CLI = ("-c", "from services.reconciliation.cli import app; app()")


@pytest.fixture(scope="module")
def season() -> gen.Season:
    return gen.generate(seed=5, people=120)


async def _database(servers, season: gen.Season) -> str:
    """A fresh database with reconciliation's migrations, the season's events recorded and its bank files
    but the last imported."""
    name = f"recon_uc_{uuid.uuid4().hex[:8]}"
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
        for bank, name, text in season.bank_files[:-1]:
            async with unit_of_work(conn, schema=SCHEMA, topic_prefix="") as uow:
                await import_bank_file(uow, bank=bank, name=name, text=text, region=gen.REGION)
    return dsn


@pytest.fixture(scope="module")
async def databases(servers, season) -> AsyncIterator[tuple[str, str]]:
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


async def by_http(dsn: str, season: gen.Season) -> dict[str, Any]:
    """The files and the run through the service's HTTP API; its answers."""
    app = create_app(SPEC, Settings(pg_dsn=dsn, topic_prefix="", schedule_enabled=False))
    runtime = app.state.runtime
    runtime.pool = await create_pool(dsn, SCHEMA, max_size=2)
    try:
        headers = await gen.credential(dsn)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://reconciliation",
                                     headers=headers, timeout=60) as client:
            bank, name, text = season.bank_files[-1]
            imports = [await client.post("/api/imports/bank-settlement", params={"bank": bank, "name": name},
                                         content=text.encode())]
            imports.append(await client.post("/api/imports/agent-deposits", content=season.agent_file.encode()))
            imports.append(await client.post("/api/imports/targets", content=season.targets_file.encode()))
            run = await client.post("/api/runs", json={"region": gen.REGION, "day": gen.RUN_DAY.isoformat()})
        for response in (*imports, run):
            assert response.status_code == 200, response.text
        return {"imports": [r.json() for r in imports], "run": run.json()}
    finally:
        await runtime.pool.close()


def _cli(dsn: str, *args: str) -> Any:
    """One `yibao reconcile` command as its own process; its stdout must be one JSON document."""
    env = {**os.environ, "YIBAO_PG_DSN": dsn, "YIBAO_TOPIC_PREFIX": ""}
    done = subprocess.run([sys.executable, *CLI, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


async def by_cli(dsn: str, season: gen.Season, folder: Path) -> dict[str, Any]:
    """The same files (same names) and the run through the command line; its answers."""
    def run_all() -> dict[str, Any]:
        bank, name, text = season.bank_files[-1]
        (folder / name).write_text(text)
        imports = [_cli(dsn, "import-bank", str(folder / name), "--bank", bank)]
        for command, name, text in (("import-deposits", "deposits.csv", season.agent_file),
                                    ("import-targets", "targets.csv", season.targets_file)):
            (folder / name).write_text(text)
            imports.append(_cli(dsn, command, str(folder / name)))
        return {"imports": imports, "run": _cli(dsn, "run", "--region", gen.REGION, "--day", gen.RUN_DAY.isoformat())}

    return await asyncio.to_thread(run_all)


async def books(dsn: str) -> dict[str, list[Any]]:
    """Runs, discrepancies and outbox events, without what tells who started the run and when."""
    async with schema_connection(dsn, SCHEMA) as conn:
        runs = await conn.fetch("SELECT id, region, year, day, counts, found, new, fingerprint FROM run ORDER BY id")
        found = await conn.fetch("SELECT * FROM discrepancy ORDER BY id")
        outbox = await conn.fetch("SELECT topic, key, payload FROM outbox ORDER BY id")
    events = [(r["topic"], bytes(r["key"]), {k: v for k, v in json.loads(r["payload"]).items() if k != "occurred_at"})
              for r in outbox]
    return {"runs": [dict(r) for r in runs],
            "discrepancies": [{k: v for k, v in dict(r).items() if k != "found_at"} for r in found],
            "events": events}


def _same_run(answer: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in answer.items() if k not in ("trigger", "timings")}


async def test_a_run_from_the_api_and_from_the_command_line_leaves_the_same_books(databases, season, tmp_path):
    over_http, over_cli = databases
    http = await by_http(over_http, season)
    cli = await by_cli(over_cli, season, tmp_path)

    assert http["imports"] == cli["imports"]
    assert [i["accepted"] > 0 for i in http["imports"]] == [True, True, True]
    assert http["run"]["trigger"].startswith("http:") and cli["run"]["trigger"] == "cli"
    assert _same_run(http["run"]) == _same_run(cli["run"])
    assert http["run"]["new"] == http["run"]["found"] == len(season.planted)

    left, right = await books(over_http), await books(over_cli)
    assert len(left["discrepancies"]) == len(season.planted)
    assert len(left["events"]) == len(season.planted)
    assert {e[0] for e in left["events"]} == {"reconciliation.discrepancy-found"}
    assert left == right
