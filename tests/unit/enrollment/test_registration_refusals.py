"""Refused registrations kept, pure: the row a refusal becomes, the tally, and what `register` decides to keep.

Issue 13 point 8: a refusal was only answered; now each is kept with its reason and counted,
count in = accepted + refused. The use case's decision part runs on a `MemoryUnitOfWork`.
"""
from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from uuid import uuid4

import pytest

from services.enrollment import store
from services.enrollment.domain.enrollment import Place
from services.enrollment.domain.registration import Decision, Facts, Refusal, Request, decide, refusal, tally
from services.enrollment.usecases import registration
from shared.access import Caller
from shared.uow import MemoryUnitOfWork
from tests.support.people import resident_id

SQ = "430502"
NOW = datetime(2025, 3, 5, 2, tzinfo=UTC)
OFFICE = Caller(SQ, "agency", "双清区医保中心")


def request(person: str, **kw) -> Request:
    return Request(**{"person_id": person, "region": SQ, "year": 2025, "kind": "general",
                      "registered_on": date(2024, 11, 5), **kw})


def test_a_refusal_keeps_what_was_asked_as_declared_its_line_who_asked_and_why():
    person = resident_id(SQ)
    asked = request(person, kind="employee_lapse", hukou_region=None, residence_region=SQ,
                    registered_on=date(2025, 3, 5))
    decision = decide(asked, Facts())
    kept = refusal(asked, decision, refusal_id=(rid := uuid4()), line_no=7, by="村代办张三")
    assert kept == Refusal(rid, person, SQ, 2025, "employee_lapse", None, SQ, None, None, date(2025, 3, 5), 7,
                           "policy_error", decision.reasons, "村代办张三")
    assert "事件日期" in kept.reasons[0]   # the lapse day is what was missing (seed 003 L51)


def test_only_a_refused_decision_is_kept_as_a_refusal():
    person = resident_id(SQ)
    accepted = decide(request(person), Facts(in_baseline=True))
    assert accepted.outcome == "registered"
    with pytest.raises(ValueError, match="registered"):
        refusal(request(person), accepted, refusal_id=uuid4(), line_no=1, by="x")


def test_the_tally_adds_up_to_everything_asked_refusals_by_their_reason():
    decisions = [Decision("registered"), Decision("already"), Decision("refused", "place_unknown"),
                 Decision("refused", "place_unknown"), Decision("refused", "employee_insured"), Decision("registered")]
    counted = tally(decisions)
    assert counted == Counter({("registered", ""): 2, ("already", ""): 1, ("refused", "place_unknown"): 2,
                               ("refused", "employee_insured"): 1})
    assert sum(counted.values()) == len(decisions)


def test_register_keeps_the_refused_lines_of_a_bulk_list_and_registers_the_others():
    uow = MemoryUnitOfWork(now=NOW)
    listed, other, stranger = resident_id(SQ), resident_id(SQ), resident_id(SQ)
    places = {(p, SQ): Place("渡头桥镇", "渡头桥社区") for p in (listed, other)}
    known = registration.Known(enrollments={}, places=places, covers={}, statuses={})
    answers, changed = registration.decide(uow, OFFICE, [request(listed), request(stranger), request(other)], known)

    kept = registration.refusals(OFFICE, answers)
    assert [(r.person_id, r.line_no, r.reason_code, r.requested_by) for r in kept] == [
        (stranger, 2, "place_unknown", "双清区医保中心")]
    assert sorted(r.person_id for r in changed) == sorted([listed, other])
    assert len(answers) == len(changed) + len(kept)   # count in = accepted + refused


def test_the_store_writes_each_field_of_a_refusal_to_its_own_column():
    assert [name for name, _ in store.SAVE_REFUSALS.columns] == list(Refusal._fields)
