"""Messages of payment ingest: receipts as the tax gateway sends them, and the verdicts."""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import ConfigDict, Field

from shared.codes import PaymentChannel
from shared.messages.envelope import Envelope, Fen, RegionCode, ResidentIdStr

# 征收品目: the year's contribution, or a gap year paid back (补缴) to repair the waiting period (seed 004 L108).
ReceiptItem = Literal["resident_medical_insurance", "resident_medical_insurance_payback"]
PAYBACK: ReceiptItem = "resident_medical_insurance_payback"


class ReceiptReceived(Envelope):
    """payment.receipt-received — one tax receipt (电子税票) as the gateway streams it.

    Unknown fields are refused: the gateway's contract is exact."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_type: Literal["payment.receipt-received"] = "payment.receipt-received"
    receipt_no: str = Field(min_length=6, max_length=40, description="电子税票号码.", examples=["334032124000000001"])
    person_id: ResidentIdStr
    region: RegionCode
    year: int = Field(ge=2000, le=2100, description="所属期: the coverage year paid for.", examples=[2025])
    item: ReceiptItem = Field(
        "resident_medical_insurance", description="征收品目: 城乡居民基本医疗保险; `…_payback`: a gap year paid back "
        "(补缴, `year` is the gap year) to repair the waiting period where the region's policy allows it."
    )
    amount_fen: int = Field(description="Amount in fen; negative only for a reversal.", examples=[40000])
    channel: PaymentChannel = Field(examples=["wechat"])
    agent_id: str | None = Field(None, max_length=40, description="Collecting village agent (村居代收), if any.")
    paid_at: datetime = Field(description="When the money was paid.")
    original_receipt_no: str | None = Field(
        None, description="For a reversal (cancelled payment, refund paid out): the receipt it reverses."
    )


class ReceiptAccepted(Envelope):
    """payment.receipt-accepted — a validated, de-duplicated receipt recorded as paid."""

    event_type: Literal["payment.receipt-accepted"] = "payment.receipt-accepted"
    receipt_no: str
    person_id: ResidentIdStr
    region: RegionCode
    year: int
    amount_fen: Fen
    channel: PaymentChannel
    agent_id: str | None = None
    paid_at: datetime
    original_receipt_no: str | None = None
    item: ReceiptItem = Field("resident_medical_insurance", description="A payback (补缴) pays for a gap year "
                              "(`year`): it repairs the waiting period of the person's enrollment, it is no "
                              "payment for that year's cover.")

    @property
    def payback(self) -> bool:
        return self.item == PAYBACK


class ReceiptRejected(Envelope):
    """payment.receipt-rejected — a receipt refused, with a reason a person can act on."""

    event_type: Literal["payment.receipt-rejected"] = "payment.receipt-rejected"
    receipt_no: str | None
    person_key: str | None = Field(None, description="Pseudonymous person key; the ID itself is not repeated here.")
    region: str | None = None
    year: int | None = None
    amount_fen: int | None = None
    reason_code: str = Field(examples=["amount_differs_from_due"])
    reason: str = Field(examples=["金额 380.00 元与核定应缴 400.00 元不符"])
