"""The idempotent inbox: a message id is claimed in the same transaction as its effect.

A redelivered message finds its id already claimed and is skipped, so the state
change it caused happens once (pyeventsourcing's tracking record, per message id).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TypeVar
from uuid import UUID

import asyncpg

from shared.db import BatchUpsert
from shared.messages.envelope import Envelope

E = TypeVar("E", bound=Envelope)
_CLAIM = BatchUpsert("inbox", (("message_id", "uuid"),), stamp=(("consumer", "text"),), returning=("message_id",))


async def claim(conn: asyncpg.Connection, consumer: str, message_ids: Sequence[UUID]) -> set[UUID]:
    """Record `message_ids` as seen by `consumer`; return those not seen before. One round trip."""
    if not message_ids:
        return set()
    rows = await _CLAIM.fetch(conn, [(m,) for m in message_ids], consumer)
    return {row["message_id"] for row in rows}


async def fresh_only(conn: asyncpg.Connection, consumer: str, events: Iterable[E]) -> list[E]:
    """The events of a batch that this consumer has not processed yet, first occurrence only."""
    unique: dict[UUID, E] = {}
    for event in events:
        unique.setdefault(event.message_id, event)
    claimed = await claim(conn, consumer, list(unique))
    return [event for message_id, event in unique.items() if message_id in claimed]
