"""Messages of the subsidy service: the assessed due per person and year, refund orders."""
from __future__ import annotations

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
