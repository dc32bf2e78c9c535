"""Decide each receipt of a batch: accepted, rejected with a reason, or a duplicate to ignore.

Pure: everything known about earlier receipts and dues is passed in, and the
decisions come back in the batch's order. Receipts of one batch see each other
(a replay inside the batch is a duplicate too).
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from shared.messages import ReceiptReceived

Verdict = Literal["accepted", "rejected", "duplicate"]
_ENVELOPE = {"message_id", "occurred_at", "schema_version"}


def payload_hash(receipt: ReceiptReceived) -> str:
    """Hash of the receipt's business content: a resend under a new message id hashes the same."""
    return hashlib.sha256(receipt.model_dump_json(exclude=_ENVELOPE).encode()).hexdigest()


@dataclass(frozen=True)
class Decision:
    receipt: ReceiptReceived
    payload_sha256: str
    verdict: Verdict
    reason_code: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class Known:
    """What the store holds for the receipt numbers of a batch."""

    hashes: dict[str, set[str]]          # receipt_no -> payload hashes seen (accepted or rejected)
    accepted: dict[str, str]              # receipt_no -> payload hash of its accepted receipt
    accepted_amount: dict[str, int]       # receipt_no -> amount of the accepted receipt
    dues: dict[tuple[str, int], int]      # (person_id, year) -> assessed due in fen


def _yuan(fen: int) -> str:
    return f"{fen / 100:.2f}"


def decide(
    receipts: list[ReceiptReceived], known: Known, standard_fen: Callable[[str, int], int | None]
) -> list[Decision]:
    hashes = {no: set(h) for no, h in known.hashes.items()}
    accepted = dict(known.accepted)
    accepted_amount = dict(known.accepted_amount)
    decisions = []
    for receipt in receipts:
        sha = payload_hash(receipt)
        decision = _decide_one(receipt, sha, hashes, accepted, accepted_amount, known.dues, standard_fen)
        decisions.append(decision)
        if decision.verdict != "duplicate":
            hashes.setdefault(receipt.receipt_no, set()).add(sha)
        if decision.verdict == "accepted":
            accepted[receipt.receipt_no] = sha
            accepted_amount[receipt.receipt_no] = receipt.amount_fen
    return decisions


def _decide_one(receipt, sha, hashes, accepted, accepted_amount, dues, standard_fen) -> Decision:
    def reject(code: str, reason: str) -> Decision:
        return Decision(receipt, sha, "rejected", code, reason)

    if sha in hashes.get(receipt.receipt_no, ()):
        return Decision(receipt, sha, "duplicate")
    if receipt.receipt_no in accepted:
        return reject("receipt_conflict", f"税票号{receipt.receipt_no}已有一张内容不同的已入账税票：不覆盖，请核查")
    standard = standard_fen(receipt.region, receipt.year)
    if standard is None:
        return reject("no_policy", f"统筹区{receipt.region}没有{receipt.year}年度的缴费政策")
    if receipt.amount_fen == 0:
        return reject("zero_amount", "金额为0")
    if receipt.amount_fen < 0:
        return _decide_reversal(receipt, sha, accepted_amount, reject)
    if receipt.original_receipt_no is not None:
        return reject("positive_reversal", "冲正税票金额应为负数")
    due = dues.get((receipt.person_id, receipt.year), standard)
    if receipt.amount_fen != due:
        return reject("amount_differs_from_due",
                      f"金额{_yuan(receipt.amount_fen)}元与核定应缴{_yuan(due)}元不符")
    return Decision(receipt, sha, "accepted")


def _decide_reversal(receipt, sha, accepted_amount, reject) -> Decision:
    original = receipt.original_receipt_no
    if original is None:
        return reject("negative_without_original", "负数金额但未指明被冲正的原税票号")
    if original not in accepted_amount:
        return reject("original_unknown", f"被冲正的原税票{original}不存在或未入账")
    if -receipt.amount_fen > accepted_amount[original]:
        return reject("reversal_exceeds_original",
                      f"冲正金额{_yuan(-receipt.amount_fen)}元超过原税票{_yuan(accepted_amount[original])}元")
    return Decision(receipt, sha, "accepted")
