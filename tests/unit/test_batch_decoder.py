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


async def test_event_types_passed_over_are_not_decoded_and_the_rest_are():
    """Subsidy acts on registrations and endings of enrollment.events, not on the payments that are nearly all
    of it at the peak: those are passed over undecoded. A record whose type is spelled otherwise (spaces), or
    whose text merely mentions the type inside a string, is decoded as ever."""
    from datetime import UTC, date, datetime

    from services.subsidy.usecases import NOT_FACTS
    from shared.messages.enrollment import EnrollmentEnded, EnrollmentEvent, EnrollmentPaid

    person, now = resident_id(), datetime(2024, 10, 8, tzinfo=UTC)
    paid = EnrollmentPaid(message_id=uuid4(), occurred_at=now, person_id=person, region="340321", year=2025,
                          receipt_no="R1", amount_fen=40000, paid_total_fen=40000, kind="general")
    ended = EnrollmentEnded(message_id=uuid4(), occurred_at=now, person_id=person, region="340321", year=2025,
                            reason="death", ended_on=date(2025, 3, 1),
                            township='"event_type":"enrollment.paid"')  # a field's text: its quotes escaped
    spaced = json.dumps(json.loads(paid.model_dump_json()), separators=(", ", ": ")).encode()
    message = SimpleNamespace(raw_message=(
        record(0, paid.model_dump_json().encode()), record(1, ended.model_dump_json().encode()), record(2, spaced)))
    decoded = await batch_decoder(EnrollmentEvent, NOT_FACTS)(message)
    assert [type(e) for e in decoded] == [EnrollmentEnded, EnrollmentPaid]
    assert message.unreadable == []
