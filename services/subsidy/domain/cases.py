"""What to do for one person and year, given everything known about them: pure.

A *case* gathers the facts the other services announced — certified statuses,
the enrollment (kind, its event date and registration day, registered or ended),
the accepted payments and the refunds already ordered. `decide` turns it into the current due and any refund
now owed. Which statuses count after a payment, and whether their subsidy is
refunded, is the region's pack's switch (`status_rules.after_payment`,
`count_certified_by`, `refund_certified_by`, the subsidy's `mode`): nothing here
names a region.

The rules are those of the stored packs (`shared.policy.memo.STORED`), unless a caller hands in a
memo of its own (`policy=`): a what-if decides the same cases under an amended pack that way.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from services.subsidy.domain.dues import Due, assessment_date, scenario_data
from shared.codes import LABEL, Mode, RefundReason
from shared.policy import Assessment
from shared.policy.memo import STORED, Memo
from shared.resident_id import InvalidResidentId, birth_date_of

REFUND_AFTER_SUBSIDY = "refund_after_subsidy"  # 先缴后补: the subsidised part, once the person paid in full
_LABEL_OF_CODE: dict[str, str] = {str(code): text for code, text in LABEL.items()}  # the labels by their wire code


@dataclass(frozen=True)
class Enrollment:
    kind: str
    state: Literal["registered", "ended"]
    ended_on: date | None = None
    end_reason: str | None = None
    event_date: date | None = None      # what the kind turns on: lapse, entry, discharge … (enrollment.registered)
    registered_on: date | None = None   # the registration day, in China


@dataclass(frozen=True)
class Case:
    person_id: str
    year: int
    region: str
    township: str | None
    statuses: tuple[dict[str, Any], ...] = ()  # category, certified_on, ended_on (as identity announced them)
    enrollment: Enrollment | None = None
    paid_fen: int = 0                        # accepted receipts added up (reversals are negative)
    first_paid_on: date | None = None        # day of the first positive accepted receipt
    ordered_fen: dict[str, int] = field(default_factory=dict)  # refunds already ordered, by reason
    enrolled_years: frozenset[int] = frozenset()   # earlier years with cover (the registration's history)
    paid_back_years: frozenset[int] = frozenset()  # gap years paid back

    @property
    def has_paid(self) -> bool:
        return self.paid_fen > 0 and self.first_paid_on is not None


@dataclass(frozen=True)
class RefundDue:
    amount_fen: int
    reason: str
    funding_source: str | None
    text: str


@dataclass(frozen=True)
class Decision:
    due: Due
    state: Literal["active", "ended"]
    refunds: tuple[RefundDue, ...] = ()


def decide(case: Case, today: date, policy: Memo = STORED) -> Decision:
    """The due and any refund owed now, by `policy`'s packs. Raises PolicyError when the facts cannot be judged."""
    e = case.enrollment
    if e and e.state == "ended":
        return _ended(case, e, policy)
    paid_on = case.first_paid_on if case.has_paid and case.first_paid_on else assessment_date(
        case.region, case.year, today, not_before=_first_payable(case), registered_on=e.registered_on if e else None,
        policy=policy)
    # An event after the payment bought nothing for it (as enrollment's benefit window reads it): the payment
    # is judged without it rather than refused as an impossible order of dates.
    event = e.event_date if e and e.event_date and e.event_date <= paid_on else None
    due = Due.from_assessment(policy.assess(scenario_data(
        case.person_id, case.region, case.year, case.statuses, paid_on, kind=e.kind if e else "general",
        event_date=event, enrolled_years=sorted(case.enrolled_years),
        paid_back_years=sorted(case.paid_back_years - case.enrolled_years))))
    refund = _refund_after(case, due)
    if refund is None:
        return Decision(due, "active")
    return Decision(_with_reason(due, refund.text), "active", (refund,))


def due_on(case: Case, day: date) -> Assessment:
    """What the person owes for the year if they pay on `day` (the tax gateway's question at the counter): the
    rules on that day with everything known of them. Someone who has paid already is told the current due.
    Raises PolicyError when the facts cannot be judged."""
    e = case.enrollment
    if case.has_paid and case.first_paid_on is not None:
        day = case.first_paid_on
    event = e.event_date if e and e.event_date and e.event_date <= day else None
    return STORED.assess(scenario_data(case.person_id, case.region, case.year, case.statuses, day,
                                       kind=e.kind if e and e.state == "registered" else "general", event_date=event,
                                       enrolled_years=sorted(case.enrolled_years),
                                       paid_back_years=sorted(case.paid_back_years - case.enrolled_years)))


def _first_payable(case: Case) -> date | None:
    """For a registered person, the first day they could pay for it: not before the event their kind turns on,
    nor before birth (a newborn). None for someone only known by a status: nothing was registered for a later
    day, so they are judged as everyone is (and a birth after the period stays unassessable, with its reason)."""
    e = case.enrollment
    if e is None or e.state != "registered":
        return None
    try:
        born: date | None = birth_date_of(case.person_id)
    except InvalidResidentId:  # the engine refuses the ID with its reason
        born = None
    days = [d for d in (born, e.event_date) if d is not None]
    return max(days) if days else None


def _refund_after(case: Case, due: Due) -> RefundDue | None:
    """先缴后补: once the receipts cover the due, the subsidised part not yet ordered is refunded."""
    if not case.has_paid or case.paid_fen < due.due_fen or due.refund_after_fen == 0:
        return None
    ordered = case.ordered_fen.get(REFUND_AFTER_SUBSIDY, 0)
    owed = due.refund_after_fen - ordered
    if owed <= 0:
        return None
    source = next((src for (_cat, _amt, src, mode) in due.lines if mode == Mode.REFUND_AFTER), None)
    text = (f"已缴费{case.paid_fen / 100:g}元，先缴后补：应退补{due.refund_after_fen / 100:g}元，"
            f"已下退费单{ordered / 100:g}元，本次下退费单{owed / 100:g}元（由{_funding_label(source)}承担）")
    return RefundDue(owed, REFUND_AFTER_SUBSIDY, source, text)


def _ended(case: Case, enrollment: Enrollment, policy: Memo) -> Decision:
    """Nothing more is collected and no further 先缴后补 refund is ordered (the policy: 尚未退补的先缴后补资助
    不再发放). Paying back the personal contribution is enrollment's refund decision, not ours."""
    when = enrollment.ended_on.isoformat() if enrollment.ended_on else "近日"
    text = f"参保关系已于{when}终止（{_label(enrollment.end_reason)}），停止核定与征收；个人缴费是否退还由参保登记按退费规则办理"
    stopped = Due(policy.pack(case.region, case.year).money.individual_contribution, 0, 0, 0, (), (text,))
    return Decision(stopped, "ended")


def _funding_label(source: str | None) -> str | None:
    return None if source is None else _LABEL_OF_CODE.get(source, source)


def _label(code: str | None) -> str:
    if not code:
        return "未说明原因"
    try:
        return LABEL[RefundReason(code)]
    except ValueError:
        return code


def _with_reason(due: Due, *texts: str) -> Due:
    return Due(due.standard_fen, due.subsidy_fen, due.due_fen, due.refund_after_fen, due.lines,
               due.reasons + tuple(texts))
