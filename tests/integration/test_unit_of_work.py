"""shared.uow and shared.db.BatchUpsert on a real PostgreSQL: events reach the outbox only with the commit,
effects wait for it, a failure keeps nothing, and one upsert statement serves a whole batch."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest

from shared.db import BatchUpsert, keep_text_sets, text_set_id
from shared.messages import DueAssessed
from shared.topics import DUE_ASSESSED
from shared.uow import unit_of_work
from tests.support.people import resident_id
from tests.support.system import fresh_database

SHARED_MIGRATION = Path(__file__).resolve().parents[2] / "shared" / "migrations" / "0001_inbox_outbox_dead_letter.sql"
NOW = datetime(2024, 12, 1, 8, 0, tzinfo=UTC)

PERSON = BatchUpsert(
    "person", (("person_id", "text"), ("region", "text"), ("tags", "jsonb"), ("paid_fen", "bigint")),
    stamp=(("updated_at", "timestamptz"),), conflict=("person_id",),
    update={"region": None, "tags": None, "paid_fen": "person.paid_fen + EXCLUDED.paid_fen", "updated_at": None},
    returning=("person_id", "paid_fen"),
)
NEWEST = BatchUpsert("person", (("person_id", "text"), ("paid_fen", "bigint")), conflict=("person_id",),
                     update={"paid_fen": None}, where="person.paid_fen < EXCLUDED.paid_fen", returning=("person_id",))
SEEN = BatchUpsert("seen", (("key", "text"),), conflict=("key",), returning=("key",))


@pytest.fixture
async def conn(servers):
    async with fresh_database(servers, "uow") as dsn:
        connection = await asyncpg.connect(dsn)
        try:
            await connection.execute(SHARED_MIGRATION.read_text())
            await connection.execute(
                "CREATE TABLE person (person_id text PRIMARY KEY, region text, tags jsonb, paid_fen bigint, "
                "updated_at timestamptz); CREATE TABLE seen (key text PRIMARY KEY); "
                "CREATE TABLE text_set (id uuid PRIMARY KEY, texts jsonb NOT NULL)")
            yield connection
        finally:
            await connection.close()


def due(person: str) -> DueAssessed:
    return DueAssessed(message_id=uuid.uuid4(), occurred_at=NOW, person_id=person, region="340321", year=2025,
                       standard_fen=40000, subsidy_fen=0, due_fen=40000, refund_after_fen=0, revision=1,
                       reasons=[], state="active", lines=[])


async def test_events_and_effects_come_with_the_commit(conn) -> None:
    effects: list[str] = []
    async with unit_of_work(conn, schema="public", topic_prefix="t.") as uow:
        uow.publish(DUE_ASSESSED.name, "k1", due(resident_id("340321")))
        uow.after_commit(lambda: _note(effects, "after"))
        assert await conn.fetchval("SELECT count(*) FROM outbox") == 0  # raised, not written yet
        assert effects == []
    assert await conn.fetchval("SELECT count(*) FROM outbox") == 1
    assert await conn.fetchval("SELECT topic FROM outbox") == "t." + DUE_ASSESSED.name
    assert effects == ["after"]


async def test_a_failure_keeps_no_state_no_event_and_runs_no_effect(conn) -> None:
    effects: list[str] = []
    with pytest.raises(RuntimeError, match="went away"):
        async with unit_of_work(conn, schema="public", topic_prefix="") as uow:
            await PERSON.execute(uow.conn, [("p1", "340321", "[]", 100)], uow.now)
            uow.publish(DUE_ASSESSED.name, "k1", due(resident_id("340321")))
            uow.after_commit(lambda: _note(effects, "after"))
            raise RuntimeError("database went away")
    assert await conn.fetchval("SELECT count(*) FROM person") == 0
    assert await conn.fetchval("SELECT count(*) FROM outbox") == 0
    assert effects == []


async def test_flush_writes_raised_events_early_inside_the_same_transaction(conn) -> None:
    with pytest.raises(RuntimeError):
        async with unit_of_work(conn, schema="public", topic_prefix="") as uow:
            uow.publish(DUE_ASSESSED.name, "k1", due(resident_id("340321")))
            await uow.flush()
            assert uow.events == [] and await conn.fetchval("SELECT count(*) FROM outbox") == 1
            raise RuntimeError("rolled back")
    assert await conn.fetchval("SELECT count(*) FROM outbox") == 0


async def test_the_batch_upsert_inserts_updates_with_expressions_casts_jsonb_and_returns(conn) -> None:
    first = await PERSON.fetch(conn, [("p1", "340321", '["a"]', 100), ("p2", "340321", "[]", 5)], NOW)
    assert sorted(tuple(r) for r in first) == [("p1", 100), ("p2", 5)]
    again = await PERSON.fetch(conn, [("p1", "341522", '{"b": 1}', 50)], NOW)
    assert [tuple(r) for r in again] == [("p1", 150)]  # the update's expression, not the new value
    row = await conn.fetchrow("SELECT region, tags, updated_at FROM person WHERE person_id = 'p1'")
    assert row["region"] == "341522" and row["tags"] == '{"b": 1}' and row["updated_at"] == NOW


async def test_where_limits_the_update_to_the_rows_it_holds_for(conn) -> None:
    await NEWEST.execute(conn, [("p1", 100)])
    assert await NEWEST.fetch(conn, [("p1", 50)]) == []  # older: kept as it was, not returned
    assert [r["person_id"] for r in await NEWEST.fetch(conn, [("p1", 200)])] == ["p1"]
    assert await conn.fetchval("SELECT paid_fen FROM person") == 200


async def test_without_an_update_a_conflict_does_nothing_and_is_not_returned(conn) -> None:
    assert [r["key"] for r in await SEEN.fetch(conn, [("a",), ("b",)])] == ["a", "b"]
    assert [r["key"] for r in await SEEN.fetch(conn, [("b",), ("c",)])] == ["c"]
    assert await SEEN.fetch(conn, []) == []


async def test_each_distinct_list_of_texts_is_kept_once_under_the_id_postgresql_gives_it(conn) -> None:
    # The id must be what a migration computes in SQL for rows it moves (md5 of the jsonb text), or a list
    # kept before and after a migration would be two rows; quotes, backslashes and a newline included.
    first = ("个人缴费标准400元（依据：第28行）", 'a "quoted" \\ back\nslash')
    second = ("特困人员全额资助",)
    await keep_text_sets(conn, [first, second, first])
    await keep_text_sets(conn, [second])  # again: nothing new
    rows = await conn.fetch("SELECT id, texts::text AS texts, md5(texts::text)::uuid AS by_sql FROM text_set ORDER BY texts")
    assert len(rows) == 2
    assert {r["id"] for r in rows} == {text_set_id(first), text_set_id(second)}
    assert all(r["id"] == r["by_sql"] for r in rows)


def test_rows_of_the_wrong_width_or_missing_stamps_are_refused_before_the_database() -> None:
    with pytest.raises(TypeError, match="rows of 4 values"):
        PERSON._args([("p1", "340321")], [NOW])
    with pytest.raises(TypeError, match="1 stamp value"):
        PERSON._args([("p1", "340321", "[]", 1)], [])


async def _note(effects: list[str], what: str) -> None:
    effects.append(what)
