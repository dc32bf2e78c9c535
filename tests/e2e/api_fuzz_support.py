"""Schemathesis against one service's OpenAPI document: the part every API fuzz test shares.

Run as schemathesis's own CLI (its pytest plugin cannot share the tests' asyncio fixtures),
bounded (examples per operation and phase, request timeout, overall timeout) and seeded, with
a real credential so that generated requests get past authentication into the handlers. The
whole output is kept in the system's log folder as `schemathesis-<service>.txt`.
"""
from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.security_support import ARTIFACTS
from tests.support.system import System, running

BIN = Path(sys.executable).parent
SEED = 20241105
PHASES = "examples,coverage,fuzzing"  # stateful needs OpenAPI links, which no service declares
# Checks that cannot apply to these APIs:
# - positive_data_acceptance expects every schema-valid request to be accepted, but a JSON schema cannot say
#   what is refused on purpose with a reason: a wrong check character in a resident ID, a person not in the
#   region's register, a year with no policy pack, a file that is no spreadsheet (all 422 with why).
EXCLUDED_CHECKS = "positive_data_acceptance"


@dataclass(frozen=True)
class FuzzRun:
    returncode: int
    output: str
    seconds: float

    @property
    def operations(self) -> tuple[int, int]:
        """(selected, tested) operations, from schemathesis's summary."""
        selected = re.search(r"Selected: (\d+)/\d+", self.output)
        tested = re.search(r"Tested: (\d+)", self.output)
        return (int(selected.group(1)) if selected else 0, int(tested.group(1)) if tested else 0)

    @property
    def cases(self) -> int:
        found = re.search(r"(\d+) generated", self.output)
        return int(found.group(1)) if found else 0

    @property
    def passed(self) -> bool:
        """No failure, and something was really tested: every operation, some cases each."""
        selected, tested = self.operations
        return self.returncode == 0 and selected > 0 and tested == selected and self.cases >= selected

    def failure(self) -> str:
        """What to show when the run failed: the failures and the summary, at the end of the output."""
        return f"operations (selected, tested) = {self.operations}, cases = {self.cases}\n{self.output[-8000:]}"


async def fuzz(system: System, service: str, token: str, *, checks: str, exclude: str | None = None,
               max_examples: int = 30, request_timeout: float = 30, timeout: float = 240, seed: int = SEED) -> FuzzRun:
    """Run schemathesis once against `service`'s /api/openapi.json as the holder of `token`.

    `timeout` bounds the whole run below pytest's own 300 s; at 100 examples enrollment took 35-68 s and
    reconciliation 33-49 s on the shared 2-core machine (a different `seed` explores other inputs)."""
    command = [
        str(BIN / "schemathesis"), "run", system.url(service, "/api/openapi.json"),
        "--checks", checks, *(("--exclude-checks", exclude) if exclude else ()),
        "--max-examples", str(max_examples), "--seed", str(seed), "--workers", "1",
        "--request-timeout", str(request_timeout), "--phases", PHASES, "--no-color",
        "-H", f"Authorization: Bearer {token}",
    ]
    loop = asyncio.get_running_loop()
    started = loop.time()
    process = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.PIPE,
                                                   stderr=asyncio.subprocess.STDOUT)
    try:
        output, _ = await asyncio.wait_for(process.communicate(), timeout=timeout)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    seconds = loop.time() - started
    text = output.decode(errors="replace")
    shown = " ".join(part.replace(token, "<credential>") for part in command)  # a log is no place for a token
    (system.log_dir / f"schemathesis-{service}.txt").write_text(f"$ {shown}\n({seconds:.0f} s)\n{text}")
    assert process.returncode is not None
    return FuzzRun(process.returncode, text, seconds)


@pytest.fixture(scope="module")
async def enrollment(servers) -> AsyncIterator[System]:
    async with running(servers, ARTIFACTS, ("enrollment",)) as system:
        yield system


@pytest.fixture(scope="module")
async def reconciliation(servers) -> AsyncIterator[System]:
    async with running(servers, ARTIFACTS, ("reconciliation",)) as system:
        yield system
