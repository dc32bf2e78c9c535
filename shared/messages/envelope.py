"""The envelope every message carries: a unique id, when it happened, and its schema version."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from shared.resident_id import InvalidResidentId, valid_resident_id


class Envelope(BaseModel):
    """Base of every event. Internal events ignore unknown fields so that a newer
    producer does not break an older consumer; `schema_version` says which shape."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    message_id: UUID = Field(description="Unique per message: the idempotency key of every consumer's inbox.")
    occurred_at: datetime = Field(description="When the fact happened (UTC, ISO 8601).")
    schema_version: int = Field(1, ge=1, description="Version of this message's shape.")


def _check_resident_id(value: str) -> str:
    try:
        return valid_resident_id(value)
    except InvalidResidentId as err:
        raise ValueError(err.reason) from None


ResidentIdStr = Annotated[
    str,
    StringConstraints(min_length=18, max_length=18),
    AfterValidator(_check_resident_id),
    Field(description="18-character resident ID (GB 11643), check character verified.", examples=["34032119800101001X"]),
]
RegionCode = Annotated[
    str,
    StringConstraints(pattern=r"^\d{6}$"),
    Field(description="6-digit GB/T 2260 region code of the pooling region.", examples=["340321"]),
]
Fen = Annotated[int, Field(description="Amount in fen (1/100 CNY).", examples=[40000])]
