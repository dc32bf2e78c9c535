"""The running system for end-to-end tests: one per module, torn down after it."""
from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.system import System, running

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "e2e"


@pytest.fixture(scope="module")
async def system(servers) -> AsyncIterator[System]:
    async with running(servers, ARTIFACTS) as system:
        yield system
