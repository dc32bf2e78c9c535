"""The batch decoder: valid records become models, the rest are set aside with a reason."""
import json
from types import SimpleNamespace
from uuid import uuid4

from shared.kafka import batch_decoder
from shared.messages import ReceiptReceived
from tests.support.people import receipt, resident_id


def record(offset: int, value: bytes) -> SimpleNamespace:
    return SimpleNamespace(topic="payment.receipt-received", partition=3, offset=offset, value=value)


async def test_each_record_lands_in_exactly_one_bucket():
    good = receipt(resident_id(), 40000)
    bad_id = {**receipt(resident_id(), 40000), "person_id": "110105194912310021"}
    message = SimpleNamespace(raw_message=(
        record(0, json.dumps(good).encode()),
        record(1, b"\xff\xfe not json"),
        record(2, json.dumps(bad_id).encode()),
        record(3, json.dumps({**good, "message_id": str(uuid4()), "surprise": 1}).encode()),
    ))
    decoded = await batch_decoder(ReceiptReceived)(message)
    assert [r.receipt_no for r in decoded] == [good["receipt_no"]]
    unreadable = {u.offset: u for u in message.unreadable}
    assert set(unreadable) == {1, 2, 3}
    assert not unreadable[1].is_json and unreadable[1].reason == "not valid JSON"
    assert unreadable[2].is_json and "person_id" in unreadable[2].reason and "校验位" in unreadable[2].reason
    assert "110105194912310021" not in unreadable[2].reason  # reasons never echo the input
    assert "surprise" in unreadable[3].reason
