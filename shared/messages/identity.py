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
    subtype: str | None = Field(
        None, description="监测类型 of a poverty_monitoring status: unstable_lifted (脱贫不稳定户), marginal_at_risk "
        "(边缘易致贫户) or sudden_hardship (突发严重困难户); null when the department did not say or for other categories.",
        examples=["marginal_at_risk"])


class StatusChanged(Envelope):
    """identity.status-changed — keyed by person: the full current set after any change."""

    event_type: Literal["identity.status-changed"] = "identity.status-changed"
    person_id: ResidentIdStr
    region: RegionCode
    township: str | None = Field(None, description="乡镇(街道) as the department reported it.", examples=["榴城镇"])
    village: str | None = Field(None, description="村(社区) as the department reported it.", examples=["城关村"])
    statuses: list[CertifiedStatus] = Field(description="Every status of the person in this region, current and ended.")


class SubmittedRecord(BaseModel):
    """One row of a department's list as its system streams it. Values are checked by identity
    certification row by row (a bad ID or date rejects that row with a reason, not the message)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str = Field(description="公民身份号码.", examples=["34032119800101001X"])
    category: str = Field(description="Category code or its Chinese name.", examples=["minimum_living"])
    certified_on: str | None = Field(None, description="认定时间 (2024-11-05, 2024/11/5, 2024年11月5日, 20241105).")
    ended_on: str | None = Field(None, description="退出时间, same spellings.")
    township: str | None = None
    village: str | None = None


class RecordsSubmitted(Envelope):
    """identity.records-submitted.<department> — a department system's whole delta or snapshot for a region and month.

    Posted on the department's own topic, the only one its principal may write: the topic is
    what proves the department. The message id is the submission id (the row-level result is
    downloaded by it); a larger list is uploaded as a file instead."""

    event_type: Literal["identity.records-submitted"] = "identity.records-submitted"
    department: str = Field(examples=["civil_affairs"], description=(
        "Must be the department whose topic carries the message: a list in another department's name is refused."))
    region: RegionCode
    # A month of this century: "0000-01" passed `\d{4}`, and a snapshot's end date in year 0 raised inside the
    # handler, so the batch was retried for ever behind it; refused here, it is dead-lettered with its reason.
    period: str = Field(pattern=r"^20[0-9]{2}-(0[1-9]|1[0-2])$", examples=["2024-11"])
    mode: Literal["delta", "snapshot"] = "delta"
    categories: list[str] = Field(default_factory=list, description="Snapshot scope (default: the categories listed).")
    rows: list[SubmittedRecord] = Field(max_length=20_000)
