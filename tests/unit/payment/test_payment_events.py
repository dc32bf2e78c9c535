"""The events payment ingest writes without building models are exactly the wire models' shape."""
from __future__ import annotations

import json
from datetime import UTC, datetime
from uuid import UUID

from hypothesis import given
from hypothesis import strategies as st

from services.payment_ingest.domain.receipts import Decision, payload_hash
from services.payment_ingest.events import accepted_event, rejected_event
from shared.messages import ReceiptAccepted, ReceiptReceived, ReceiptRejected
from shared.resident_id import person_key
from tests.support.people import receipt, resident_id

NOW = datetime(2024, 12, 1, 8, tzinfo=UTC)


def test_an_accepted_event_validates_as_receipt_accepted_with_every_field():
    r = ReceiptReceived.model_validate(receipt(resident_id(), -40000, channel="village_agent", agent_id="A-1",
                                               original_receipt_no="330000000000000001"))
    out = accepted_event(Decision(r, payload_hash(r), "accepted"), NOW.isoformat())
    event = ReceiptAccepted.model_validate_json(out.message)
    assert out.key == person_key(r.person_id)
    assert event.model_dump(exclude={"message_id"}) == {
        "occurred_at": NOW, "schema_version": 1, "event_type": "payment.receipt-accepted",
        "receipt_no": r.receipt_no, "person_id": r.person_id, "region": "340321", "year": 2025,
        "amount_fen": -40000, "channel": "village_agent", "agent_id": "A-1", "paid_at": r.paid_at,
        "original_receipt_no": "330000000000000001", "item": "resident_medical_insurance"}


def test_a_rejected_event_carries_the_reason_and_no_resident_id():
    r = ReceiptReceived.model_validate(receipt(resident_id(), 38000))
    out = rejected_event(Decision(r, payload_hash(r), "rejected", "amount_differs_from_due", "金额380.00元与政策标准400.00元不符"),
                         NOW.isoformat())
    event = ReceiptRejected.model_validate_json(out.message)
    assert (event.reason_code, event.reason, event.person_key) == (
        "amount_differs_from_due", "金额380.00元与政策标准400.00元不符", person_key(r.person_id))
    assert r.person_id not in out.message.decode()
    assert json.loads(out.message)["message_id"] != json.loads(accepted_event(Decision(r, payload_hash(r), "accepted"), "x").message)["message_id"]


def test_the_event_id_is_derived_from_the_receipt_and_differs_by_verdict():
    r = ReceiptReceived.model_validate(receipt(resident_id(), 40000))
    other = ReceiptReceived.model_validate(receipt(resident_id(), 40000))
    accepted = [json.loads(accepted_event(Decision(r, payload_hash(r), "accepted"), t).message)["message_id"]
                for t in ("a", "b")]
    rejected = json.loads(rejected_event(Decision(r, payload_hash(r), "rejected", "x", "y"), "a").message)["message_id"]
    elsewhere = json.loads(accepted_event(Decision(other, payload_hash(other), "accepted"), "a").message)["message_id"]
    assert accepted[0] == accepted[1], "the same receipt announces itself under the same id"
    assert len({accepted[0], rejected, elsewhere}) == 3
    assert {UUID(i).version for i in (accepted[0], rejected, elsewhere)} == {8}


_FREE_TEXT = st.text(min_size=6, max_size=40)  # any characters: quotes, backslashes, controls, CJK, emoji


@given(receipt_no=_FREE_TEXT, agent_id=st.none() | st.text(max_size=40), original=st.none() | _FREE_TEXT,
       amount=st.integers(-10**12, 10**12), reason=st.text(max_size=200))
def test_events_written_as_text_parse_back_to_every_field_whatever_the_free_text(receipt_no, agent_id, original,
                                                                                amount, reason):
    """The events are built as text, not by a model: free-text fields must be escaped, never break the JSON."""
    r = ReceiptReceived.model_validate(receipt(resident_id(), amount, receipt_no=receipt_no, channel="village_agent",
                                               agent_id=agent_id, original_receipt_no=original))
    accepted = ReceiptAccepted.model_validate_json(accepted_event(Decision(r, payload_hash(r), "accepted"),
                                                                  NOW.isoformat()).message)
    assert (accepted.receipt_no, accepted.agent_id, accepted.original_receipt_no, accepted.amount_fen,
            accepted.paid_at, accepted.occurred_at) == (receipt_no, agent_id, original, amount, r.paid_at, NOW)
    rejected = ReceiptRejected.model_validate_json(rejected_event(
        Decision(r, payload_hash(r), "rejected", "amount_differs_from_due", reason), NOW.isoformat()).message)
    assert (rejected.receipt_no, rejected.reason, rejected.amount_fen) == (receipt_no, reason, amount)
