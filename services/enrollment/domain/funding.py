"""Fully subsidised people (资助参保): enrolled and covered without a receipt while their due stays 0.

DOMAIN.md §3: a person whose due is 0 — 特困, 孤儿 and 特困 children (HY L81-95), 双清区's
重度残疾 and 优抚 (SQ L59-67), children a welfare institution pays for (SQ L49) — owes the tax
side nothing, yet is enrolled and covered like everyone else: a fund pays, the full subsidy is
booked to it, and the person is never on a not-enrolled list. The subsidy service announces
each person's due (`subsidy.due-assessed`); `decide` says what it does to the person's
enrollment in the due's region. The rules, in the order they are checked:

1. a due the subsidy marks ended only echoes an enrollment that ended: nothing changes;
2. fully subsidised (active, nothing due, subsidy lines paying the whole contribution):
   - an ended enrollment stays ended, a paid one stays paid (the person paid: reconciliation
     finds what to refund), a funded one stays funded (its fund's name kept current);
   - otherwise (none yet, or registered) → **funded**: paid with no money of the person's on
     the day the fund pays (`funded_on`), with the benefit window the policy gives a payment
     that day; when the rules give no cover that day → **unfundable**, left as it was;
3. no longer fully subsidised (a status ended or was withdrawn, the kind or region changed)
   while the cover is funded:
   - the person paid money of their own on it → **kept** (their payment stands);
   - the benefit window has not begun on the day the new due was assessed → **withdrawn**:
     registered again, owing the new due. Before the start an enrollment may still be undone
     (the refund rule of all four seeds: HY L211-217, SQ L83-85), and the year's subsidy is
     what the collection-period statuses give (SQ L77; AK L52: 以缴费当年12月31日前认定结果为准);
   - it has begun → **kept**: nothing is undone once benefits run (same rule: 待遇享受期开始后
     不退; AK L52: 已享受的资助参保金额不调整), and the new due is written on it for the office.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal, NamedTuple

from services.enrollment.domain import lifecycle
from services.enrollment.domain.enrollment import Enrollment, Place
from services.enrollment.domain.history import History
from services.enrollment.domain.policy_view import Statuses
from shared.codes import LABEL, FundingSource
from shared.policy import PolicyError, load_pack
from shared.resident_id import birth_date_of

Change = Literal["none", "funded", "unfundable", "withdrawn", "kept"]


@dataclass(frozen=True, slots=True)
class Due:
    """What enrollment reads of one `subsidy.due-assessed`."""

    person_id: str
    region: str
    year: int
    standard_fen: int
    subsidy_fen: int
    due_fen: int
    state: str                          # active | ended
    funding_sources: tuple[str, ...]    # of the subsidy lines, in their order
    assessed_on: date                   # the day it was assessed, in China

    @property
    def fully_subsidised(self) -> bool:
        """Nothing to pay because subsidy lines pay it all — not a payment that buys no cover (due 0, no line)."""
        return (self.state == "active" and self.due_fen == 0 and bool(self.funding_sources)
                and self.subsidy_fen >= self.standard_fen > 0)

    @property
    def funded_by(self) -> str:
        return "+".join(dict.fromkeys(self.funding_sources))


class Step(NamedTuple):
    change: Change
    enrollment: Enrollment | None   # the enrollment after the due (None: there is none, nor should be)


def decide(e: Enrollment | None, due: Due, place: Place | None, statuses: Statuses,
           history: History | None = None) -> Step:
    """What `due` does to `e`, the person's enrollment of the due's region and year (None: there is none).
    `history`: the person's history of cover now, for an enrollment the fund pays (None: as `e` has it)."""
    if due.state == "ended":
        return Step("none", e)
    if due.fully_subsidised:
        return _fund(e, due, place, statuses, history)
    if e is None or not e.funded:
        return Step("none", e)
    return _after_rise(e, due)


def _fund(e: Enrollment | None, due: Due, place: Place | None, statuses: Statuses, history: History | None) -> Step:
    if e is not None and e.funded:
        return Step("none", e._replace(funded_by=due.funded_by))
    if e is not None and e.state != "registered":
        return Step("none", e)
    row = e or lifecycle.new(due.person_id, due.region, due.year, place)
    if history is not None:
        row = row.with_history(history)
    try:
        day = funded_on(row, due.assessed_on)
    except PolicyError as err:
        return _unfundable(e, (err.one_line(),))
    funded = lifecycle.fund(row, day, due.funded_by, statuses, _funded_text(due))
    if funded.benefit_start is None:  # the rules give no cover that day: nothing to enrol into
        return _unfundable(e, funded.policy_reasons)
    return Step("funded", funded)


def _unfundable(e: Enrollment | None, why: tuple[str, ...]) -> Step:
    """Left as it was; a registered enrollment keeps why the fund's payment bought no cover."""
    return Step("unfundable", None if e is None else _noted(e, *why))


def _noted(e: Enrollment, *why: str) -> Enrollment:
    """`e` with `why` first among its reasons, once: the same due told again adds nothing."""
    new = tuple(w for w in why if w not in e.policy_reasons)
    return e._replace(policy_reasons=(*new, *e.policy_reasons)) if new else e


def _after_rise(e: Enrollment, due: Due) -> Step:
    owed = f"{due.assessed_on}核定{due.year}年度应缴{_yuan(due.due_fen)}元"
    if e.paid_total_fen > 0:
        return Step("kept", _noted(e, f"{owed}（不再全额资助）；本人已缴{_yuan(e.paid_total_fen)}元，参保有效"))
    if e.benefit_start is not None and e.benefit_start <= due.assessed_on:
        return Step("kept", _noted(e, f"{owed}（不再全额资助）：待遇享受期已于{e.benefit_start}开始，本年度"
                                      "资助参保不变（待遇享受期开始后不退不改）；请核实资助身份变化"))
    start = f"待遇享受期（{e.benefit_start}起）尚未开始" if e.benefit_start else "待遇尚未开始"
    return Step("withdrawn", lifecycle.unfund(e, f"{owed}（不再全额资助）：{start}，撤销资助参保，"
                                                 "按核定金额缴费后参保"))


def funded_on(e: Enrollment, assessed_on: date) -> date:
    """The day the fund pays for the person, as the subsidy service judged the due (its `assessment_date`): the
    day it was assessed, inside the collection period (someone who has not paid is judged on the period's days,
    its last once it closed); for a registration made after that, or whose event (entry into a welfare
    institution, a lapse, a discharge …) or birth comes after it, the latest of the event, the birth and the
    registration day, on which the registration was judged.
    Raises PolicyError when the region has no pack for the year."""
    period = load_pack(e.region, e.year).collection_period
    day = min(max(assessed_on, period.start), period.end)
    if e.registered_on is None:  # known by its due only: judged on the period's days, as subsidy judges it
        return day
    born = birth_date_of(e.person_id)
    later = max(filter(None, (e.event_date, born, e.registered_on)))
    return later if later > day else day


def _funded_text(due: Due) -> str:
    who = "、".join(_label(s) for s in dict.fromkeys(due.funding_sources))
    return (f"全额资助参保：个人缴费{_yuan(due.standard_fen)}元由{who}全额资助，个人应缴0元，"
            "无需缴费即参保")


def _label(code: str) -> str:
    try:
        return LABEL[FundingSource(code)]
    except ValueError:
        return code


def _yuan(fen: int) -> str:
    return f"{fen / 100:g}"
