"""What payment ingest does, one function each: ingest a batch of receipts, record assessed dues,
rebuild and read the console's live counters.

The entry points (the Kafka subscribers in handlers.py, the command line in cli.py) open a
unit of work (shared.uow), call one of these and translate; they decide nothing.

Receipts are the hot path of the December peak (tens of thousands a second per process):
a batch is one decide() call, one COPY of its receipts, its events as text and its counter
increments pre-aggregated, with no object and no round trip per receipt beyond those.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from functools import partial
from typing import Protocol

from services.payment_ingest import store
from services.payment_ingest.domain.receipts import Decision, Windows, decide
from services.payment_ingest.domain.tally import Group, Intake, groups_of, schema_rejected, totals
from services.payment_ingest.events import SchemaRejection, accepted_event, rejected_event, schema_rejection
from shared.kafka import Unreadable
from shared.logging import get_logger
from shared.messages import DueAssessed, ReceiptReceived
from shared.metrics import MESSAGES
from shared.outbox import Outgoing
from shared.topics import RECEIPT_RECEIVED
from shared.uow import UnitOfWork

log = get_logger(__name__)
SERVICE = "payment_ingest"


class Counters(Protocol):
    """Where a batch's counter increments go after its commit (services.payment_ingest.counters.LiveCounters)."""

    async def add(self, groups: Counter[tuple[Group, str]], intake: Intake) -> None: ...


def dead_letters(unreadable: Sequence[Unreadable]) -> list[Unreadable]:
    """The unreadable records kept as dead letters: bytes that are not JSON. JSON of the wrong shape is a
    receipt the schema refuses: recorded as rejected by `ingest_receipts`, with the fields that failed."""
    return [u for u in unreadable if not u.is_json]


async def ingest_receipts(uow: UnitOfWork, receipts: list[ReceiptReceived], unreadable: Sequence[Unreadable], *,
                          windows: Windows, counters: Counters) -> Intake:
    """Decide and record one batch of receipts, with the batch's unreadable records; returns its count in.

    Receipts are de-duplicated by receipt number + payload hash (an exact replay is a duplicate,
    whatever its message id), schema-refused ones by payload hash, not-JSON ones by their topic
    position (the dead letters the caller keeps in the same unit of work)."""
    conn = uow.conn
    decisions = decide(receipts, await store.load_known(conn, receipts), windows)
    await store.save_decisions(conn, decisions)
    refused = [schema_rejection(r, uow.now) for r in unreadable if r.is_json]
    new = await store.save_schema_rejections(conn, [row for row, _ in refused], uow.now)
    not_json = dead_letters(unreadable)
    kept_before = await store.dead_letters_already_kept(conn, not_json)
    intake = settle(uow, decisions, refused, new, not_json=len(not_json), kept_before=kept_before, counters=counters)
    await store.record_intake(conn, intake, uow.now)
    return intake


def settle(uow: UnitOfWork, decisions: list[Decision], refused: list[tuple[SchemaRejection, Outgoing]],
           new: set[str], *, not_json: int, kept_before: int, counters: Counters) -> Intake:
    """What a decided batch amounts to, without the database: its events raised, its count in split by
    outcome, and its counter increments for after the commit.

    `refused` are the schema-refused receipts (row, event), `new` the payload hashes of those kept for
    the first time; `not_json` records were unreadable, `kept_before` of them kept already."""
    stamp = uow.now.isoformat()
    uow.publish_all([accepted_event(d, stamp) if d.verdict == "accepted" else rejected_event(d, stamp)
                     for d in decisions if d.verdict != "duplicate"])
    uow.publish_all([event for row, event in refused if row[0] in new])
    verdicts = Counter(d.verdict for d in decisions)
    intake = Intake(
        received=len(decisions) + len(refused) + not_json,
        accepted=verdicts["accepted"],
        rejected=verdicts["rejected"] + len(new),
        dead_lettered=not_json - kept_before,
        duplicate=verdicts["duplicate"] + (len(refused) - len(new)) + kept_before,
    )
    groups = groups_of(decisions)
    for row, _ in refused:
        if row[0] in new:
            groups[(schema_rejected(row[2]), "count")] += 1
    uow.after_commit(partial(_count, counters, groups, intake))
    return intake


async def _count(counters: Counters, groups: Counter[tuple[Group, str]], intake: Intake) -> None:
    """After the commit: the metrics and the live counters. The batch is committed already, so a Redis
    failure is logged and counted, not raised: the counters lag until `yibao payments rebuild-counters`."""
    for outcome, n in intake.as_fields().items():
        MESSAGES.labels(SERVICE, RECEIPT_RECEIVED.name, f"receipt_{outcome}").inc(n)
    try:
        await counters.add(groups, intake)
    except Exception as err:
        MESSAGES.labels(SERVICE, RECEIPT_RECEIVED.name, "counters_not_updated").inc(intake.received)
        log.error("live counters not updated; rebuild them from PostgreSQL", error=repr(err))


async def record_dues(uow: UnitOfWork, dues: Sequence[DueAssessed]) -> None:
    """Keep the newest assessed due of each person and year: what their receipts must amount to."""
    if dues:
        await store.upsert_dues(uow.conn, dues)


class CounterStore(Protocol):
    """The live counters as the rebuild and the console read them (counters.LiveCounters)."""

    async def replace(self, groups: Counter[tuple[Group, str]], intake: Intake) -> None: ...
    async def region(self, region: str, year: int) -> dict[str, int]: ...
    async def intake(self) -> dict[str, int]: ...


async def rebuild_counters(uow: UnitOfWork, counters: CounterStore) -> dict[str, int]:
    """Replace every live counter with what PostgreSQL says (exact while the service is paused);
    returns the intake totals."""
    groups = totals(await store.receipt_groups(uow.conn))
    intake = await store.intake_totals(uow.conn)
    await counters.replace(groups, intake)
    return intake.as_fields()


async def read_counters(counters: CounterStore, region: str, year: int) -> dict[str, dict[str, int]]:
    """The live counters of one region and year, and the intake totals."""
    return {"region": await counters.region(region, year), "intake": await counters.intake()}
