"""The running system for the seed scenarios: one per module (five services, own topics and database)."""
from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.chain import Chain
from tests.support.system import System, running

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "system"


@pytest.fixture(scope="module")
async def system(servers) -> AsyncIterator[System]:
    async with running(servers, ARTIFACTS) as system:
        yield system


@pytest.fixture(scope="module")
async def chain(system: System) -> AsyncIterator[Chain]:
    async with Chain.open(system) as opened:
        yield opened
