"""PostgreSQL access: one asyncpg pool per service, pinned to the service's own schema, and the batch upsert."""
from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any

import asyncpg


@lru_cache(maxsize=4096)
def json_list(values: tuple[Any, ...]) -> str:
    """The JSON text of a list (strings, numbers) for a jsonb column, remembered: the reasons of a due or an
    enrollment are the policy engine's, the same for everyone who shares its facts, and a kilobyte of Chinese."""
    return json.dumps(list(values), ensure_ascii=False)


@lru_cache(maxsize=4096)
def text_set_id(texts: tuple[str, ...]) -> uuid.UUID:
    """Where a list of texts is kept in a service's `text_set` table: the MD5 of its JSON (content addressing,
    not security), as PostgreSQL's `md5(texts::text)::uuid` gives for the same jsonb list."""
    return uuid.UUID(hashlib.md5(json_list(texts).encode()).hexdigest())


async def keep_text_sets(conn: asyncpg.Connection, sets: Iterable[tuple[str, ...]]) -> None:
    """Store each distinct list of texts once (`text_set`, referred to by `text_set_id`). A due's reasons are a
    kilobyte of the policy engine's words shared by everyone with the same facts: written per row they were
    the largest part of the chain's WAL. Sorted by id, so two transactions adding the same new lists wait for
    each other in one order, never in a cycle."""
    distinct = {text_set_id(s): s for s in sets}
    await _KEEP_TEXT_SETS.execute(conn, [(i, json_list(distinct[i])) for i in sorted(distinct)])


async def _init_connection(conn: asyncpg.Connection) -> None:
    # jsonb columns come back as Python objects, not strings.
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def create_pool(
    dsn: str, schema: str, *, min_size: int = 1, max_size: int = 8, idle_in_transaction_ms: int = 60_000
) -> asyncpg.Pool:
    """A pool whose connections see `schema` first: a service never reads another's tables.

    A transaction left open by a client that vanished behind a network partition would keep
    its locks forever and block the consumer that comes after it (seen in the fault harness);
    the server ends such a session after `idle_in_transaction_ms`."""
    return await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        server_settings={
            "search_path": schema,
            "application_name": f"yibao-{schema}",
            "idle_in_transaction_session_timeout": str(idle_in_transaction_ms),
        },
        init=_init_connection,
    )


@asynccontextmanager
async def schema_connection(dsn: str, schema: str) -> AsyncIterator[asyncpg.Connection]:
    """One connection set up like the service's pool (schema first, jsonb codec): for CLI commands
    and the demo, which run a statement or two and go."""
    conn = await asyncpg.connect(dsn, server_settings={"search_path": schema, "application_name": f"yibao-cli-{schema}"})
    try:
        await _init_connection(conn)
        yield conn
    finally:
        await conn.close()


@dataclass(frozen=True)
class BatchUpsert:
    """`INSERT … SELECT FROM unnest(…) ON CONFLICT …` for one table: a whole batch in one round trip.

    Declared once per table, its SQL built once; rows are tuples in `columns` order. A `jsonb`
    column travels as text and is cast. `stamp` names columns that take one value for the whole
    batch (e.g. `updated_at`), passed as `execute(conn, rows, now)`. `update` maps each column to
    set on conflict to its SQL (`None`: the new value, `EXCLUDED.col`); without `update` a
    conflict does nothing. `returning` names the columns to give back (use `fetch`).

        SAVE_PERSON = BatchUpsert("person", (("person_id", "text"), ("statuses", "jsonb")),
                                  stamp=(("updated_at", "timestamptz"),), conflict=("person_id",),
                                  update={"statuses": None, "updated_at": None})
        await SAVE_PERSON.execute(conn, [(p.person_id, p.statuses_json) for p in people], now)
    """

    table: str
    columns: tuple[tuple[str, str], ...]
    conflict: tuple[str, ...] = ()
    update: Mapping[str, str | None] = field(default_factory=dict)
    stamp: tuple[tuple[str, str], ...] = ()
    returning: tuple[str, ...] = ()
    where: str | None = None  # with `update`: update only the rows this holds for (e.g. a newer revision)

    @cached_property
    def sql(self) -> str:
        n = len(self.columns)
        arrays = ", ".join(f"${i}::{'text' if kind == 'jsonb' else kind}[]" for i, (_, kind) in enumerate(self.columns, 1))
        aliases = [f"c{i}" for i in range(n)]
        values = [f"{alias}::jsonb" if kind == "jsonb" else alias for alias, (_, kind) in zip(aliases, self.columns)]
        values += [f"${n + i}::{kind}" for i, (_, kind) in enumerate(self.stamp, 1)]
        names = ", ".join(name for name, _ in (*self.columns, *self.stamp))
        target = f" ({', '.join(self.conflict)})" if self.conflict else ""
        if self.update:
            sets = ", ".join(f"{col} = {expr or f'EXCLUDED.{col}'}" for col, expr in self.update.items())
            action = f"ON CONFLICT{target} DO UPDATE SET {sets}" + (f" WHERE {self.where}" if self.where else "")
        else:
            action = f"ON CONFLICT{target} DO NOTHING"
        back = f" RETURNING {', '.join(self.returning)}" if self.returning else ""
        return (f"INSERT INTO {self.table} ({names}) SELECT {', '.join(values)} "
                f"FROM unnest({arrays}) AS u({', '.join(aliases)}) {action}{back}")

    def _args(self, rows: Sequence[Sequence[Any]], stamps: Sequence[Any]) -> list[Any]:
        if len(stamps) != len(self.stamp):
            raise TypeError(f"{self.table}: {len(self.stamp)} stamp value(s) expected, got {len(stamps)}")
        columns = [list(col) for col in zip(*rows)] if rows else [[] for _ in self.columns]
        if len(columns) != len(self.columns):
            raise TypeError(f"{self.table}: rows of {len(self.columns)} values expected, got {len(columns)}")
        return [*columns, *stamps]

    async def execute(self, conn: asyncpg.Connection, rows: Sequence[Sequence[Any]], *stamps: Any) -> None:
        if rows:
            await conn.execute(self.sql, *self._args(rows, stamps))

    async def fetch(self, conn: asyncpg.Connection, rows: Sequence[Sequence[Any]], *stamps: Any) -> list[asyncpg.Record]:
        return await conn.fetch(self.sql, *self._args(rows, stamps)) if rows else []


_KEEP_TEXT_SETS = BatchUpsert("text_set", (("id", "uuid"), ("texts", "jsonb")), conflict=("id",))
