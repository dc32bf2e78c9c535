"""The refund order's steps: ordered → paid (by its own township) → confirmed, nothing else."""
from __future__ import annotations

import pytest

from services.subsidy.domain.refunds import RefundStepRefused, advance


def test_the_steps_go_forward_one_at_a_time():
    assert advance("ordered", "paid", order_township="榴城镇", actor_township="榴城镇").to_state == "paid"
    assert advance("paid", "confirmed", order_township="榴城镇", actor_township=None).to_state == "confirmed"


@pytest.mark.parametrize(("current", "wanted", "status"), [
    ("ordered", "confirmed", 409), ("paid", "paid", 409), ("confirmed", "paid", 409), ("ordered", "cancelled", 422),
])
def test_a_step_out_of_order_is_refused(current, wanted, status):
    with pytest.raises(RefundStepRefused) as err:
        advance(current, wanted, order_township="榴城镇", actor_township="榴城镇")
    assert err.value.status == status


def test_only_the_orders_township_may_mark_it_paid():
    with pytest.raises(RefundStepRefused, match="只能由该乡镇登记支付") as err:
        advance("ordered", "paid", order_township="榴城镇", actor_township="龙亢镇")
    assert err.value.status == 403
