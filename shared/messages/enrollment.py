"""Messages of enrollment: one person's enrollment lifecycle on `enrollment.events`."""
from __future__ import annotations

from datetime import date
from typing import Annotated, Literal
from uuid import UUID

from pydantic import Field

from shared.messages.envelope import Envelope, Fen, RegionCode, ResidentIdStr


class _EnrollmentEvent(Envelope):
    person_id: ResidentIdStr
    region: RegionCode
    year: int = Field(ge=2000, le=2100, description="Coverage year.")
    township: str | None = Field(None, description="乡镇(街道) from the population baseline.")
    village: str | None = Field(None, description="村(社区) from the population baseline.")


class EnrollmentRegistered(_EnrollmentEvent):
    """The person is registered for the year with a kind of enrollment.

    With `funded_by` set the person owes nothing (资助参保: the whole contribution is subsidised) and is
    enrolled without a receipt, as if paid; `enrollment.covered` follows when the benefit window begins.
    Announced again without `funded_by` when the subsidy no longer covers everything before the benefit
    start: the person is then only registered and owes `expected_due_fen`."""

    event_type: Literal["enrollment.registered"] = "enrollment.registered"
    kind: str = Field("general", description="Enrollment kind (DOMAIN.md §9).")
    expected_due_fen: Fen | None = Field(None, description="What the policy says is due if paid on the registration "
                                         "day; for a due the subsidy service assessed, that due.")
    funded_by: str | None = Field(None, examples=["medical_assistance"], description="The funding source(s) paying "
                                  "the whole contribution of a fully subsidised person (due 0, enrolled without a "
                                  "receipt); None when the person pays.")
    # Added without a new schema version: both optional, and an older consumer ignores them (extra="ignore").
    event_date: date | None = Field(None, description="The day of the event the kind turns on: employee-insurance "
                                    "lapse, discharge, release, entry into a child-welfare institution …; none for general.")
    registered_on: date | None = Field(None, description="The registration day (China): the payment day the "
                                       "registration was judged on, and the due's day when the event falls after "
                                       "the collection period.")
    enrolled_years: list[int] = Field(default_factory=list, description="Earlier years with basic medical cover "
                                      "(declared and seen): with the gap before this year they decide the wait.")
    paid_back_years: list[int] = Field(default_factory=list, description="Gap years paid back (补缴).")


class EnrollmentPaid(_EnrollmentEvent):
    """An accepted receipt paid the person's contribution for the year."""

    event_type: Literal["enrollment.paid"] = "enrollment.paid"
    receipt_no: str
    amount_fen: Fen
    paid_total_fen: Fen = Field(description="Everything accepted for this person and year so far.")
    kind: str | None = Field(None, description="Enrollment kind (DOMAIN.md §9); general when never registered.")
    benefit_start: date | None = Field(None, description="First day of cover the policy gives this payment.")
    benefit_end: date | None = Field(None, description="Last day of cover for the year.")
    waiting_months: int = Field(0, description="Waiting period (months) inside benefit_start.")
    waiting_days: int = Field(0, description="Waiting period (days) inside benefit_start.")
    critical_illness_cap_adjustment_fen: int = Field(0, description="大病保险最高支付限额 raised (continuity, zero "
                                                     "reimbursement) or cut (after a lapse) for the year.")


class EnrollmentPaidBack(_EnrollmentEvent):
    """A gap year paid back (补缴) to repair the waiting period of the enrollment of `year` (seed 004 L108).

    The receipt pays for `gap_year`, not for `year`'s cover: it books the money to the gap year and
    gives the enrollment of `year` its new benefit window when that was not yet covered."""

    event_type: Literal["enrollment.paid-back"] = "enrollment.paid-back"
    receipt_no: str
    amount_fen: Fen
    gap_year: int = Field(ge=2000, le=2100)
    benefit_start: date | None = Field(None, description="The enrollment's benefit start after the repair.")
    waiting_months: int = 0
    waiting_days: int = 0


class EnrollmentCovered(_EnrollmentEvent):
    """The benefit window began: the paid enrollment now gives cover (待遇享受期开始)."""

    event_type: Literal["enrollment.covered"] = "enrollment.covered"
    benefit_start: date
    benefit_end: date


class EnrollmentEnded(_EnrollmentEvent):
    """The enrollment ended (death, employee insurance, moved region)."""

    event_type: Literal["enrollment.ended"] = "enrollment.ended"
    reason: str = Field(examples=["death"], description="death, employee_insurance, other_region (moved or "
                        "enrolled elsewhere), duplicate_payment.")
    ended_on: date
    duplicate_case_id: UUID | None = Field(None, description="Set when a duplicate case ended it.")


class EnrollmentDuplicateFound(_EnrollmentEvent):
    """Two valid paid enrollments overlap (two regions, or resident + employee insurance); the priority
    rule (employee > university student > place of residence) says which one the person keeps.

    Published for the region whose enrollment is dropped (`region`); `kept` names the other side."""

    event_type: Literal["enrollment.duplicate-found"] = "enrollment.duplicate-found"
    case_id: UUID
    kept: str = Field(description="The enrollment kept: a region code, or 'employee_insurance'.")
    rule: str = Field(examples=["employee_first"], description="Which step of the priority rule decided.")
    explanation: str


EnrollmentEvent = Annotated[
    EnrollmentRegistered | EnrollmentPaid | EnrollmentPaidBack | EnrollmentCovered | EnrollmentEnded
    | EnrollmentDuplicateFound,
    Field(discriminator="event_type"),
]


class _RefundDecision(Envelope):
    refund_id: UUID
    person_id: ResidentIdStr
    region: RegionCode
    year: int = Field(ge=2000, le=2100, description="Coverage year.")
    reason: str = Field(examples=["other_region"], description="death, duplicate_payment, employee_insurance, other_region.")
    requested_on: date
    township: str | None = None
    duplicate_case_id: UUID | None = None


class EnrollmentRefundOrdered(_RefundDecision):
    """enrollment.refund-ordered — the personal payment is paid back; the enrollment ends (before benefit start)."""

    event_type: Literal["enrollment.refund-ordered"] = "enrollment.refund-ordered"
    amount_fen: Fen
    explanation: str


class EnrollmentRefundRefused(_RefundDecision):
    """enrollment.refund-refused — the policy refuses the refund (e.g. asked after the benefit start), with why."""

    event_type: Literal["enrollment.refund-refused"] = "enrollment.refund-refused"
    explanation: str = Field(examples=["2025-02-01申请时待遇享受期已于2025-01-01开始，个人缴费不再退回"])


RefundDecided = Annotated[EnrollmentRefundOrdered | EnrollmentRefundRefused, Field(discriminator="event_type")]


class PersonBaselined(Envelope):
    """population.baseline — compacted, keyed by person: one person of the population baseline.

    Published by whoever imports the baseline (enrollment's baseline import); reconciliation
    counts these people as the denominator of coverage per village and township."""

    event_type: Literal["population.baselined"] = "population.baselined"
    person_id: ResidentIdStr
    region: RegionCode
    township: str | None = Field(None, description="乡镇(街道).")
    village: str | None = Field(None, description="村(社区).")
    name: str | None = Field(None, description="Name, for the follow-up lists of village workers.")
    source: str = Field("public_security", description="Where the list comes from.")
