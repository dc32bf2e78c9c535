"""Enrollment's use cases, their decision part in memory: a `MemoryUnitOfWork` collects the events raised.

`apply_receipts` is what `mark_paid` decides once the store has answered, `registration.decide`
what `register` decides; both run here on in-memory enrollments, with no database.
"""
from __future__ import annotations

from datetime import UTC, date, datetime

from services.enrollment import store
from services.enrollment.domain import duplicates, lifecycle
from services.enrollment.domain.enrollment import Enrollment, Place
from services.enrollment.domain.registration import Request
from services.enrollment.usecases import registration
from services.enrollment.usecases.payments import apply_receipts
from shared.access import Caller
from shared.messages import ReceiptAccepted
from shared.resident_id import person_key
from shared.topics import ENROLLMENT_EVENTS
from shared.uow import MemoryUnitOfWork
from tests.support.people import receipt, resident_id

HY, SQ = "340321", "430502"
NOW = datetime(2024, 10, 20, 2, tzinfo=UTC)
OFFICE = Caller(HY, "agency", "怀远县医保中心")


def accepted(person: str, amount_fen: int, day: str, region: str = HY) -> ReceiptAccepted:
    paid_at = datetime.fromisoformat(day).replace(hour=10, tzinfo=UTC)
    return ReceiptAccepted.model_validate(receipt(person, amount_fen, region=region, paid_at=paid_at))


def test_a_first_receipt_enrolls_the_person_as_paid_and_each_receipt_is_announced():
    uow = MemoryUnitOfWork(now=NOW)
    person, stranger = resident_id(HY), resident_id(HY)
    receipts = [accepted(person, 20000, "2024-10-15"), accepted(person, 20000, "2024-10-16"),
                accepted(stranger, 40000, "2024-10-15")]
    rows: dict = {}
    touched, newly_paid = apply_receipts(uow, receipts, rows, {(person, HY): Place("榴城镇", "城关村")}, {})

    assert touched == newly_paid == {(person, HY, 2025), (stranger, HY, 2025)}
    mine = rows[(person, HY, 2025)]
    assert (mine.state, mine.paid_total_fen, mine.paid_on, mine.benefit_start) == (
        "paid", 40000, date(2024, 10, 15), date(2025, 1, 1))
    assert (mine.township, mine.hukou_region) == ("榴城镇", HY)       # the register places the person
    assert (rows[(stranger, HY, 2025)].township, rows[(stranger, HY, 2025)].hukou_region) == (None, None)
    assert [(e.topic, e.key) for e in uow.events] == [(ENROLLMENT_EVENTS.name, person_key(p))
                                                      for p in (person, person, stranger)]
    assert [(e.message.receipt_no, e.message.paid_total_fen) for e in uow.events] == [
        (receipts[0].receipt_no, 20000), (receipts[1].receipt_no, 40000), (receipts[2].receipt_no, 40000)]
    assert all(e.message.occurred_at == NOW for e in uow.events)


def test_a_receipt_for_an_enrollment_already_paid_adds_money_but_makes_nothing_newly_paid():
    uow = MemoryUnitOfWork(now=NOW)
    person = resident_id(HY)
    paid, _ = lifecycle.apply_payment(Enrollment(person, HY, 2025), 40000, datetime(2024, 10, 1, tzinfo=UTC), ())
    rows = {paid.key: paid}
    touched, newly_paid = apply_receipts(uow, [accepted(person, -40000, "2024-10-18")], rows, {}, {})
    assert (touched, newly_paid) == ({paid.key}, set())
    assert (rows[paid.key].state, rows[paid.key].paid_total_fen, rows[paid.key].benefit_start) == ("registered", 0, None)
    assert paid.state == "paid"   # the enrollment handed in is a value: unchanged
    assert [e.message.paid_total_fen for e in uow.events] == [0]


def request(person: str, **kw) -> Request:
    return Request(**{"person_id": person, "region": HY, "year": 2025, "kind": "general",
                      "registered_on": date(2024, 10, 10), **kw})


def test_a_bulk_list_sees_its_own_earlier_rows_and_only_registrations_are_announced():
    uow = MemoryUnitOfWork(now=NOW)
    listed, unknown, twice = resident_id(HY), resident_id(SQ), resident_id(HY)
    known = registration.Known(enrollments={}, places={(listed, HY): Place("榴城镇", "城关村")}, covers={},
                               statuses={})
    requests = [request(listed), request(unknown), request(twice, hukou_region=HY), request(twice, hukou_region=HY)]
    answers, changed = registration.decide(uow, OFFICE, requests, known)

    assert [(a.line_no, a.decision.outcome) for a in answers] == [
        (1, "registered"), (2, "refused"), (3, "registered"), (4, "already")]
    assert answers[1].decision.reason_code == "place_unknown"
    assert [(r.person_id, r.state, r.registered_by, r.village) for r in changed] == [
        (listed, "registered", "怀远县医保中心", "城关村"), (twice, "registered", "怀远县医保中心", None)]
    assert [(e.key, e.message.event_type, e.message.expected_due_fen) for e in uow.events] == [
        (person_key(listed), "enrollment.registered", 40000), (person_key(twice), "enrollment.registered", 40000)]


def test_registration_refuses_who_is_paid_in_another_region_this_year():
    uow = MemoryUnitOfWork(now=NOW)
    person = resident_id(HY)
    elsewhere, _ = lifecycle.apply_payment(Enrollment(person, SQ, 2025), 40000, datetime(2024, 10, 1, tzinfo=UTC), ())
    known = registration.Known(enrollments={elsewhere.key: elsewhere}, places={(person, HY): Place()}, covers={},
                               statuses={})
    answers, changed = registration.decide(uow, OFFICE, [request(person)], known)
    assert (answers[0].decision.reason_code, changed, uow.events) == ("enrolled_elsewhere", [], [])


def test_two_paid_regions_make_one_duplicate_that_drops_the_one_away_from_the_residence():
    person = resident_id(HY)
    at = datetime(2024, 10, 2, tzinfo=UTC)
    lives_in_sq = Enrollment(person, HY, 2025, hukou_region=HY, residence_region=SQ)
    home, _ = lifecycle.apply_payment(lives_in_sq, 40000, at, ())
    there, _ = lifecycle.apply_payment(lives_in_sq._replace(region=SQ), 40000, at.replace(month=11), ())
    found = duplicates.find({home.key: home, there.key: there}, {there.key}, {}, {})
    assert [(f.dropped, f.kept, f.resolution.rule, f.resolution.arose_on) for f in found] == [
        ((person, HY, 2025), (person, SQ, 2025), "residence", date(2024, 11, 2))]
    assert duplicates.find({there.key: there}, {there.key}, {}, {}) == []


def test_the_store_writes_each_field_of_an_enrollment_to_its_own_column():
    assert [name for name, _ in store.ENROLLMENT_COLUMNS] == list(Enrollment._fields)
