"""Credentials for enrollment's API: one region and one role (agent 村代办, agency 医保经办机构) each."""
from __future__ import annotations

from services.enrollment import store
from shared.uow import UnitOfWork


async def grant_credential(uow: UnitOfWork, region: str, role: str, holder: str) -> str:
    """Issue a credential; the token is returned once, only its hash is kept. ValueError for a malformed
    region or an unknown role."""
    return await store.create_credential(uow.conn, region, role, holder)
