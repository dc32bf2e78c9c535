"""Messages of the subsidy service: the assessed due per person and year, refund orders."""
from __future__ import annotations

from datetime import date
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shared.messages.envelope import Envelope, Fen, RegionCode, ResidentIdStr


class SubsidyLine(BaseModel):
    """One subsidy granted towards the contribution, with who pays it and how."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    category: str = Field(examples=["minimum_living"])
    amount_fen: Fen
    funding_source: str = Field(examples=["medical_assistance"])
    mode: Literal["net", "refund_after"] = Field(
        description="net: the tax side collects only the person's share (同缴同补); "
        "refund_after: the person pays in full and the township refunds (先缴后补)."
    )


class StatusFact(BaseModel):
    """A certified status as the rules read it (the department and submission are not needed to judge a payment)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    category: str = Field(examples=["minimum_living"])
    certified_on: date
    ended_on: date | None = None


class PayerFacts(BaseModel):
    """The facts about the person that the policy reads to judge a payment on any day: the tax side judges each
    receipt with them and the receipt's own date, not as a general resident's (a 双清 employee-insurance lapse
    pays 400 within 90 days of the lapse, where a general resident outside the period pays 1,070)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    kind: str = Field("general", description="Enrollment kind (DOMAIN.md §9).")
    event_date: date | None = Field(None, description="The event the kind turns on (lapse, discharge, birth …).")
    statuses: tuple[StatusFact, ...] = Field((), description="Every status of the person in the due's region.")
    enrolled_years: tuple[int, ...] = Field((), description="Earlier years with basic medical cover.")
    paid_back_years: tuple[int, ...] = Field((), description="Gap years paid back (补缴) to repair the wait.")

    @property
    def plain(self) -> bool:
        """A general resident with no status and no history: every such payer is judged alike."""
        return self.kind == "general" and not self.statuses and not self.enrolled_years and not self.paid_back_years


class DueAssessed(Envelope):
    """subsidy.due-assessed — compacted, keyed by person and year: what the tax side collects."""

    event_type: Literal["subsidy.due-assessed"] = "subsidy.due-assessed"
    person_id: ResidentIdStr
    region: RegionCode
    year: int = Field(ge=2000, le=2100, description="Coverage year.", examples=[2025])
    standard_fen: Fen = Field(description="The individual contribution before subsidy.")
    subsidy_fen: Fen = Field(description="All subsidy lines added up.")
    due_fen: Fen = Field(description="What the person pays through the tax channels.")
    refund_after_fen: Fen = Field(0, description="Part of the due refunded after payment (先缴后补).")
    lines: list[SubsidyLine] = Field(default_factory=list)
    revision: int = Field(ge=1, description="Grows with every reassessment of this person and year.")
    reasons: list[str] = Field(default_factory=list, description="Why, in words a village worker reads.")
    state: Literal["active", "ended"] = Field(
        "active", description="ended: the enrollment ended, nothing more is collected (due_fen 0)."
    )
    # Added without a new schema version: optional, and an older consumer ignores it (extra="ignore").
    payer: PayerFacts | None = Field(None, description="What the rules read about the person: the tax side judges "
                                     "each receipt by them on the receipt's own date. A new revision when they change.")


def newest_per_person_year(dues: list[DueAssessed] | tuple[DueAssessed, ...]) -> list[DueAssessed]:
    """The newest revision of each person-year among `dues`.

    subsidy.due-assessed is compacted and consumers see redeliveries: an older revision
    arriving later must never replace a newer one, inside a batch as across batches."""
    latest: dict[tuple[str, int], DueAssessed] = {}
    for due in dues:
        key = (due.person_id, due.year)
        if key not in latest or latest[key].revision < due.revision:
            latest[key] = due
    return list(latest.values())


class RefundOrdered(Envelope):
    """subsidy.refund-ordered — money to pay back to a person, and who pays it."""

    event_type: Literal["subsidy.refund-ordered"] = "subsidy.refund-ordered"
    refund_id: UUID
    person_id: ResidentIdStr
    region: RegionCode
    year: int
    amount_fen: Fen
    reason: str = Field(examples=["refund_after_subsidy"])
    funding_source: str | None = None
    township: str | None = None
