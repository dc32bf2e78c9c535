"""A stateful property test of the receipt stream (payment ingest's pure decide()), fed batch after batch.

Hypothesis drives a gateway that sends new receipts, exact resends (same or new message
id), changed payloads under a known number, reversals (full, partial, too large, of
unknown receipts) and wrong amounts, in batches of any size and in any mix. A model
keeps what the store would hold between batches. After every batch:
count in = accepted + rejected + duplicate; each verdict is the model's; no number is
accepted twice; no original is reversed beyond its amount; net money = the model's.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from services.payment_ingest.domain.receipts import Known, decide
from services.payment_ingest.domain.windows import Window
from shared.messages import ReceiptReceived
from tests.support.people import resident_id

STANDARD = 40_000
PAID = datetime(2024, 11, 5, 10, 0, tzinfo=timezone(timedelta(hours=8)))


class OpenWindows:
    """Every day open, no subsidised path: the amount must be the standard (the pack's own rules are
    tested elsewhere; here the stream semantics are)."""

    def window(self, region: str, year: int, paid_at: datetime) -> Window:
        return Window(open=True, subsidised=False, general_due_fen=STANDARD)


def receipt(no: str, amount: int, person: str, original: str | None = None, channel: str = "wechat") -> dict:
    return {"receipt_no": no, "person_id": person, "region": "340321", "year": 2025, "amount_fen": amount,
            "channel": channel, "paid_at": PAID, "original_receipt_no": original}


def message(payload: dict, message_id: uuid.UUID | None = None) -> ReceiptReceived:
    return ReceiptReceived(message_id=message_id or uuid.uuid4(), occurred_at=PAID, **payload)


class ReceiptStream(RuleBasedStateMachine):
    @initialize()
    def start(self) -> None:
        self.pending: list[tuple[ReceiptReceived, str]] = []       # the next batch, with the expected verdict
        self.payloads: dict[str, set[str]] = {}                    # receipt_no -> payloads seen (the store)
        self.accepted: dict[str, int] = {}                         # receipt_no -> accepted amount
        self.reversed: dict[str, int] = {}                         # original -> fen reversed so far
        self.sent: list[tuple[ReceiptReceived, dict]] = []         # accepted positive receipts, for resends
        self.net_fen = 0
        self.model_net_fen = 0
        self.n = 0

    # ------------------------------------------------------------ what the gateway sends

    def _expect(self, payload: dict) -> str:
        """The model's verdict, given the store and the receipts already queued in this batch."""
        key = repr(sorted((k, str(v)) for k, v in payload.items()))
        no = payload["receipt_no"]
        if key in self.payloads.get(no, set()):
            return "duplicate"  # an exact replay of anything seen, accepted or rejected
        known_number = no in self.payloads
        self.payloads.setdefault(no, set()).add(key)
        if known_number:
            return "rejected"  # a different payload under a known number: a conflict
        amount, original = payload["amount_fen"], payload["original_receipt_no"]
        if amount < 0:
            left = self.accepted.get(original, 0) - self.reversed.get(original, 0)
            if original is None or self.accepted.get(original, 0) <= 0 or -amount > left:
                return "rejected"
            self.reversed[original] = self.reversed.get(original, 0) - amount
        elif amount != STANDARD:
            return "rejected"
        self.accepted[no] = amount
        self.model_net_fen += amount
        return "accepted"

    def _queue(self, payload: dict, message_id: uuid.UUID | None = None) -> ReceiptReceived:
        m = message(payload, message_id)
        self.pending.append((m, self._expect(payload)))
        return m

    @rule()
    def new_receipt(self) -> None:
        self.n += 1
        payload = receipt(f"R{self.n:08d}", STANDARD, resident_id("340321"))
        self.sent.append((self._queue(payload), payload))

    @rule(amount=st.sampled_from([0, 1, 38_000, 40_001, 80_000]))
    def wrong_amount(self, amount: int) -> None:
        self.n += 1
        self._queue(receipt(f"R{self.n:08d}", amount, resident_id("340321")))

    @rule(data=st.data(), same_id=st.booleans())
    def resend(self, data, same_id: bool) -> None:
        if self.sent:
            m, payload = data.draw(st.sampled_from(self.sent))
            self._queue(payload, m.message_id if same_id else None)

    @rule(data=st.data())
    def changed_payload(self, data) -> None:
        if self.sent:
            _, payload = data.draw(st.sampled_from(self.sent))
            self._queue({**payload, "channel": "bank" if payload["channel"] != "bank" else "alipay"})

    @rule(data=st.data(), part=st.sampled_from([STANDARD, STANDARD // 2, 1, STANDARD + 1]), known=st.booleans())
    def reversal(self, data, part: int, known: bool) -> None:
        self.n += 1
        if known and self.sent:
            _, original = data.draw(st.sampled_from(self.sent))
            self._queue(receipt(f"R{self.n:08d}", -part, original["person_id"], original["receipt_no"]))
        else:
            self._queue(receipt(f"R{self.n:08d}", -part, resident_id("340321"), original=None if known else "NOPE0001"))

    # ------------------------------------------------------------ the service consumes a batch

    @rule()
    def consume_batch(self) -> None:
        if not self.pending:
            return
        batch, self.pending = self.pending, []
        # what store.load_known would give: hashes per number, accepted amounts, reversed sums (before the batch)
        known = Known(hashes={no: set(h) for no, h in self._store_hashes.items()},
                      accepted_amount=dict(self._store_accepted), reversed_fen=dict(self._store_reversed))
        decisions = decide([m for m, _ in batch], known, OpenWindows())
        assert len(decisions) == len(batch)  # count in = accepted + rejected + duplicate
        for decision, (m, expected) in zip(decisions, batch):
            assert decision.verdict == expected, (m.receipt_no, m.amount_fen, decision.verdict, decision.reason)
            if decision.verdict == "rejected":
                assert decision.reason and decision.reason_code
            if decision.verdict != "duplicate":
                self._store_hashes.setdefault(m.receipt_no, set()).add(decision.payload_sha256)
            if decision.verdict == "accepted":
                assert m.receipt_no not in self._store_accepted, "a receipt number accepted twice"
                self._store_accepted[m.receipt_no] = m.amount_fen
                self.net_fen += m.amount_fen
                if m.original_receipt_no:
                    self._store_reversed[m.original_receipt_no] = (
                        self._store_reversed.get(m.original_receipt_no, 0) - m.amount_fen)

    @initialize()
    def empty_store(self) -> None:
        self._store_hashes: dict[str, set[str]] = {}
        self._store_accepted: dict[str, int] = {}
        self._store_reversed: dict[str, int] = {}

    @invariant()
    def money_and_reversals_hold(self) -> None:
        if not self.pending:
            assert self.net_fen == self.model_net_fen
        for original, fen in getattr(self, "_store_reversed", {}).items():
            assert fen <= self._store_accepted.get(original, 0), "reversed beyond the original"


ReceiptStream.TestCase.settings = settings(max_examples=60, stateful_step_count=40, deadline=None,
                                           suppress_health_check=[HealthCheck.too_slow])
test_receipt_stream = ReceiptStream.TestCase
