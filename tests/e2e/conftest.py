"""The running system for end-to-end tests: one per module, torn down after it."""
from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.system import System, create_system, drop_system

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "e2e"


@pytest.fixture(scope="module")
async def system(servers) -> AsyncIterator[System]:
    system = await create_system(servers, ARTIFACTS)
    try:
        for service in ("identity_certification", "enrollment", "payment_ingest", "subsidy", "reconciliation"):
            system.start(service)
        await system.wait_healthy()
        yield system
    finally:
        await drop_system(system)
