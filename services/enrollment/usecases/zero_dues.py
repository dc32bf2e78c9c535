"""People who owe nothing: a due of 0 enrolls and covers them without a receipt (资助参保).

`apply_dues` (from `record_dues`) decides each current due against the person's enrollment of its
region (`domain.funding`): a fully subsidised person is enrolled as paid by the fund, checked for
duplicate enrollment like any payer and announced on enrollment.events (`enrollment.registered`
with `funded_by`; `enrollment.covered` follows from the daily coverage step); a funded cover the
subsidy no longer pays before its start is withdrawn and announced the same way, owing the new due.
"""
from __future__ import annotations

from collections.abc import Sequence

from services.enrollment import events, store
from services.enrollment.domain import funding
from services.enrollment.domain.enrollment import Key
from services.enrollment.usecases import duplicate_cases, history
from shared.logging import get_logger
from shared.messages import DueAssessed
from shared.outbox import Outgoing
from shared.policy.dates import local_date
from shared.resident_id import mask
from shared.uow import UnitOfWork

log = get_logger(__name__)
ANNOUNCED = frozenset({"funded", "withdrawn"})


def due_of(d: DueAssessed) -> funding.Due:
    """What the funding rules read of an assessed due; its day is China's."""
    return funding.Due(person_id=d.person_id, region=d.region, year=d.year, standard_fen=d.standard_fen,
                       subsidy_fen=d.subsidy_fen, due_fen=d.due_fen, state=d.state,
                       funding_sources=tuple(line.funding_source for line in d.lines),
                       assessed_on=local_date(d.occurred_at))


async def apply_dues(uow: UnitOfWork, dues: Sequence[DueAssessed]) -> None:
    """Enroll, withdraw or keep each person's funded cover by their current due (one per person-region-year)."""
    if not dues:
        return
    judged = {(d.person_id, d.region, d.year): due_of(d) for d in dues}
    # Most dues are above 0 for people nobody funded: nothing to decide, nothing more to read or lock — the
    # enrollments are locked (and read) only for the dues of 0 and the funded covers a due above 0 may withdraw.
    funded = await store.funded_keys(uow.conn, [k for k, j in judged.items() if not j.fully_subsidised])
    judged = {k: j for k, j in judged.items() if j.fully_subsidised or k in funded}
    if not judged:
        return
    people = sorted({p for p, _, _ in judged})
    rows = await store.enrollments_of(uow.conn, people, sorted({y for _, _, y in judged}), for_update=True)
    homes = {(p, r) for p, r, _ in judged}
    places, statuses = await store.places(uow.conn, homes), await store.statuses_of(uow.conn, homes)
    kept = await store.histories(uow.conn, people)
    steps: dict[Key, funding.Step] = {}
    for d in dues:
        key, home = (d.person_id, d.region, d.year), (d.person_id, d.region)
        if key not in judged:
            continue
        step = funding.decide(rows.get(key), judged[key], places.get(home), statuses.get(home, ()),
                              history.current(kept, d.person_id, d.year))
        if step.enrollment is not None and step.enrollment != rows.get(key):
            rows[key] = step.enrollment
            steps[key] = step
        _log(step, d)
    uow.publish_all(_announced(steps, dues, uow))
    funded = {k for k, s in steps.items() if s.change == "funded"}
    found = await duplicate_cases.found_after(uow, rows, funded, people) if funded else []
    if found:
        await duplicate_cases.settle_found(uow, rows, found)
    await store.save_enrollments(uow.conn, [rows[k] for k in sorted(set(steps) | {f.dropped for f in found})],
                                 uow.now)


def _announced(steps: dict[Key, funding.Step], dues: Sequence[DueAssessed], uow: UnitOfWork) -> list[Outgoing]:
    """`enrollment.registered` for each funded or withdrawn enrollment: funded with its fund (nothing due),
    withdrawn with the due now owed."""
    owed = {(d.person_id, d.region, d.year): d.due_fen for d in dues}
    return [events.registered(s.enrollment, owed[k], uow.now) for k, s in sorted(steps.items())
            if s.change in ANNOUNCED and s.enrollment is not None]


def _log(step: funding.Step, d: DueAssessed) -> None:
    """A funded cover kept against a due above 0, or a fund's payment that buys no cover, is for the office to
    look at: said in the log (masked) as well as on the enrollment."""
    if step.change in ("kept", "unfundable"):
        log.warning("zero-due cover needs a look", change=step.change, person=mask(d.person_id), region=d.region,
                    year=d.year, due_fen=d.due_fen, revision=d.revision)
