"""What the rules decided, with the reasons a village worker can read.

Money is integer fen; `public_json` adds the CNY figures (`due`, `standard` …)
that `yibao quote` prints.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.codes import Category, EnrollmentKind, FundingSource, Mode, RefundReason


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Reason(_Frozen):
    code: str
    text: str
    rule: str


class SubsidyLine(_Frozen):
    category: Category | None
    basis: Literal["status", "kind"]
    amount_fen: int
    funding_source: FundingSource
    mode: Mode


class Provisional(_Frozen):
    """A figure this assessment used that the documents do not give: a default awaiting the county."""

    setting: str
    what: str = Field(description="the setting in words, e.g. 紫阳县资助标准")
    awaiting: str = Field(description="who must fill in the real figure")
    why: str


class RefundDecision(_Frozen):
    reason: RefundReason
    eligible: bool
    amount_fen: int


class Assessment(_Frozen):
    region: str
    pooling_region: str
    year: int
    pack: str
    kind: EnrollmentKind
    path: str | None
    allowed: bool
    standard_fen: int
    surcharge_fen: int
    subsidy_total_fen: int
    due_fen: int
    refund_after_fen: int
    subsidies: tuple[SubsidyLine, ...]
    benefit_start: date | None
    benefit_end: date | None
    waiting_months: int
    waiting_days: int
    critical_illness_cap_adjustment_fen: int
    refund: RefundDecision | None
    reasons: tuple[Reason, ...]
    provisional: tuple[Provisional, ...] = Field((), description="provisional defaults (暂定) the decision rests on; "
                                                 "empty when every figure used is the documents' or a settled default")

    def public_json(self) -> dict[str, Any]:
        """The JSON `yibao quote` prints: fen fields plus the same money in CNY."""
        out = self.model_dump(mode="json")
        for field in ("standard", "surcharge", "subsidy_total", "due", "refund_after", "critical_illness_cap_adjustment"):
            out[field] = cny(out[f"{field}_fen"])
        for line in out["subsidies"]:
            line["amount"] = cny(line["amount_fen"])
        if out["refund"]:
            out["refund"]["amount"] = cny(out["refund"]["amount_fen"])
        return out


def cny(fen: int) -> int | float:
    """40000 → 400, 6050 → 60.5: a JSON number, integral when it can be."""
    value = Decimal(fen) / 100
    return int(value) if value == value.to_integral_value() else float(value)
