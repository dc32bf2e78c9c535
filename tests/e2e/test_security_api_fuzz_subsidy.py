"""Schemathesis against the subsidy service's OpenAPI document (/api/openapi.json), bounded and seeded:
whatever a generated request holds, the answer is never a server error and keeps to the document.

Run as schemathesis's own CLI (its pytest plugin cannot share this module's asyncio fixture), with a
real refund clerk's credential (the role that reaches every route) so requests get past
authentication into the handlers, on a service holding a few assessed people of the credential's region.
"""
from __future__ import annotations

import asyncio
import re
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.e2e.security_support import ARTIFACTS
from tests.e2e.test_subsidy_rules import send, status_changed
from tests.support.people import resident_id
from tests.support.subsidy_access import subsidy_headers
from tests.support.system import System, running

BIN = Path(sys.executable).parent
HY = "340321"
MAX_EXAMPLES = 100  # per operation and phase: bounded (about 20 s here), this is a shared 2-core machine
# positive_data_acceptance expects every schema-valid request to be accepted, but a schema cannot say what is
# refused on purpose with a reason: a wrong check character in an ID, a person or refund not of the caller's region.
EXCLUDED_CHECKS = "positive_data_acceptance"


@pytest.fixture(scope="module")
async def subsidy(servers) -> AsyncIterator[System]:
    async with running(servers, ARTIFACTS, ("subsidy",)) as system:
        people = [resident_id(HY) for _ in range(3)]
        await send(system, "identity.status-changed",
                   *(status_changed(p, HY, ("minimum_living", "2024-10-08")) for p in people))
        yield system


async def test_subsidy_api_never_answers_with_a_server_error_and_keeps_to_its_document(subsidy: System) -> None:
    token = (await subsidy_headers(subsidy.pg_dsn, HY, "refund_clerk", "模糊测试"))["Authorization"][7:]
    command = [
        str(BIN / "schemathesis"), "run", subsidy.url("subsidy", "/api/openapi.json"),
        "--checks", "all", "--exclude-checks", EXCLUDED_CHECKS, "--max-examples", str(MAX_EXAMPLES),
        "--seed", "20241105", "--workers", "1", "--request-timeout", "30",
        "-H", f"Authorization: Bearer {token}", "--phases", "examples,coverage,fuzzing",
    ]
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.PIPE,
                                                   stderr=asyncio.subprocess.STDOUT)
    output, _ = await asyncio.wait_for(process.communicate(), timeout=400)
    text = output.decode(errors="replace")
    (subsidy.log_dir / "schemathesis-subsidy.txt").write_text(f"{time.monotonic() - started:.0f} s\n{text}")
    assert process.returncode == 0, text[-6000:]
    selected, tested = (re.search(pattern, text) for pattern in (r"Selected: (\d+)/\d+", r"Tested: (\d+)"))
    assert selected and tested and int(tested.group(1)) == int(selected.group(1)) == 6, text[-3000:]
