"""Messages of reconciliation: discrepancies between receipts, enrollments, dues and banks."""
from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import Field

from shared.messages.envelope import Envelope


class DiscrepancyFound(Envelope):
    event_type: Literal["reconciliation.discrepancy-found"] = "reconciliation.discrepancy-found"
    discrepancy_id: UUID
    region: str
    year: int
    kind: str = Field(examples=["amount_differs_from_due"])
    person_key: str | None = None
    receipt_no: str | None = None
    amount_fen: int | None = None
    detail: str
