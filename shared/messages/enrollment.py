"""Messages of enrollment: one person's enrollment lifecycle on `enrollment.events`."""
from __future__ import annotations

from datetime import date
from typing import Annotated, Literal, Union

from pydantic import Field

from shared.messages.envelope import Envelope, Fen, RegionCode, ResidentIdStr


class _EnrollmentEvent(Envelope):
    person_id: ResidentIdStr
    region: RegionCode
    year: int = Field(ge=2000, le=2100, description="Coverage year.")
    township: str | None = Field(None, description="乡镇(街道) from the population baseline.")
    village: str | None = Field(None, description="村(社区) from the population baseline.")


class EnrollmentRegistered(_EnrollmentEvent):
    """The person is registered for the year with a kind of enrollment."""

    event_type: Literal["enrollment.registered"] = "enrollment.registered"
    kind: str = Field("general", description="Enrollment kind (DOMAIN.md §9).")


class EnrollmentPaid(_EnrollmentEvent):
    """An accepted receipt paid the person's contribution for the year."""

    event_type: Literal["enrollment.paid"] = "enrollment.paid"
    receipt_no: str
    amount_fen: Fen
    paid_total_fen: Fen = Field(description="Everything accepted for this person and year so far.")


class EnrollmentEnded(_EnrollmentEvent):
    """The enrollment ended (death, employee insurance, moved region)."""

    event_type: Literal["enrollment.ended"] = "enrollment.ended"
    reason: str = Field(examples=["death"])
    ended_on: date


EnrollmentEvent = Annotated[
    Union[EnrollmentRegistered, EnrollmentPaid, EnrollmentEnded], Field(discriminator="event_type")
]


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
