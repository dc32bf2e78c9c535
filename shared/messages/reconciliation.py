"""Messages of reconciliation: discrepancies between receipts, enrollments, dues and banks."""
from __future__ import annotations

from datetime import date
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
    person_masked: str | None = Field(None, description="The resident ID masked (340321**********1X).")
    township: str | None = Field(None, description="乡镇(街道) of the person, when known.")
    run_day: date | None = Field(None, description="The business day of the run that first found it.")
