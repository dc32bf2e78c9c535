"""`what_if` (services/subsidy/whatif.py) and `yibao whatif` on the real PostgreSQL, over a small population the
subsidy service's own use cases stored (tests/support/whatif_population.py: 怀远县 2025, asked 420 元 a person
and 低保 360): the totals must be the seed's figures changed, nothing stored may change, and the answers every
service gives must be the same after a what-if.
"""
from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
from openpyxl import load_workbook

from services.subsidy import store
from services.subsidy.whatif import what_if
from shared.db import create_pool, schema_connection
from shared.migrate import ServiceSchema
from shared.policy import assess_cached, memo
from shared.policy.amend import parse_change
from tests.support.people import resident_id
from tests.support.system import fresh_database
from tests.support.whatif_population import AK, CHANGES, DAY, HY, PEOPLE_OF_HY, YEAR, ZIYANG, expected, store_population

pytestmark = pytest.mark.stack
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Population:
    dsn: str
    people: dict[str, tuple[str, str]]  # 怀远's person → (kind, township)


@pytest.fixture(scope="module")
async def population(servers) -> AsyncIterator[Population]:
    async with fresh_database(servers, "whatif", ServiceSchema("subsidy", "subsidy")) as dsn:
        pool = await create_pool(dsn, "subsidy")
        try:
            people = await store_population(pool)
        finally:
            await pool.close()
        yield Population(dsn, people)


async def everything_stored(conn: asyncpg.Connection) -> dict[str, str]:
    """Every table of the subsidy schema, its rows as one digest (the outbox and yoyo's own tables included)."""
    tables = [r["tablename"] for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'subsidy'")]
    return {t: await conn.fetchval(f'SELECT count(*) || \':\' || coalesce(md5(string_agg(x::text, \'|\' ORDER BY x::text)), \'\') '
                                   f'FROM subsidy."{t}" x') for t in sorted(tables)}


async def test_the_what_if_totals_are_the_seeds_figures_changed_and_nothing_stored_changes(population):
    async with schema_connection(population.dsn, "subsidy") as conn:
        before = await everything_stored(conn)
        held = dict(memo.STORED.answers)
        answer = await what_if(conn, HY, YEAR, CHANGES, on=DAY, chunk=4)
        assert await everything_stored(conn) == before, "a what-if changes nothing stored"
    t, want = answer.tally, expected(population.people)
    assert t.people == len(population.people) == PEOPLE_OF_HY and (t.unassessable_before, t.unassessable_after) == (0, 0)
    assert [t.region.before.borne_fen, t.region.after.borne_fen] == want["borne"]
    assert [t.region.before.subsidy_fen, t.region.after.subsidy_fen] == want["subsidy"]
    assert t.sources == want["sources"]
    assert {name: [p.before.borne_fen, p.after.borne_fen] for name, p in t.townships.items()} == want["townships"]
    assert (t.pay_more, t.pay_less, t.unchanged, t.more_fen) == (16, 0, 13, 16 * 2000)
    assert dict(t.deltas) == {2000: 16, 0: 13}
    assert t.region.after.refund_after_fen == 2 * 42000  # 重点优抚 pay 420 and get 420 back
    assert dict(memo.STORED.answers) == held, "the what-if kept its answers to itself"
    general = {"region": HY, "year": YEAR, "payment_date": DAY, "person": {"id": resident_id(HY, seq=999)}}
    assert assess_cached(general).due_fen == 40000


async def test_pages_of_any_size_give_the_same_totals(population):
    async with schema_connection(population.dsn, "subsidy") as conn:
        small = await what_if(conn, HY, YEAR, CHANGES, on=DAY, chunk=1)
        large = await what_if(conn, HY, YEAR, CHANGES, on=DAY, chunk=10_000)
    assert small.tally == large.tally and small.tally.people == PEOPLE_OF_HY


async def test_a_city_counts_its_counties_and_a_county_only_its_own(population):
    changes = [parse_change("counties.610924.subsidies.minimum_living.amount=260")]
    async with schema_connection(population.dsn, "subsidy") as conn:
        city = await what_if(conn, AK, YEAR, changes, on=DAY)
        county = await what_if(conn, ZIYANG, YEAR, changes, on=DAY)
    assert (city.tally.people, county.tally.people) == (3, 2)
    assert dict(city.tally.deltas) == {-6000: 2, 0: 1} and dict(county.tally.deltas) == {-6000: 2}  # 紫阳县 200 → 260


async def test_the_what_if_reads_in_a_transaction_postgresql_keeps_read_only(population, monkeypatch):
    """The proof that no write can slip in: one attempted inside the what-if's reads is refused by the server."""
    real = store.load_facts

    async def writing(conn, keys):
        await conn.execute("DELETE FROM due")
        return await real(conn, keys)

    monkeypatch.setattr(store, "load_facts", writing)
    async with schema_connection(population.dsn, "subsidy") as conn:
        with pytest.raises(asyncpg.exceptions.ReadOnlySQLTransactionError):
            await what_if(conn, HY, YEAR, CHANGES, on=DAY)
        assert await conn.fetchval("SELECT count(*) FROM due WHERE region = $1", HY) == PEOPLE_OF_HY


def yibao(dsn: str, *args: str) -> subprocess.CompletedProcess:
    """The installed `yibao` command, on the population's database."""
    env = {**os.environ, "YIBAO_PG_DSN": dsn, "YIBAO_LOG_LEVEL": "WARNING"}
    return subprocess.run([str(Path(sys.executable).parent / "yibao"), *args], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=120)


def test_the_command_prints_the_tables_and_writes_the_workbook(population, tmp_path):
    out = tmp_path / "whatif.xlsx"
    done = yibao(population.dsn, "whatif", "--region", HY, "--year", str(YEAR), "--on", DAY.isoformat(),
                 "--set", "money.individual_contribution=420", "--set", "subsidies.minimum_living.amount=360",
                 "--xlsx", str(out), "--plain")
    assert done.returncode == 0, done.stderr
    assert "共29人；个人负担增加16人、减少0人、不变13人" in done.stdout
    assert "按乡镇" in done.stdout and "医疗救助资金" in done.stdout
    book = load_workbook(out)
    assert book.sheetnames == ["测算条件", "总体", "按资金来源", "按乡镇", "个人负担变化分布"]
    rows = {r[0].value: [c.value for c in r[1:]] for r in book["总体"].iter_rows(min_row=2)}
    want = expected(population.people)
    assert rows["参保人个人负担（元）"][:2] == [f / 100 for f in want["borne"]]
    assert book["总体"]["B3"].number_format == "#,##0.00"


def test_a_change_the_pack_cannot_take_is_refused_in_one_line(population):
    done = yibao(population.dsn, "whatif", "--region", HY, "--year", str(YEAR), "--set", "waiting.fixed_months=2")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip().startswith("waiting.fixed_months: 不是本政策包（340321-2025）的金额设置")
