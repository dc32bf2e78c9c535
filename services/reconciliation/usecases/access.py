"""Use case of the credentials: grant one for a region and role."""
from __future__ import annotations

from services.reconciliation import access
from shared.uow import UnitOfWork


async def grant_credential(uow: UnitOfWork, *, region: str, role: access.Role, holder: str) -> str:
    """Issue a credential; the token is returned once, only its SHA-256 is kept."""
    return await access.grant(uow.conn, region, role, holder)
