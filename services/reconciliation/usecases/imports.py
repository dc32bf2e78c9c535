"""Use cases of the files officials hand in: a bank's settlement, village agents' cash book, township targets.

Each reads the file's text (lines refused one by one with a reason), records the file
once by its bytes (the same file sent again is recognised and not applied twice) and
upserts its lines (a corrected line, same key, replaces the earlier one). With a
`region` the lines of any other pooling region are refused: a caller hands in only their own.
A file that cannot be read at all raises `files.LineError`.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg

from services.reconciliation import store
from services.reconciliation.domain import files
from shared.uow import UnitOfWork

T = TypeVar("T")
R = TypeVar("R", bound=files.OfRegion)


def _parse(reader: Callable[[str], files.Parsed[R]], text: str, region: str | None) -> files.Parsed[R]:
    parsed = reader(text)
    return files.keep_region(parsed, region) if region is not None else parsed


async def _import(uow: UnitOfWork, kind: str, name: str, text: str, parsed: files.Parsed[T],
                  save: Callable[[asyncpg.Connection, int, list[T]], Awaitable[None]]) -> dict[str, Any]:
    file_id, new = await store.start_import(uow.conn, kind, name, text, parsed, uow.now)
    if new and parsed.rows:
        await save(uow.conn, file_id, parsed.rows)
    return files.summary(file_id, new, parsed)


async def import_bank_file(uow: UnitOfWork, *, bank: str, name: str, text: str,
                           region: str | None = None) -> dict[str, Any]:
    """One bank's settlement file for a day: a line per receipt, or per channel and payment day."""
    parsed = _parse(files.read_settlement, text, region)

    async def save(conn: asyncpg.Connection, file_id: int, rows: list[files.SettlementRow]) -> None:
        await store.save_settlement(conn, bank, file_id, rows)

    return await _import(uow, "bank_settlement", name, text, parsed, save)


async def import_agent_deposits(uow: UnitOfWork, *, name: str, text: str, region: str | None = None) -> dict[str, Any]:
    """Village agents' cash collections and when each reached the bank (代收资金缴存台账)."""
    return await _import(uow, "agent_deposit", name, text, _parse(files.read_agent_deposits, text, region),
                         store.save_agent_lines)


async def import_targets(uow: UnitOfWork, *, name: str, text: str, region: str | None = None) -> dict[str, Any]:
    """Each township's enrollment target (任务数) for a year."""

    async def save(conn: asyncpg.Connection, _file_id: int, rows: list[files.TargetRow]) -> None:
        await store.save_targets(conn, rows)

    return await _import(uow, "township_target", name, text, _parse(files.read_targets, text, region), save)
