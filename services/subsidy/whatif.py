"""What a policy change would cost: every person the subsidy service knows in a region and year, their due
decided under the stored pack and under an amended one, totalled. Changes nothing.

The people are those `reassess_year` would decide (listed in the region with a status, or enrolled there
for the year), each with all the service knows of them (`store.load_facts`, `build_case`: statuses,
enrollment, receipts), decided by the same pure core (`domain.cases.decide`) on the same day, twice:
with a memo of the stored packs and with a memo of the amended pack (`Memo.amended`), both private to
this run — so the amended answers can never reach the memo the service's own answers come from, and a
what-if does not crowd it. People stream in pages of `chunk` inside one read-only transaction (one
snapshot, and PostgreSQL itself refuses any write); memory holds one page and the totals
(domain/whatif.Tally), whatever the size of the region.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

import asyncpg

from services.subsidy import store
from services.subsidy.domain.cases import Case, decide
from services.subsidy.domain.dues import Due
from services.subsidy.domain.whatif import Tally
from services.subsidy.usecases import build_case
from shared.policy import PolicyError
from shared.policy.amend import Amended, Change, amend
from shared.policy.memo import Memo

CHUNK = 5_000
# Answers each private memo keeps before it starts afresh, kept without their reasons (~2.5 KB each, measured;
# ~10 KB with them): the two hold at most ~50 MB whatever the region's size. People who share their facts (most
# of a region) are judged once per refill; a status holder's facts (certified on their own day) are mostly theirs.
MEMO_SIZE = 10_000


@dataclass(frozen=True)
class WhatIf:
    """A what-if's answer: where, for which year, judged on which day, what was changed, and the totals."""
    region: str
    year: int
    on: date
    amended: Amended
    tally: Tally
    seconds: float
    judged: tuple[int, int]  # answers the engine worked out, under the stored pack and under the amended one


async def what_if(conn: asyncpg.Connection, region: str, year: int, changes: Sequence[Change], *, on: date,
                  chunk: int = CHUNK, progress: Callable[[int], None] | None = None) -> WhatIf:
    """The region's people under the stored pack and under it amended by `changes`, each decided as the service
    would on `on`. `conn` is a connection to the subsidy schema. Raises PolicyError for a change the pack
    cannot take (naming the setting) or a region and year without a pack."""
    started = time.perf_counter()
    amended = amend(region, year, changes)
    stored, changed = Memo(size=MEMO_SIZE, reasons=False), Memo.amended(amended.pack, size=MEMO_SIZE, reasons=False)
    pack = amended.stored
    whole_city = region == pack.region and pack.pooling == "city"
    tally, after = Tally(), ""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        while True:
            people = await store.people_in(conn, region, year, whole_city=whole_city, after=after, limit=chunk)
            if not people:
                break
            after = people[-1]
            keys = [(p, year) for p in people]
            facts = await store.load_facts(conn, keys)
            for key in keys:
                case = build_case(key, facts, None)
                if case is None or not (case.region == region or (whole_city and pack.covers(case.region))):
                    continue  # the person's due for the year is another region's
                tally.add(case.township, _due(case, on, stored), _due(case, on, changed))
            if progress is not None:
                progress(tally.people)
    return WhatIf(region, year, on, amended, tally, time.perf_counter() - started, (stored.judged, changed.judged))


def _due(case: Case, on: date, policy: Memo) -> Due | None:
    try:
        return decide(case, on, policy).due
    except PolicyError:  # not judged on this side: counted apart, as subsidy keeps it unassessed
        return None
