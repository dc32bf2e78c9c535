"""Schemathesis against the services' OpenAPI documents (/api/openapi.json), bounded and seeded.

Each service runs alone as a real process, fuzzed with a real credential of the role that may call
every operation (so requests reach the handlers), through tests/e2e/api_fuzz_support.py.

Checks: every check but those that cannot apply here (api_fuzz_support.EXCLUDED_CHECKS), so the
documents must also be true — declared status codes, response bodies and content types, refused schema-violating
input, a 401 without the declared credential.
"""
from __future__ import annotations

import asyncpg
import httpx

from services.enrollment import store as enrollment_store
from services.reconciliation import access
from tests.e2e.api_fuzz_support import EXCLUDED_CHECKS, enrollment, fuzz, reconciliation  # noqa: F401 - fixtures
from tests.e2e.security_support import identity, issue  # noqa: F401 - identity is a fixture
from tests.support.system import System

REGION = "340321"
EXAMPLE = "34032119800101001X"  # the resident ID the OpenAPI documents give as their example


async def test_identity_api_keeps_its_contract(identity: System) -> None:
    token = await issue(identity, "civil_affairs", REGION)  # civil affairs: 低保 and 特困, the documents' examples
    run = await fuzz(identity, "identity_certification", token, checks="all", exclude=EXCLUDED_CHECKS,
                     max_examples=100)
    assert run.passed, run.failure()


async def test_enrollment_api_keeps_its_contract(enrollment: System) -> None:
    conn = await asyncpg.connect(enrollment.pg_dsn, server_settings={"search_path": "enrollment"})
    try:  # the insurance office's role: every operation is open to it
        token = await enrollment_store.create_credential(conn, REGION, "agency", "schemathesis")
    finally:
        await conn.close()
    async with httpx.AsyncClient() as client:  # the documents' example person is in the register: lookups find them
        imported = await client.post(enrollment.url("enrollment", "/api/baseline"), json={"people": [{"id": EXAMPLE}]},
                                     headers={"Authorization": f"Bearer {token}"})
    assert imported.json()["rows_accepted"] == 1, imported.text
    run = await fuzz(enrollment, "enrollment", token, checks="all", exclude=EXCLUDED_CHECKS, max_examples=100)
    assert run.passed, run.failure()


async def test_reconciliation_api_keeps_its_contract(reconciliation: System) -> None:
    conn = await asyncpg.connect(reconciliation.pg_dsn, server_settings={"search_path": "reconciliation"})
    try:  # the clerk's role: imports, runs and resolutions as well as every view
        token = await access.grant(conn, REGION, "clerk", "schemathesis")
    finally:
        await conn.close()
    run = await fuzz(reconciliation, "reconciliation", token, checks="all", exclude=EXCLUDED_CHECKS,
                     max_examples=100)
    assert run.passed, run.failure()
