"""The life of a refund order: ordered → paid (by the township) → confirmed (by the agency).

Pure: `advance` checks that a step is allowed and by whom, and names what went
wrong in words the clerk can act on. The township that pays must be the order's
own township, so one township cannot mark another's refunds paid.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

NEXT: dict[str, str] = {"ordered": "paid", "paid": "confirmed"}
LABEL: dict[str, str] = {"ordered": "已下单", "paid": "乡镇已支付", "confirmed": "医保经办已确认"}


class Refusal(StrEnum):
    """Why a step is refused: the caller's entry point decides how to say so (HTTP status, exit code)."""

    UNKNOWN_STATE = "unknown_state"  # the wanted state is not one of the order's states
    CONFLICT = "conflict"            # the order's current state does not allow the step
    NOT_YOURS = "not_yours"          # the step is the order's own township's to take


class RefundStepRefused(ValueError):
    """A step the order's state or the actor does not allow; `kind` says which."""

    def __init__(self, message: str, kind: Refusal) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind


@dataclass(frozen=True)
class Step:
    from_state: str
    to_state: str


def advance(current: str, wanted: str, *, order_township: str | None, actor_township: str | None) -> Step:
    """The step from `current` to `wanted`, or RefundStepRefused."""
    if wanted not in LABEL:
        raise RefundStepRefused(f"未知的退费单状态「{wanted}」，可用：paid（乡镇已支付）、confirmed（经办已确认）",
                                Refusal.UNKNOWN_STATE)
    if current == wanted:
        raise RefundStepRefused(f"退费单已是「{LABEL[current]}」状态，无需重复操作", Refusal.CONFLICT)
    if NEXT.get(current) != wanted:
        expected = NEXT.get(current)
        hint = f"下一步只能是「{LABEL[expected]}」" if expected else "已办结，不能再变更"
        raise RefundStepRefused(f"退费单当前为「{LABEL[current]}」，不能改为「{LABEL[wanted]}」：{hint}", Refusal.CONFLICT)
    if wanted == "paid" and order_township is not None and actor_township != order_township:
        raise RefundStepRefused(f"该退费单属于{order_township}，只能由该乡镇登记支付", Refusal.NOT_YOURS)
    return Step(current, wanted)
