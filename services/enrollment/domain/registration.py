"""Registering a person for a region and coverage year: the checks before the policy, then the policy.

Order of the checks (the first that fails is the refusal, with its reason):
already registered here → covered by employee insurance → paid in another
region → no evidence of place → students at their school → the policy itself
(place against hukou/residence permit, special kinds such as newborns, windows).
The registration day stands in for the payment day: the answer says what the
person would owe and from when they would be covered if they paid today.

A refusal is kept, not only answered (`refusal`): who asked, for what, and why, so
that the office finds it in the person's record and the refusals can be counted.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import NamedTuple
from uuid import UUID

from services.enrollment.domain.history import NONE as NO_HISTORY
from services.enrollment.domain.history import History
from services.enrollment.domain.policy_view import Question, Statuses, ask, reason_texts
from shared.codes import LABEL, EnrollmentKind
from shared.policy import PolicyError, load_pack
from shared.regions import name_of

STUDENT_KINDS = frozenset({EnrollmentKind.SCHOOL_STUDENT.value, EnrollmentKind.UNIVERSITY_STUDENT.value})
LIVE_STATES = frozenset({"registered", "paid", "covered"})
PAID_STATES = frozenset({"paid", "covered"})


@dataclass(frozen=True)
class Request:
    person_id: str
    region: str
    year: int
    kind: str
    registered_on: date
    hukou_region: str | None = None
    residence_region: str | None = None
    school_region: str | None = None
    event_date: date | None = None
    enrolled_years: tuple[int, ...] = ()            # declared: earlier years with basic medical cover
    zero_reimbursement_years: tuple[int, ...] = ()  # declared: covered years with nothing reimbursed


@dataclass(frozen=True)
class EmployeeCover:
    region: str
    insured_from: date
    insured_to: date | None

    def active_on(self, day: date) -> bool:
        return self.insured_from <= day and (self.insured_to is None or self.insured_to >= day)

    def overlaps(self, start: date, end: date) -> bool:
        return self.insured_from <= end and (self.insured_to is None or self.insured_to >= start)


@dataclass(frozen=True)
class Facts:
    """What the store knows about the person when the request arrives."""

    in_baseline: bool = False                      # in this region's household register
    states: dict[str, str] = field(default_factory=dict)  # region -> state of this year's enrollment
    employee: tuple[EmployeeCover, ...] = ()
    statuses: Statuses = ()
    history: History = NO_HISTORY  # what is kept and seen, with what this request declares


@dataclass(frozen=True)
class Decision:
    outcome: str                 # registered | already | refused
    reason_code: str | None = None
    reasons: tuple[str, ...] = ()
    hukou_region: str | None = None
    due_fen: int | None = None
    benefit_start: date | None = None
    benefit_end: date | None = None
    path: str | None = None

    @property
    def accepted(self) -> bool:
        return self.outcome != "refused"


def refused(code: str, *reasons: str) -> Decision:
    return Decision("refused", code, tuple(reasons))


def decide(req: Request, facts: Facts) -> Decision:
    here = facts.states.get(req.region)
    if here in LIVE_STATES:
        return Decision("already", reasons=(f"已于本统筹区登记{req.year}年度参保（状态：{here}），不重复登记",))
    for cover in facts.employee:
        if cover.active_on(req.registered_on):
            return refused("employee_insured", f"该人员自{cover.insured_from}起参加职工医保，"
                           "不能同时参加居民医保；职工医保中断后请按职工医保断保人员登记")
    elsewhere = sorted(r for r, s in facts.states.items() if r != req.region and s in PAID_STATES)
    if elsewhere:
        return refused("enrolled_elsewhere", f"该人员{req.year}年度已在{name_of(elsewhere[0])}（{elsewhere[0]}）参保缴费，"
                       "不能重复参保；如已迁居，请先在原参保地办理终止参保")
    hukou = req.hukou_region or (req.region if facts.in_baseline else None)
    student = req.kind in STUDENT_KINDS
    if student:
        school = _school_refusal(req)
        if school:
            return school
    elif not (hukou or req.residence_region):
        return refused("place_unknown", "不在本统筹区户籍底册中，也未提供户籍地或居住证所在地，无法核验参保地")
    return _ask_policy(req, facts, hukou)


def _school_refusal(req: Request) -> Decision | None:
    label = LABEL[EnrollmentKind(req.kind)]
    if not req.school_region:
        return refused("school_unknown", f"{label}在学校所在地参保：请提供学校所在地（school_region）")
    try:
        covers = load_pack(req.region, req.year).covers(req.school_region)
    except PolicyError as e:
        return refused("policy_error", e.message)
    if not covers:
        return refused("school_place", f"{label}应在学校所在地参保：学校在{name_of(req.school_region)}，"
                       f"不在{name_of(req.region)}")
    return None


def _ask_policy(req: Request, facts: Facts, hukou: str | None) -> Decision:
    question = Question(
        person_id=req.person_id, region=req.region, year=req.year, kind=req.kind, payment_date=req.registered_on,
        event_date=req.event_date, hukou_region=hukou, residence_region=req.residence_region,
        statuses=facts.statuses, history=facts.history,
    )
    try:
        a = ask(question)
    except PolicyError as e:
        return refused("policy_error", e.one_line())
    if not a.allowed:
        code = next((r.code for r in reversed(a.reasons)), "policy_refused")
        return refused(code, *reason_texts(a))
    return Decision("registered", reasons=tuple(reason_texts(a)), hukou_region=hukou, due_fen=a.due_fen,
                    benefit_start=a.benefit_start, benefit_end=a.benefit_end, path=a.path)


class Refusal(NamedTuple):
    """A refused registration as kept: a row of `registration_refusal`, its fields the columns in order."""

    id: UUID
    person_id: str
    region: str
    year: int
    kind: str
    hukou_region: str | None
    residence_region: str | None
    school_region: str | None
    event_date: date | None
    registered_on: date
    line_no: int              # where it stood in the list asked (1 for a single registration)
    reason_code: str
    reasons: tuple[str, ...]
    requested_by: str         # the credential's holder


def refusal(req: Request, decision: Decision, *, refusal_id: UUID, line_no: int, by: str) -> Refusal:
    """The refusal to keep for a refused decision; what was declared is kept as asked (the hukou region as
    given, not as the register would fill it in), so the office sees what the agent entered."""
    if decision.outcome != "refused":
        raise ValueError(f"only a refusal is kept as one, not {decision.outcome!r}")
    return Refusal(refusal_id, req.person_id, req.region, req.year, req.kind, req.hukou_region, req.residence_region,
                   req.school_region, req.event_date, req.registered_on, line_no,
                   decision.reason_code or "refused", decision.reasons, by)


def tally(decisions: Iterable[Decision]) -> Counter[tuple[str, str]]:
    """How many of each (outcome, reason code) — the reason code empty unless refused; the counts add up to
    the number asked: count in = accepted (registered, already) + refused."""
    return Counter((d.outcome, (d.reason_code or "") if d.outcome == "refused" else "") for d in decisions)
