"""Named crash points for the fault harness (tests/chaos): die right here, like a power cut.

`crash_point(name)` does nothing unless the environment variable YIBAO_CRASH_AT
names that point; then the process ends at once with `os._exit(137)` (what a
SIGKILL looks like to a supervisor: no cleanup, no flush, no offset commit).
Test-only: production never sets the variable.

    YIBAO_CRASH_AT="after_db_commit"            first time the point is reached
    YIBAO_CRASH_AT="after_db_commit#3"          the third time
    YIBAO_CRASH_AT="mid_batch%0.05"             each time with probability 0.05
    YIBAO_CRASH_AT="after_publish,mid_batch#2"  several points, comma-separated

The points (where they sit, and what a crash there must not cause):
  mid_batch            runtime: after the handler, before the commit → rolled back, redelivered
  after_outbox_insert  outbox.add: events written, transaction still open → rolled back, redelivered
  after_db_commit      runtime: committed, offsets not yet → redelivered, inbox drops it
  after_publish        outbox relay: published, rows not yet deleted → published twice, inbox drops it
"""
from __future__ import annotations

import os
import random
import sys
from dataclasses import dataclass
from functools import cache

POINTS = ("mid_batch", "after_outbox_insert", "after_db_commit", "after_publish")
EXIT_CODE = 137  # 128 + SIGKILL


@dataclass
class _Trigger:
    nth: int | None
    probability: float | None
    hits: int = 0

    def fires(self) -> bool:
        self.hits += 1
        if self.probability is not None:
            return random.random() < self.probability
        return self.hits == (self.nth or 1)


def parse(spec: str) -> dict[str, _Trigger]:
    """`name[#nth][%probability]`, comma-separated; an unknown name is an error, not a silent no-op."""
    triggers: dict[str, _Trigger] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        name, probability = part.split("%", 1) if "%" in part else (part, None)
        name, nth = name.split("#", 1) if "#" in name else (name, None)
        if name not in POINTS:
            raise ValueError(f"YIBAO_CRASH_AT names unknown crash point {name!r}; known: {', '.join(POINTS)}")
        triggers[name] = _Trigger(int(nth) if nth else None, float(probability) if probability else None)
    return triggers


@cache
def _armed() -> dict[str, _Trigger]:
    # Read once per process: the supervisor sets it per start; the hot path pays one dict lookup.
    return parse(os.environ.get("YIBAO_CRASH_AT", ""))


def crash_point(name: str) -> None:
    trigger = _armed().get(name)
    if trigger is not None and trigger.fires():
        sys.stderr.write(f'{{"event": "crash point reached", "point": "{name}", "exit": {EXIT_CODE}}}\n')
        sys.stderr.flush()
        os._exit(EXIT_CODE)
