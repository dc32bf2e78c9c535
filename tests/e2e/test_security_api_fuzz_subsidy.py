"""Schemathesis against the subsidy service's OpenAPI document (/api/openapi.json), bounded and seeded:
whatever a generated request holds, the answer is never a server error and keeps to the document.

Through tests/e2e/api_fuzz_support.py (every check but those that cannot apply), with a real refund
clerk's credential (the role that reaches every route) on a subsidy service that has assessed the
documents' example person, so quotes and ledger lookups get past "not found" into the answers.
"""
from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.e2e.api_fuzz_support import EXCLUDED_CHECKS, fuzz
from tests.e2e.security_support import ARTIFACTS
from tests.e2e.test_subsidy_rules import send, status_changed
from tests.support.subsidy_access import subsidy_headers
from tests.support.system import System, running

HY = "340321"
EXAMPLE = "34032119800101001X"  # the resident ID the OpenAPI document gives as its example
MAX_EXAMPLES = 100  # per operation and phase: about 20 s here, bounded for a shared 2-core machine


@pytest.fixture(scope="module")
async def subsidy(servers) -> AsyncIterator[System]:
    async with running(servers, ARTIFACTS, ("subsidy",)) as system:
        await send(system, "identity.status-changed", status_changed(EXAMPLE, HY, ("minimum_living", "2024-10-08")))
        yield system


async def test_subsidy_api_never_answers_with_a_server_error_and_keeps_to_its_document(subsidy: System) -> None:
    token = (await subsidy_headers(subsidy.pg_dsn, HY, "refund_clerk", "schemathesis"))["Authorization"][7:]
    run = await fuzz(subsidy, "subsidy", token, checks="all", exclude=EXCLUDED_CHECKS, max_examples=MAX_EXAMPLES)
    assert run.passed, run.failure()
    assert run.operations == (6, 6), run.failure()
