"""Use cases of the discrepancies a run found: list them, and resolve one with a note."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from services.reconciliation import store
from services.reconciliation.domain.errors import DiscrepancyNotFound
from services.reconciliation.domain.figures import discrepancy_json
from shared.uow import UnitOfWork


async def list_discrepancies(uow: UnitOfWork, region: str, year: int, *, status: str | None = "open",
                             kind: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    """The region-year's discrepancies still present in the last run; `status` None for open and resolved."""
    rows = await store.discrepancies(uow.conn, region, year, status=status, kind=kind, limit=limit)
    return [discrepancy_json(r) for r in rows]


async def resolve_discrepancy(uow: UnitOfWork, discrepancy_id: UUID, *, note: str, by: str,
                              authorize: Callable[[str], object] | None = None) -> dict[str, Any]:
    """Mark a discrepancy resolved with what was done and by whom; it keeps the note through later runs.

    DiscrepancyNotFound for an unknown id. `authorize` is given the discrepancy's region before anything
    changes and raises to refuse (an HTTP caller of another region or role)."""
    region = await store.discrepancy_region(uow.conn, discrepancy_id)
    if region is None:
        raise DiscrepancyNotFound(discrepancy_id)
    if authorize is not None:
        authorize(region)
    row = await store.resolve(uow.conn, discrepancy_id, note, by, uow.now)
    if row is None:
        raise DiscrepancyNotFound(discrepancy_id)
    return discrepancy_json(row)
