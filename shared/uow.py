"""The unit of work: one transaction of one service, whatever started it.

A Kafka subscriber, an HTTP route, the scheduler and the command line all open one
the same way and hand it to a use case. The use case reads and writes through
`uow.conn`, raises events with `uow.publish(...)` and asks for effects that must
wait for the commit (a cache refresh, live counters) with `uow.after_commit(...)`.
On leaving the block the events go to the outbox inside the transaction, the
transaction commits, and only then do the after-commit effects run. A failure
anywhere before the commit rolls everything back: no state, no event.

For consumers the unit of work also claims the batch's message ids in the inbox
(`claim`), so a redelivered message changes nothing a second time.
"""
from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import TypeVar, cast

import asyncpg

from shared import inbox, outbox
from shared.messages.envelope import Envelope
from shared.outbox import Outgoing

E = TypeVar("E", bound=Envelope)
AfterCommit = Callable[[], Awaitable[object]]


def utcnow() -> datetime:
    return datetime.now(UTC)


class UnitOfWork:
    """What a use case gets: the connection inside its transaction, the time, and where events go."""

    def __init__(self, conn: asyncpg.Connection, *, now: datetime | None = None, schema: str = "",
                 topic_prefix: str = "") -> None:
        self.conn = conn
        self.now = now or utcnow()
        self.schema = schema
        self.topic_prefix = topic_prefix
        self.events: list[Outgoing] = []
        self._after_commit: list[AfterCommit] = []

    def publish(self, topic: str, key: str, message: Envelope | bytes) -> None:
        """Raise an event (topic without prefix, Kafka key, message): written to the outbox on commit."""
        self.events.append(Outgoing(topic, key, message))

    def publish_all(self, events: Iterable[Outgoing]) -> None:
        self.events.extend(events)

    def after_commit(self, effect: AfterCommit) -> None:
        """Run `effect` once the transaction has committed (never if it rolls back)."""
        self._after_commit.append(effect)

    async def claim(self, consumer: str, events: Iterable[E]) -> list[E]:
        """The events this consumer has not processed before, each id once; claimed in this transaction."""
        return await inbox.fresh_only(self.conn, consumer, events)

    async def flush(self) -> None:
        """Write the events raised so far to the outbox now (still inside the transaction): for use cases
        that raise millions of events, so memory holds one chunk of them, not all."""
        if self.events:
            await outbox.add(self.conn, self.events, topic_prefix=self.topic_prefix, schema=self.schema)
            self.events = []

    async def run_after_commit(self) -> None:
        for effect in self._after_commit:
            await effect()


class ReadingUnitOfWork(UnitOfWork):
    """The unit of work of a read: a connection without a transaction (a read-only route pays no BEGIN and
    COMMIT). It changes nothing, so it raises no event and has nothing to wait for."""

    def publish(self, topic: str, key: str, message: Envelope | bytes) -> None:
        raise RuntimeError(f"a read raised an event on {topic}: open runtime.unit_of_work() to change state")

    def after_commit(self, effect: AfterCommit) -> None:
        raise RuntimeError("a read has no commit to wait for: open runtime.unit_of_work() to change state")


class _NoDatabase:
    """The connection of an in-memory unit of work: any use of it says so, instead of failing obscurely."""

    def __getattr__(self, name: str) -> object:
        raise RuntimeError(f"an in-memory unit of work has no database (a use case called conn.{name})")


class MemoryUnitOfWork(UnitOfWork):
    """A unit of work without a database, for use cases whose decisions are tested in memory:
    events and after-commit effects are collected; `flush()` keeps events (there is no outbox);
    `commit()` runs the effects."""

    def __init__(self, *, now: datetime | None = None) -> None:
        super().__init__(cast(asyncpg.Connection, _NoDatabase()), now=now)
        self.committed = False

    async def flush(self) -> None:
        return None

    async def commit(self) -> None:
        self.committed = True
        await self.run_after_commit()


@asynccontextmanager
async def unit_of_work(
    source: asyncpg.Pool | asyncpg.Connection, *, schema: str, topic_prefix: str, now: datetime | None = None,
) -> AsyncIterator[UnitOfWork]:
    """Open a transaction on `source` (a pool: a connection is taken for the block) and yield its unit of work."""
    if isinstance(source, asyncpg.Pool):
        async with source.acquire() as proxy:  # a proxy that acts as the connection it holds
            async with _transaction(cast(asyncpg.Connection, proxy), schema=schema, topic_prefix=topic_prefix, now=now) as uow:
                yield uow
    else:
        async with _transaction(source, schema=schema, topic_prefix=topic_prefix, now=now) as uow:
            yield uow


@asynccontextmanager
async def _transaction(conn: asyncpg.Connection, *, schema: str, topic_prefix: str,
                       now: datetime | None) -> AsyncIterator[UnitOfWork]:
    uow = UnitOfWork(conn, now=now, schema=schema, topic_prefix=topic_prefix)
    async with conn.transaction():
        yield uow
        await uow.flush()
    await uow.run_after_commit()


@asynccontextmanager
async def reading(source: asyncpg.Pool | asyncpg.Connection, *, now: datetime | None = None
                  ) -> AsyncIterator[UnitOfWork]:
    """A unit of work for reads only: a connection of `source`, no transaction."""
    if isinstance(source, asyncpg.Pool):
        async with source.acquire() as proxy:
            yield ReadingUnitOfWork(cast(asyncpg.Connection, proxy), now=now)
    else:
        yield ReadingUnitOfWork(source, now=now)
