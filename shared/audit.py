"""The append-only audit log: who changed what, written in the transaction that made the change.

Every schema has an `audit_log` table (shared/migrations/0002_audit_log.sql) that the
database refuses to update or delete. Services call `record` inside their unit of work,
or audit by trigger (identity certification audits submissions and statuses that way).
"""
from __future__ import annotations

import json
from typing import Any

import asyncpg

from shared.logging import mask_ids


async def record(conn: asyncpg.Connection, *, actor: str, action: str, subject: str,
                 detail: dict[str, Any] | None = None) -> None:
    """Append one entry; resident IDs in the subject or the detail are masked before they are stored."""
    await conn.execute(
        # $4 as text then cast: the JSON is encoded once here, whether or not the connection has a jsonb codec
        # (the services' pools have one, which would encode this string a second time as a JSON string)
        "INSERT INTO audit_log (actor, action, subject, detail) VALUES ($1, $2, $3, $4::text::jsonb)",
        actor, action, mask_ids(subject), mask_ids(json.dumps(detail or {}, ensure_ascii=False, default=str)),
    )


async def entries(conn: asyncpg.Connection, subject: str) -> list[asyncpg.Record]:
    return await conn.fetch("SELECT at, actor, action, subject, detail FROM audit_log WHERE subject = $1 ORDER BY id",
                            mask_ids(subject))
