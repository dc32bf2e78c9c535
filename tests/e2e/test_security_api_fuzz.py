"""Schemathesis against identity certification's OpenAPI document (/api/openapi.json), bounded and seeded:
whatever a generated request holds — valid, invalid, absurd — the answer is never a server error.

Run as schemathesis's own CLI (its pytest plugin cannot share this module's asyncio fixture), with a
real department credential so that requests get past authentication into the handlers.
"""
from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from tests.e2e.security_support import identity, issue  # noqa: F401 - identity is a fixture
from tests.support.system import System

BIN = Path(sys.executable).parent
MAX_EXAMPLES = 30  # per operation and phase: bounded, this is a shared 2-core machine


async def test_identity_api_never_answers_with_a_server_error(identity: System) -> None:
    token = await issue(identity, "civil_affairs", "340321")
    command = [
        str(BIN / "schemathesis"), "run", identity.url("identity_certification", "/api/openapi.json"),
        "--checks", "not_a_server_error", "--max-examples", str(MAX_EXAMPLES), "--seed", "20241105",
        "--workers", "1", "--request-timeout", "30", "-H", f"Authorization: Bearer {token}",
        "--phases", "examples,coverage,fuzzing",
    ]
    process = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.PIPE,
                                                   stderr=asyncio.subprocess.STDOUT)
    output, _ = await asyncio.wait_for(process.communicate(), timeout=400)
    text = output.decode(errors="replace")
    (identity.log_dir / "schemathesis.txt").write_text(text)
    assert process.returncode == 0, text[-4000:]
    assert "operations" in text.lower() or "passed" in text.lower(), text[-2000:]
