"""The refund order's steps: ordered → paid (by its own township) → confirmed, nothing else."""
from __future__ import annotations

import pytest

from services.subsidy.domain.refunds import RefundStepRefused, Refusal, advance


def test_the_steps_go_forward_one_at_a_time():
    assert advance("ordered", "paid", order_township="榴城镇", actor_township="榴城镇").to_state == "paid"
    assert advance("paid", "confirmed", order_township="榴城镇", actor_township=None).to_state == "confirmed"


@pytest.mark.parametrize(("current", "wanted", "kind"), [
    ("ordered", "confirmed", Refusal.CONFLICT), ("paid", "paid", Refusal.CONFLICT),
    ("confirmed", "paid", Refusal.CONFLICT), ("ordered", "cancelled", Refusal.UNKNOWN_STATE),
])
def test_a_step_out_of_order_is_refused(current, wanted, kind):
    with pytest.raises(RefundStepRefused) as err:
        advance(current, wanted, order_township="榴城镇", actor_township="榴城镇")
    assert err.value.kind == kind


def test_only_the_orders_township_may_mark_it_paid():
    with pytest.raises(RefundStepRefused, match="只能由该乡镇登记支付") as err:
        advance("ordered", "paid", order_township="榴城镇", actor_township="龙亢镇")
    assert err.value.kind == Refusal.NOT_YOURS
