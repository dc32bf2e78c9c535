"""Use cases that read: progress and its weekly snapshots, vulnerable groups, transfers, refunds, the
exportable tables, one person's record and the console's figures. Nothing here writes."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import asyncpg

from services.reconciliation import store
from services.reconciliation.domain import exports, figures
from services.reconciliation.domain.errors import PersonNotFound
from services.reconciliation.domain.progress import totals, township_rows, village_rows
from shared.policy import PolicyError, load_pack
from shared.uow import UnitOfWork


def collection_window(region: str, year: int) -> tuple[date, date] | None:
    """The region-year's collection period by its policy pack; None without a pack."""
    try:
        period = load_pack(region, year).collection_period
    except PolicyError:
        return None
    return period.start, period.end


async def progress(uow: UnitOfWork, region: str, year: int) -> dict[str, Any]:
    """Baseline, enrolled, paid and coverage per village, per township (with target and rank) and for the region."""
    counts = await store.place_counts(uow.conn, region, year)
    goals = await store.targets(uow.conn, region, year)
    return {"villages": village_rows(counts), "townships": township_rows(counts, goals), "region": totals(counts, goals)}


async def paid_per_village(uow: UnitOfWork, region: str, year: int) -> list[dict[str, Any]]:
    """People with money paid and the fen paid, per village."""
    return [{"township": r["township"], "village": r["village"], "paid_people": r["paid_people"],
             "paid_fen": int(r["paid_fen"] or 0)} for r in await store.paid_villages(uow.conn, region, year)]


async def weekly_snapshots(uow: UnitOfWork, region: str, year: int) -> list[dict[str, Any]]:
    """Each kept week's figures per township."""
    return [{**dict(r), "week": r["week"].isoformat(), "paid_fen": int(r["paid_fen"])}
            for r in await store.snapshots(uow.conn, region, year)]


async def vulnerable(uow: UnitOfWork, region: str, year: int) -> dict[str, Any]:
    """Coverage of each certified group, and the named (masked) list of those not yet enrolled (应保未保)."""
    people = await store.vulnerable_people(uow.conn, region, year)
    return {"groups": figures.vulnerable_groups(people, collection_window(region, year))}


async def transfers(uow: UnitOfWork, region: str, year: int) -> dict[str, Any]:
    """Subsidy to transfer per funding source, and per source, township and mode, for the enrolled."""
    return figures.transfer_figures(await store.transfers(uow.conn, region, year))


async def refunds_owed(uow: UnitOfWork, region: str, year: int) -> dict[str, Any]:
    """Refunds ordered or found by a run, each with its state, and the total still owed."""
    return figures.refund_figures(await store.refunds(uow.conn, region, year))


async def export_table(uow: UnitOfWork, name: str, region: str, year: int) -> exports.Table:
    """One exportable table (`exports.TABLES`) of the region-year; UnknownTable for any other name."""
    exports.check_table(name)
    if name == "progress":
        return exports.progress_table(await progress(uow, region, year))
    if name == "townships":
        return exports.townships_table(await progress(uow, region, year))
    if name == "discrepancies":
        rows = await store.discrepancies(uow.conn, region, year, status=None, present_only=False)
        return exports.discrepancies_table(figures.discrepancy_json(r) for r in rows)
    return exports.not_enrolled_table((await vulnerable(uow, region, year))["groups"])


async def person_record(uow: UnitOfWork, person_id: str, region: str) -> dict[str, Any]:
    """What the region holds on one person (no resident ID in it); PersonNotFound when nothing."""
    view = await store.person_view(uow.conn, person_id, region)
    if view is None:
        raise PersonNotFound(person_id)
    return view


@dataclass(frozen=True)
class ConsoleFigures:
    progress: dict[str, Any]
    vulnerable: list[dict[str, Any]]
    open_discrepancies: list[asyncpg.Record]
    transfers: dict[str, Any]
    refunds: dict[str, Any]
    weeks: list[asyncpg.Record]
    last_run: asyncpg.Record | None
    window: tuple[date, date] | None  # the collection period, while which the console reloads itself


async def console_figures(uow: UnitOfWork, region: str, year: int) -> ConsoleFigures:
    """Everything the console's page shows for the region-year."""
    runs = await store.runs(uow.conn, region, year, limit=1)
    return ConsoleFigures(
        progress=await progress(uow, region, year), vulnerable=(await vulnerable(uow, region, year))["groups"],
        open_discrepancies=await store.discrepancies(uow.conn, region, year, status="open"),
        transfers=await transfers(uow, region, year), refunds=await refunds_owed(uow, region, year),
        weeks=await store.snapshots(uow.conn, region, year), last_run=runs[0] if runs else None,
        window=collection_window(region, year))
