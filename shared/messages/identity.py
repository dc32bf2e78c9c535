"""Messages of identity certification: a person's current set of certified statuses."""
from __future__ import annotations

from datetime import date
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shared.messages.envelope import Envelope, RegionCode, ResidentIdStr


class CertifiedStatus(BaseModel):
    """One status a department certified for the person, with its validity window."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    category: str = Field(description="Canonical category code (DOMAIN.md §9).", examples=["minimum_living"])
    department: str = Field(description="The department that certified it.", examples=["civil_affairs"])
    certified_on: date = Field(description="Date the status was certified (认定时间).")
    ended_on: date | None = Field(None, description="Date the status ended (退出时间); null while it holds.")
    submission_id: UUID | None = Field(None, description="The department submission it came from.")


class StatusChanged(Envelope):
    """identity.status-changed — keyed by person: the full current set after any change."""

    event_type: Literal["identity.status-changed"] = "identity.status-changed"
    person_id: ResidentIdStr
    region: RegionCode
    township: str | None = Field(None, description="乡镇(街道) as the department reported it.", examples=["榴城镇"])
    village: str | None = Field(None, description="村(社区) as the department reported it.", examples=["城关村"])
    statuses: list[CertifiedStatus] = Field(description="Every status of the person, current and ended.")
