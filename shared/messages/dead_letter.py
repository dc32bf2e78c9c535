"""The dead-letter record: what could not be read, where it came from, and why.

The exact raw bytes stay in the consuming service's own `dead_letter` table (kept
with its access rules); the topic carries them with resident IDs masked, so that
the dead-letter topic is not a side door to personal data."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from shared.messages.envelope import Envelope


class DeadLettered(Envelope):
    event_type: Literal["dead-lettered"] = "dead-lettered"
    service: str = Field(examples=["payment_ingest"])
    source_topic: str
    partition: int
    offset: int
    raw_masked: str = Field(description="The raw bytes as text, resident IDs masked, cut at 4 KiB.")
    raw_sha256: str = Field(description="Hash of the exact raw bytes, to find them in the service's table.")
    reason: str
