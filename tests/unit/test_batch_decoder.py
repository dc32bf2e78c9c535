"""The batch decoder: valid records become models, the rest are set aside with a reason; a batch is validated in
one call unless a record in it is not valid."""
import asyncio
import json
from types import SimpleNamespace
from uuid import uuid4

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from shared.kafka import all_at_once, batch_decoder, one_by_one
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


# -- one call per batch -------------------------------------------------------------------------------------------

_VALID = [json.dumps(receipt(resident_id(seq=n), 40000 + n)).encode() for n in range(3)]
# Records a batch can hold that are not one valid receipt: each must send the batch to one_by_one, and a
# joined array must never let them pass as valid receipts or shift the others' verdicts.
_NOT_ONE = [
    b"", b"  ", b"null", b"[", b"]", b"{", b"}", b",", b"[]", b"{}",
    _VALID[0] + b"," + _VALID[1],  # two events in one record
    _VALID[0][:40], _VALID[0][40:],  # the halves of one
    _VALID[0] + b",", b"," + _VALID[1], b"[" + _VALID[2] + b"]",
    json.dumps({**receipt(resident_id(), 40000), "person_id": "110105194912310021"}).encode(),
]


async def test_a_valid_batch_is_decoded_in_one_call_and_a_bad_record_anywhere_falls_back():
    many = TypeAdapter(list[ReceiptReceived])
    decoded = all_at_once(many, _VALID)
    assert [r.amount_fen for r in decoded] == [40000, 40001, 40002]
    assert all_at_once(many, []) == []
    for bad in _NOT_ONE:
        for at in range(len(_VALID) + 1):
            assert all_at_once(many, _VALID[:at] + [bad] + _VALID[at:]) is None, (bad, at)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(range(len(_VALID) + len(_NOT_ONE))), max_size=8))
def test_the_batch_decoder_gives_what_one_record_at_a_time_gives(picks):
    """Whatever mixture a batch holds: the same valid events in the same order, the same records set aside."""
    values = [(_VALID + _NOT_ONE)[i] for i in picks]
    message = SimpleNamespace(raw_message=tuple(record(n, v) for n, v in enumerate(values)))
    decoded = asyncio.run(batch_decoder(ReceiptReceived)(message))
    expected, unreadable = one_by_one(TypeAdapter(ReceiptReceived), message.raw_message)
    assert decoded == expected
    assert [(u.offset, u.reason) for u in message.unreadable] == [(u.offset, u.reason) for u in unreadable]
    assert len(decoded) + len(message.unreadable) == len(values)  # each record in exactly one bucket
