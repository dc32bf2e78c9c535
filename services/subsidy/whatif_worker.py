"""A what-if asked on the console, run in a process of its own (`python -m services.subsidy.whatif_worker`).

The what-if decides every person of a region twice with the pure engine: CPU for a minute or more on a
large region (1,000,000 people: 97 s). Inside the service's own event loop that minute would stall the tax
gateway's quotes and the Kafka consumers (their heartbeats run on the same loop, and a member silent past
its session timeout is put out of its group). So the service hands the question to a child process: the
question as JSON on stdin, the answer (`Outcome`: the tables and the XLSX bytes) pickled on stdout. The
child reads the subsidy schema in one read-only transaction (services/subsidy/whatif.py), as `yibao whatif`
does; it never writes. One what-if at a time per service process (`Busy` for a second one), killed after
`timeout_s` (`TooLong`).
"""
from __future__ import annotations

import asyncio
import json
import pickle
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from shared.sheets import Sheet

_ONE_AT_A_TIME = asyncio.Lock()
_ROOT = Path(__file__).resolve().parents[2]  # where `services` is a package, whatever the service's own directory


@dataclass(frozen=True)
class Outcome:
    """What the console shows of a what-if: the headline, the tables, the same tables as XLSX."""
    headline: str
    sheets: list[Sheet]
    xlsx: bytes
    people: int
    seconds: float
    error: str | None = None  # the pack refused a change (one line naming the setting); nothing else is set then


class Busy(Exception):
    """Another what-if is running in this service process."""


class TooLong(Exception):
    """The what-if ran past the service's `whatif_timeout_s` and was stopped."""


async def run_isolated(dsn: str, region: str, year: int, changes: list[str], on: date, *,
                       timeout_s: float) -> Outcome:
    """The what-if of `changes` (`PATH=YUAN` texts) for `region` and `year` as on `on`, in a child process."""
    if _ONE_AT_A_TIME.locked():
        raise Busy
    async with _ONE_AT_A_TIME:
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "services.subsidy.whatif_worker", stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=_ROOT)
        question = json.dumps({"dsn": dsn, "region": region, "year": year, "changes": changes, "on": on.isoformat()})
        try:
            out, err = await asyncio.wait_for(child.communicate(question.encode()), timeout_s)
        except TimeoutError:
            raise TooLong from None
        finally:
            if child.returncode is None:  # timed out, or the request was cancelled: the child must not outlive it
                child.kill()
                await child.wait()
        if child.returncode != 0:
            raise RuntimeError(f"what-if process exited with {child.returncode}: {err.decode(errors='replace')[-2000:]}")
        answer = pickle.loads(out)  # our own child's output, never a caller's bytes
        assert isinstance(answer, Outcome)
        return answer


async def _answer(question: dict[str, Any]) -> Outcome:
    from services.subsidy.whatif import what_if
    from services.subsidy.whatif_tables import headline, sheets
    from shared.db import schema_connection
    from shared.policy import PolicyError
    from shared.policy.amend import parse_change
    from shared.sheets import workbook

    try:
        changes = [parse_change(c) for c in question["changes"]]
        async with schema_connection(question["dsn"], "subsidy") as conn:
            found = await what_if(conn, question["region"], question["year"], changes,
                                  on=date.fromisoformat(question["on"]))
    except PolicyError as err:
        return Outcome("", [], b"", 0, 0.0, error=err.one_line())
    tables = sheets(found)
    return Outcome(headline(found), tables, workbook(tables), found.tally.people, found.seconds)


def main() -> None:
    outcome = asyncio.run(_answer(json.loads(sys.stdin.buffer.read())))
    sys.stdout.buffer.write(pickle.dumps(outcome))


if __name__ == "__main__":
    # Through the module's own name: an Outcome pickled as `__main__.Outcome` would not load in the service.
    from services.subsidy.whatif_worker import main as run

    run()
