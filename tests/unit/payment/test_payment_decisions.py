"""Payment ingest's use cases in memory (shared.uow.MemoryUnitOfWork): what a batch raises, counts and
leaves for after its commit; the store is replaced by a dictionary where a use case needs one."""
from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime

import pytest

from services.payment_ingest import store, usecases
from services.payment_ingest.domain.receipts import Known, decide
from services.payment_ingest.domain.tally import Group, Intake, fields, groups_of, totals
from services.payment_ingest.domain.windows import PolicyWindows
from services.payment_ingest.events import schema_rejection
from shared.kafka import Unreadable
from shared.messages import ReceiptReceived
from shared.metrics import MESSAGES
from shared.topics import RECEIPT_ACCEPTED, RECEIPT_REJECTED
from shared.uow import MemoryUnitOfWork
from tests.support.people import receipt, resident_id

NOW = datetime(2024, 12, 1, 8, tzinfo=UTC)
WINDOWS = PolicyWindows()


def r(amount: int = 40000, **kw) -> ReceiptReceived:
    return ReceiptReceived.model_validate(receipt(kw.pop("person", None) or resident_id("340321"), amount, **kw))


def unreadable(value: bytes, offset: int = 0) -> Unreadable:
    is_json = value.startswith(b"{")
    return Unreadable("t.payment.receipt-received", 0, offset, value,
                      "person_id: 身份证号校验位错误" if is_json else "not valid JSON", is_json)


class Recorded:
    """The live counters: what reached them, or a Redis that is down."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.added: list[tuple[Counter, Intake]] = []

    async def add(self, groups, intake) -> None:
        if self.fail:
            raise ConnectionError("redis is away")
        self.added.append((groups, intake))


def body(event) -> dict:
    return json.loads(event.message) if isinstance(event.message, bytes) else event.message.model_dump(mode="json")


def batch():
    ok = r(receipt_no="330000000000000001")
    return [ok, r(38000), ok, r(-100, receipt_no="330000000000000002", original_receipt_no=ok.receipt_no)]


async def test_a_batch_raises_one_event_per_receipt_not_a_duplicate_in_order_and_counts_every_record():
    uow, counters = MemoryUnitOfWork(now=NOW), Recorded()
    receipts = batch()
    decisions = decide(receipts, Known(), WINDOWS)
    refused = [schema_rejection(unreadable(b'{"receipt_no": "x", "person_id": "1"}'), NOW)]
    intake = usecases.settle(uow, decisions, refused, {refused[0][0][0]}, not_json=2, kept_before=1,
                             counters=counters)
    assert [d.verdict for d in decisions] == ["accepted", "rejected", "duplicate", "accepted"]
    assert [(e.topic, body(e)["receipt_no"]) for e in uow.events] == [
        (RECEIPT_ACCEPTED.name, receipts[0].receipt_no), (RECEIPT_REJECTED.name, receipts[1].receipt_no),
        (RECEIPT_ACCEPTED.name, receipts[3].receipt_no), (RECEIPT_REJECTED.name, "x")]
    assert body(uow.events[0])["occurred_at"] == NOW.isoformat()
    assert intake == Intake(received=7, accepted=2, rejected=2, dead_lettered=1, duplicate=2) and intake.balanced()
    assert counters.added == []  # nothing before the commit
    await uow.commit()
    [(groups, counted)] = counters.added
    assert counted == intake
    assert groups[(Group(None, None, "rejected", "invalid_resident_id", None, None, False), "count")] == 1
    assert fields(groups)[("340321", 2025)]["accepted"] == 1 and fields(groups)[("340321", 2025)]["reversed"] == 1


async def test_a_schema_refused_receipt_kept_before_is_a_duplicate_and_raises_no_event():
    uow = MemoryUnitOfWork(now=NOW)
    refused = [schema_rejection(unreadable(b'{"amount_fen": 1}'), NOW)]
    intake = usecases.settle(uow, [], refused, set(), not_json=0, kept_before=0, counters=Recorded())
    assert uow.events == [] and (intake.rejected, intake.duplicate) == (0, 1)


async def test_when_the_counters_cannot_be_updated_after_the_commit_it_is_logged_and_counted_not_raised():
    uow = MemoryUnitOfWork(now=NOW)
    failed = MESSAGES.labels("payment_ingest", "payment.receipt-received", "counters_not_updated")
    before = failed._value.get()
    usecases.settle(uow, decide([r()], Known(), WINDOWS), [], set(), not_json=0, kept_before=0,
                    counters=Recorded(fail=True))
    await uow.commit()
    assert uow.committed and failed._value.get() == before + 1


async def test_ingest_receipts_saves_decides_against_what_is_stored_and_records_the_count_in(monkeypatch):
    seen = r(receipt_no="330000000000000009")
    saved, intakes = [], []

    async def load_known(_conn, receipts):
        return Known(hashes={seen.receipt_no: {decide([seen], Known(), WINDOWS)[0].payload_sha256}})

    async def save_decisions(_conn, decisions):
        saved.extend(d.verdict for d in decisions)

    async def save_schema_rejections(_conn, items, now):
        return {items[0][0]} if items else set()

    async def dead_letters_already_kept(_conn, records):
        return 0

    async def record_intake(_conn, intake, now):
        intakes.append((intake, now))

    for name, fake in [("load_known", load_known), ("save_decisions", save_decisions),
                       ("save_schema_rejections", save_schema_rejections),
                       ("dead_letters_already_kept", dead_letters_already_kept), ("record_intake", record_intake)]:
        monkeypatch.setattr(store, name, fake)
    uow, counters = MemoryUnitOfWork(now=NOW), Recorded()
    records = [unreadable(b'{"receipt_no": 1}', 1), unreadable(b"\xff", 2)]
    intake = await usecases.ingest_receipts(uow, [seen, r()], records, windows=WINDOWS, counters=counters)
    assert saved == ["duplicate", "accepted"]
    assert intakes == [(Intake(received=4, accepted=1, rejected=1, dead_lettered=1, duplicate=1), NOW)]
    assert intake == intakes[0][0] and len(uow.events) == 2
    assert usecases.dead_letters(records) == [records[1]]  # what the subscriber keeps as a dead letter
    await uow.commit()
    assert [i for _, i in counters.added] == [intake]


async def test_no_dues_no_statement():
    await usecases.record_dues(MemoryUnitOfWork(now=NOW), [])  # a connection of None would raise


@pytest.mark.parametrize("seed", range(3))
def test_the_rebuild_groups_stored_receipts_as_the_live_path_groups_a_batch(seed):
    receipts = [r(a, channel=c, **({"agent_id": "A-1"} if c == "village_agent" else {}))
                for a in (40000, 38000, 40000 + seed) for c in ("wechat", "village_agent")]
    decisions = decide(receipts, Known(), WINDOWS)
    live = groups_of(decisions)
    rows = Counter()  # the receipt table, GROUP BY as store.receipt_groups does
    fen = Counter()
    for d in decisions:
        x = d.receipt
        key = (x.region, x.year, d.verdict, d.reason_code, x.channel, x.agent_id, x.amount_fen < 0)
        rows[key] += 1
        fen[key] += x.amount_fen
    rebuilt = totals([(*key, n, fen[key]) for key, n in rows.items()])
    assert fields(rebuilt) == fields(live)
