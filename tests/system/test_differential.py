"""Differential check (issue 13): for a generated population, the running system's final record of every person
equals the policy engine's answer for the same facts.

People of the four seed regions (340321 怀远, 341522 霍邱, 430502 双清, 610900 安康), coverage year 2025, of
every enrollment kind, with certified statuses, event dates, registrations, earlier years of cover and gap
years paid back, paying inside and outside the collection period or never (tests/support/population.py:
seeded, pure), are taken through the five running services by their public interfaces — the register, the
departments' lists, the registrations in bulk, the quote the tax gateway asks, the receipts in one batch on the
gateway's topic, the office's coverage step — and each person's record (一人一档) is compared field by field
with `shared.policy.assess` on a Scenario built from the same facts, paid on the person's local pay day
(tests/support/differential.py says what ties the two together).

Sizes: `make test` runs 250 people (about 30 s); `make chaos` (through `make differential`) runs 2,000.
Knobs: YIBAO_DIFFERENTIAL_PEOPLE, YIBAO_DIFFERENTIAL_SEED (default 2025), YIBAO_DIFFERENTIAL_GROUPS — the
fact groups the system does not handle yet (differential.PENDING), switched on by name, comma-separated, or
`all` — and YIBAO_DIFFERENTIAL_HISTORY=0 (everyone enrols for the first time: for a build before history).
Every run writes its report — sizes, times, the divergences by fact group with an example each, and how many
of each pending group diverge — to artifacts/system/differential-<people>-<seed>.json.
"""
from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from shared.codes import EnrollmentKind
from shared.policy.dates import local_date
from tests.support import differential
from tests.support.chain import Chain
from tests.support.differential import PENDING_NAMES, Selection, pending_groups
from tests.support.population import REGIONS, Resident

PEOPLE = int(os.environ.get("YIBAO_DIFFERENTIAL_PEOPLE", "250"))
SEED = int(os.environ.get("YIBAO_DIFFERENTIAL_SEED", "2025"))
SELECTION = Selection.of(os.environ.get("YIBAO_DIFFERENTIAL_GROUPS", "").split(","),
                         history=os.environ.get("YIBAO_DIFFERENTIAL_HISTORY", "1") != "0")
REPORTS = Path(__file__).resolve().parents[2] / "artifacts" / "system"

pytestmark = pytest.mark.timeout(max(300, 120 + PEOPLE))


@pytest.fixture(scope="module")
def people() -> list[Resident]:
    return SELECTION.people(SEED, PEOPLE)


@pytest.fixture(scope="module")
async def checked(chain: Chain, people: list[Resident]) -> dict[str, Any]:
    """The population driven through the system once for the module, compared with the engine's answers."""
    done = await differential.drive(chain, people)
    today = local_date(datetime.now(UTC))
    expected = {r.index: differential.expect(r, today) for r in people}
    found = await differential.converged(chain, people, expected, done)
    report = differential.report(people, expected, done, found)
    report.update(seed=SEED, selection={"pending": sorted(SELECTION.pending), "history": SELECTION.history})
    REPORTS.mkdir(parents=True, exist_ok=True)
    (REPORTS / f"differential-{PEOPLE}-{SEED}.json").write_text(differential.dumps(report))
    return {"expected": expected, "done": done, "found": found, "report": report}


def test_the_population_is_seeded_and_spans_regions_kinds_statuses_and_timings(people: list[Resident]) -> None:
    """Same seed, same people; every region, the kinds the regions name, statuses, and payments inside and
    outside the collection period (never, before it opens, after the year) are all there."""
    assert SELECTION.people(SEED, PEOPLE) == people
    assert len({r.id for r in people}) == len(people)
    assert {r.region for r in people} == set(REGIONS)
    kinds = {r.kind for r in people}
    assert EnrollmentKind.GENERAL in kinds and len(kinds) >= (12 if PEOPLE >= 1000 else 8), kinds
    timings = {r.group[2] for r in people}
    assert {"in_period", "never", "after_year"} <= timings, timings
    assert sum(bool(r.statuses) for r in people) >= PEOPLE // 5
    assert all(set(pending_groups(r)) <= SELECTION.pending for r in people)
    if SELECTION.history:
        assert sum(bool(r.enrolled_years) for r in people) >= PEOPLE // 5


def test_every_person_s_record_equals_the_engine_s_answer(checked: dict[str, Any]) -> None:
    """Field by field (differential.FIELDS): state, due, refund after, subsidy lines, paid total, benefit start and
    end, waiting months and days, critical-illness cap, funded_by, path and the refused registration's reason.
    Each divergence is listed with the person masked and their fact group, and grouped (pending groups named)."""
    found = checked["found"]
    report = checked["report"]
    if found:
        groups = "\n".join(f"  {g['people']}/{g['of']}  {g['group']}: {', '.join(g['fields'])}"
                           + (f"  [pending: {', '.join(g['pending'])}]" if g["pending"] else "")
                           for g in report["by_group"][:40])
        pytest.fail(f"{len(found)} divergences for {report['divergent_people']} of {PEOPLE} people "
                    f"(report: artifacts/system/differential-{PEOPLE}-{SEED}.json)\n{groups}\n\n"
                    f"{differential.table(found)}", pytrace=False)
    states = report["system_states"]
    assert states.get("covered", 0) >= PEOPLE // 4, states             # most people end up covered …
    assert len(checked["done"].receipts) >= PEOPLE // 3                # … many through a receipt …
    funded = [o for o in checked["expected"].values() if o["funded_by"]]
    assert funded, "nobody fully subsidised: the no-receipt path was not checked"   # … and some without one


def test_negative_control_a_corrupted_expectation_is_reported(checked: dict[str, Any], people: list[Resident]) -> None:
    """One person's expected due made wrong by one fen: the comparison reports exactly that person and field."""
    expected, done = checked["expected"], checked["done"]
    seen = {i: differential.observed(rec) for i, rec in done.records.items()}
    agreeing = [r for r in people if r.index not in {d.index for d in checked["found"]}
                and expected[r.index]["state"] == "covered"]
    assert agreeing, "no covered person agrees with the engine: nothing to corrupt"
    victim = agreeing[len(agreeing) // 2]
    found = differential.compare(people, differential.corrupt(expected, victim.index), seen)
    extra = [d for d in found if d.index == victim.index]
    assert [(d.field, d.system, d.engine) for d in extra] == [
        ("due_fen", expected[victim.index]["due_fen"], expected[victim.index]["due_fen"] + 1)], extra
    assert len(found) == len(checked["found"]) + 1
    assert victim.id not in differential.table(found)   # the table shows people masked


def test_the_pending_groups_are_named() -> None:
    """The switch takes the groups differential.PENDING lists, and refuses any other name."""
    assert set(PENDING_NAMES) >= SELECTION.pending
    with pytest.raises(ValueError):
        Selection.of(["no_such_group"])
