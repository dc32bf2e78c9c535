"""The subsidy use cases' decisions in memory: facts in, events raised on the unit of work, rows to save out.

No database: `decide_cases` is the part of `reassess` between loading the facts and saving
the rows, and the quote's cache path opens no unit of work at all. Both run here on a
`MemoryUnitOfWork` against the real policy packs.
"""
from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest

from services.subsidy import usecases
from services.subsidy.cache import FIELDS, DueCache
from services.subsidy.domain.cases import REFUND_AFTER_SUBSIDY
from services.subsidy.store import Facts
from shared.db import text_set_id
from shared.messages import DueAssessed, EnrollmentPaid, RefundOrdered
from shared.resident_id import person_key
from shared.topics import DUE_ASSESSED, REFUND_ORDERED
from shared.uow import MemoryUnitOfWork
from tests.support.people import resident_id

HY = "340321"
NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)  # after the 2025 collection period: the unpaid are assessed on its last day


def person(person_id: str, *statuses: tuple[str, str], region: str = HY) -> dict[str, Any]:
    return {"person_id": person_id, "region": region, "township": "榴城镇",
            "statuses": [{"category": c, "certified_on": d, "ended_on": None} for c, d in statuses]}


def facts(*, people=(), payments=None, ordered=None, dues=None) -> Facts:
    by_person: dict[str, dict[str, Any]] = {}
    for p in people:  # one status set per person and region
        by_person.setdefault(p["person_id"], {})[p["region"]] = p
    return Facts(person=by_person, enrollment={}, payment=payments or {},
                 ordered=ordered or {}, due=dues or {})


def previous_due(event: DueAssessed) -> dict[str, Any]:
    """A stored due row as PostgreSQL gives it back (lines and reasons as JSON)."""
    return {**event.model_dump(mode="json", include={"region", "standard_fen", "subsidy_fen", "due_fen",
                                                      "refund_after_fen", "revision", "state", "reasons", "payer"}),
            "lines": [line.model_dump(mode="json") for line in event.lines]}


def decide(uow: MemoryUnitOfWork, keys, known: Facts, regions=None) -> usecases.Decided:
    return usecases.decide_cases(uow, keys, known, regions=regions or {}, source="test")


def raised(uow: MemoryUnitOfWork) -> list[tuple[str, str, Any]]:
    """The events raised, each as the model its consumers validate (a due goes out as JSON already)."""
    return [(topic, key, DueAssessed.model_validate_json(message) if topic == DUE_ASSESSED.name else message)
            for topic, key, message in uow.events]


def cached(due) -> dict[str, Any]:
    return json.loads(due.cached)


def test_a_first_due_is_revision_1_and_raised_once_per_person_year():
    someone = resident_id(HY)
    uow = MemoryUnitOfWork(now=NOW)
    decided = decide(uow, [(someone, 2025), (someone, 2025)], facts(people=[person(someone, ("minimum_living", "2024-10-08"))]))
    [row] = decided.dues
    assert (row.revision, row.state, row.due.due_fen, row.township) == (1, "active", 6000, "榴城镇")
    [(topic, key, event)] = raised(uow)
    assert (topic, key) == (DUE_ASSESSED.name, f"{person_key(someone)}:2025")
    assert (event.person_id, event.revision, event.due_fen, event.occurred_at) == (someone, 1, 6000, NOW)
    [current] = decided.current
    assert (current.person_id, current.year, current.revision) == (someone, 2025, 1)
    assert cached(current) == event.model_dump(mode="json", include=FIELDS)
    assert decided.refunds == [] and decided.unassessed == []


def test_the_same_money_again_is_no_new_revision_and_no_event_but_the_cache_gets_the_due():
    someone = resident_id(HY)
    known = facts(people=[person(someone, ("minimum_living", "2024-10-08"))])
    uow = MemoryUnitOfWork(now=NOW)
    decide(uow, [(someone, 2025)], known)
    [(_, _, first)] = raised(uow)
    stored = facts(people=[person(someone, ("minimum_living", "2024-10-08"))], dues={(someone, 2025): previous_due(first)})
    uow = MemoryUnitOfWork(now=NOW)
    decided = decide(uow, [(someone, 2025)], stored)
    assert uow.events == []
    assert [r.revision for r in decided.dues] == [1] and [e.revision for e in decided.current] == [1]


def test_a_due_decided_again_as_it_is_saved_is_not_written_again_but_is_cached():
    """The second decision of the same facts (a receipt, then the registration it brings) writes nothing; a
    change of township, reasons or payer's facts without a new revision is still written."""
    someone = resident_id(HY)
    known = [person(someone, ("minimum_living", "2024-10-08"))]
    uow = MemoryUnitOfWork(now=NOW)
    [row] = decide(uow, [(someone, 2025)], facts(people=known)).dues
    [(_, _, event)] = raised(uow)
    saved = {**previous_due(event), "township": row.township, "reasons_id": text_set_id(row.due.reasons),
             "payer": row.payer}
    again = decide(MemoryUnitOfWork(now=NOW), [(someone, 2025)], facts(people=known, dues={(someone, 2025): saved}))
    assert again.dues == [] and [(c.person_id, c.revision) for c in again.current] == [(someone, 1)]
    for changed in ({"township": "城关镇"}, {"reasons_id": text_set_id(("旧的说法",))}):
        stale = {**saved, **changed}
        decided = decide(MemoryUnitOfWork(now=NOW), [(someone, 2025)], facts(people=known, dues={(someone, 2025): stale}))
        assert [(r.revision, r.township) for r in decided.dues] == [(1, "榴城镇")], changed


def test_changed_money_is_the_next_revision():
    someone = resident_id(HY)
    first = MemoryUnitOfWork(now=NOW)
    decide(first, [(someone, 2025)], facts(people=[person(someone)]))
    [(_, _, before)] = raised(first)
    assert before.due_fen == 40000
    uow = MemoryUnitOfWork(now=NOW)
    decide(uow, [(someone, 2025)], facts(people=[person(someone, ("minimum_living", "2024-10-08"))],
                                         dues={(someone, 2025): previous_due(before)}))
    assert [(e.revision, e.due_fen) for _, _, e in raised(uow)] == [(2, 6000)]


def test_paid_in_full_under_pay_first_refund_later_orders_the_refund_with_its_event():
    veteran = resident_id(HY)
    paid = {(veteran, 2025): {"paid_fen": 40000, "first_paid_at": datetime(2024, 10, 15, 1, 30, tzinfo=UTC),
                              "region": HY}}
    uow = MemoryUnitOfWork(now=NOW)
    decided = decide(uow, [(veteran, 2025)], facts(people=[person(veteran, ("entitled_veteran", "2024-09-20"))],
                                                   payments=paid))
    [order] = decided.refunds
    assert (order.amount_fen, order.reason, order.funding_source, order.township) == (40000, REFUND_AFTER_SUBSIDY,
                                                                                      "finance", "榴城镇")
    assert [topic for topic, _, _ in uow.events] == [DUE_ASSESSED.name, REFUND_ORDERED.name]
    _, key, message = uow.events[1]
    assert isinstance(message, RefundOrdered) and key == person_key(veteran)
    assert (message.refund_id, message.amount_fen, message.person_id) == (order.refund_id, 40000, veteran)
    again = MemoryUnitOfWork(now=NOW)
    decide(again, [(veteran, 2025)], facts(people=[person(veteran, ("entitled_veteran", "2024-09-20"))], payments=paid,
                                           ordered={(veteran, 2025, REFUND_AFTER_SUBSIDY): 40000}))
    assert [topic for topic, _, _ in again.events] == [DUE_ASSESSED.name]


def test_no_region_known_is_skipped_and_the_triggering_events_region_is_the_fallback():
    stranger = resident_id(HY)
    uow = MemoryUnitOfWork(now=NOW)
    assert decide(uow, [(stranger, 2025)], facts()).dues == [] and uow.events == []
    decided = decide(uow, [(stranger, 2025)], facts(), regions={(stranger, 2025): HY})
    assert [(r.region, r.due.due_fen) for r in decided.dues] == [(HY, 40000)]


def test_a_person_the_rules_cannot_judge_is_kept_with_the_reason_and_raises_nothing():
    someone = resident_id("110101")
    uow = MemoryUnitOfWork(now=NOW)
    decided = decide(uow, [(someone, 2025)], facts(people=[person(someone, region="110101")]))
    [kept] = decided.unassessed
    assert (kept.person_id, kept.region) == (someone, "110101") and "没有110101的政策包" in kept.reason
    assert decided.dues == [] and uow.events == []


async def test_enrollment_events_other_than_registered_or_ended_touch_nothing():
    uow = MemoryUnitOfWork(now=NOW)  # no connection: any store call would fail
    paid = EnrollmentPaid(message_id=uuid4(), occurred_at=NOW, person_id=resident_id(HY), region=HY, year=2025,
                          receipt_no="334000000000000001", amount_fen=40000, paid_total_fen=40000)
    await usecases.record_enrollments(uow, [paid])
    await uow.commit()
    assert uow.events == [] and uow.committed


class Cached(DueCache):
    def __init__(self, entries: dict[str, str]) -> None:
        super().__init__(None, "")
        object.__setattr__(self, "entries", entries)

    async def get_raw(self, person_id: str, year: int) -> str | None:
        return self.entries.get(person_id)


def no_unit_of_work():
    raise AssertionError("a cached quote opens no unit of work")


async def test_a_cached_quote_is_the_cache_text_for_its_region_and_another_regions_is_refused():
    mine, theirs = resident_id(HY), resident_id("610900")
    cached = Cached({mine: json.dumps({"region": HY, "due_fen": 6000}),
                     theirs: json.dumps({"region": "610900", "due_fen": 20000})})
    answer = await usecases.quote(no_unit_of_work, cached, mine, 2025, HY)
    assert (answer.source, json.loads(answer.cached)) == ("cache", {"region": HY, "due_fen": 6000})
    with pytest.raises(usecases.NotInRegion) as refused:
        await usecases.quote(no_unit_of_work, cached, theirs, 2025, HY)
    assert refused.value.foreign


def test_a_due_event_written_as_text_is_what_pydantic_writes_for_the_validated_event():
    """The due's event is written as JSON directly (due_json.py: thousands per batch): a consumer validates it back
    field for field — statuses, history and subsidy lines included — and pydantic writes that model byte for byte
    as it was sent."""
    someone = resident_id(HY)
    known = facts(people=[person(someone, ("minimum_living", "2024-10-08"), ("extreme_poverty", "2024-11-02"))])
    uow = MemoryUnitOfWork(now=NOW)
    decide(uow, [(someone, 2025)], known)
    [(_, _, sent)] = uow.events
    again = DueAssessed.model_validate_json(sent)
    assert again.model_dump_json().encode() == sent and again.payer is not None
    assert [s.category for s in again.payer.statuses] == ["minimum_living", "extreme_poverty"]
