"""Decide each receipt of a batch: accepted, rejected with a reason, or a duplicate to ignore.

Pure: everything known about earlier receipts and dues is passed in, with the
policy windows, and the decisions come back in the batch's order. Receipts of one
batch see each other (a replay inside the batch is a duplicate too, a reversal may
reverse a receipt accepted earlier in the same batch).

The rules, in the order they are checked (the first that fails is the reason):
 1. same receipt number and same payload as one seen before → duplicate, ignored and counted;
 2. a known receipt number with a different payload → conflict, rejected, never overwrites;
 3. the region and year have a policy pack;
 4. a village agent's cash receipt names its agent;
 5. the amount: zero refused; negative only as a reversal of an accepted receipt, never more
    than what is left of it; positive never points at an original;
 6. the local paid date lies in a period the pack allows for this payer (reversals exempt: refunds
    come later);
 7. the amount equals what this payer owes when paying on that day.
A payback (补缴 of a gap year, `_decide_payback`) is judged by the pack of the person's later
enrollment instead of 3, 6 and 7.
For 6 and 7 a payer the subsidy service has assessed is judged by their own facts (kind, event
date, statuses, history: `Payer.facts`) on the receipt's date — a 双清 employee-insurance lapse
pays 400 within 90 days of the lapse where a general resident outside the period pays 1,070.
Anyone else (not assessed yet, or assessed in another region) is judged as a general resident:
the day's window, and the assessed due when the day's path applies subsidies.
Schema and resident-ID checks happen before (the decoder); receipts the schema refuses are
recorded as rejected by the use case (usecases.py).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from hashlib import sha256
from typing import Literal, NamedTuple, Protocol

from services.payment_ingest.domain.windows import Window
from shared.messages import PayerFacts, ReceiptReceived
from shared.messages.payment import PAYBACK

Verdict = Literal["accepted", "rejected", "duplicate"]


class Windows(Protocol):
    def window(self, region: str, year: int, paid_at: datetime) -> Window: ...
    def for_payer(self, region: str, year: int, person_id: str, paid_at: datetime, facts: PayerFacts) -> Window: ...
    def payback_fen(self, region: str, year: int) -> int | None: ...


class Payer(NamedTuple):
    """A person-year's due as the subsidy service last assessed it, with the facts it was judged on."""

    region: str
    due_fen: int
    state: str = "active"            # ended: the enrollment ended, nothing more is collected
    facts: PayerFacts | None = None  # None: assessed before the facts travelled with the due


def payload_hash(receipt: ReceiptReceived) -> str:
    """Hash of the receipt's business content: a resend under a new message id hashes the same.

    The fields are joined in a fixed order (not the model's JSON, whose formatting may change
    with the library and would turn old replays into conflicts)."""
    r = receipt
    return sha256(f"{r.receipt_no}\x1f{r.person_id}\x1f{r.region}\x1f{r.year}\x1f{r.item}\x1f{r.amount_fen}\x1f"
                  f"{r.channel}\x1f{r.agent_id or ''}\x1f{r.paid_at.isoformat()}\x1f{r.original_receipt_no or ''}"
                  .encode()).hexdigest()


class Decision(NamedTuple):
    """One receipt's verdict (a named tuple: a batch builds thousands, a frozen dataclass cost 3× as much)."""

    receipt: ReceiptReceived
    payload_sha256: str
    verdict: Verdict
    reason_code: str | None = None
    reason: str | None = None


@dataclass
class Known:
    """What the store holds for the receipt numbers and people of a batch."""

    hashes: dict[str, set[str]] = field(default_factory=dict)      # receipt_no -> payload hashes seen
    accepted_amount: dict[str, int] = field(default_factory=dict)  # receipt_no -> amount of its accepted receipt
    reversed_fen: dict[str, int] = field(default_factory=dict)     # original receipt_no -> fen reversed so far
    dues: dict[tuple[str, int], Payer] = field(default_factory=dict)  # (person_id, year) -> the assessed due
    paid_back: set[tuple[str, int]] = field(default_factory=set)     # (person_id, gap year) paid back already


def _yuan(fen: int) -> str:
    return f"{fen / 100:.2f}"


def decide(receipts: list[ReceiptReceived], known: Known, windows: Windows) -> list[Decision]:
    seen = Known({no: set(h) for no, h in known.hashes.items()}, dict(known.accepted_amount),
                 dict(known.reversed_fen), known.dues, set(known.paid_back))
    decisions = []
    for receipt in receipts:
        sha = payload_hash(receipt)
        decision = _decide_one(receipt, sha, seen, windows)
        decisions.append(decision)
        if decision.verdict != "duplicate":
            seen.hashes.setdefault(receipt.receipt_no, set()).add(sha)
        if decision.verdict == "accepted":
            seen.accepted_amount[receipt.receipt_no] = receipt.amount_fen
            if receipt.original_receipt_no is not None:
                original = receipt.original_receipt_no
                seen.reversed_fen[original] = seen.reversed_fen.get(original, 0) - receipt.amount_fen
            elif receipt.item == PAYBACK:
                seen.paid_back.add((receipt.person_id, receipt.year))
    return decisions


def _decide_one(receipt: ReceiptReceived, sha: str, seen: Known, windows: Windows) -> Decision:
    def reject(code: str, reason: str) -> Decision:
        return Decision(receipt, sha, "rejected", code, reason)

    no = receipt.receipt_no
    if sha in seen.hashes.get(no, ()):
        return Decision(receipt, sha, "duplicate")
    if no in seen.hashes:
        return reject("receipt_conflict", f"税票号{no}已收到过内容不同的税票：不覆盖原记录，请与税务部门核查")
    # a payback's gap year needs no pack of its own (the later year's decides): no window for it
    window = None if receipt.item == PAYBACK else windows.window(receipt.region, receipt.year, receipt.paid_at)
    if window is not None and window.reason_code in ("region_unknown", "year_not_covered"):
        return reject(window.reason_code, window.reason or "")
    if receipt.channel == "village_agent" and not receipt.agent_id:
        return reject("agent_missing", "村居代收的税票须注明代收员（agent_id），请代收员补录后重新上传")
    if receipt.amount_fen == 0:
        return reject("zero_amount", "金额为0")
    if receipt.amount_fen < 0:
        return _decide_reversal(receipt, seen, reject) or Decision(receipt, sha, "accepted")
    if receipt.original_receipt_no is not None:
        return reject("positive_reversal", f"指向原税票{receipt.original_receipt_no}的冲正税票金额应为负数")
    if window is None:
        return _decide_payback(receipt, sha, seen, windows, reject)
    payer = seen.dues.get((receipt.person_id, receipt.year))
    if payer is not None and payer.facts is not None and payer.state == "active" and payer.region == receipt.region \
            and not payer.facts.plain:
        own = windows.for_payer(receipt.region, receipt.year, receipt.person_id, receipt.paid_at, payer.facts)
        if not own.open:
            return reject(own.reason_code or "paid_outside_periods", own.reason or "")
        expected, basis = own.general_due_fen, "本人按缴费日应缴"
    else:
        if not window.open:
            return reject(window.reason_code or "paid_outside_periods", window.reason or "")
        due = payer.due_fen if payer is not None and window.subsidised else None
        expected, basis = (due, "核定应缴") if due is not None else (window.general_due_fen, "政策标准")
    if receipt.amount_fen != expected:
        return reject("amount_differs_from_due",
                      f"金额{_yuan(receipt.amount_fen)}元与{basis}{_yuan(expected or 0)}元不符")
    return Decision(receipt, sha, "accepted")


def _decide_payback(receipt: ReceiptReceived, sha: str, seen: Known, windows: Windows,
                    reject: Callable[[str, str], Decision]) -> Decision:
    """A gap year paid back (补缴, `receipt.year` the gap year) to repair the waiting period of the person's
    enrollment in a later year (seed 004 L108): taken where that year's pack provides for it, for a year of the
    gap just before it, once, at that year's individual rate. The gap year itself needs no pack; the checks every
    receipt passes (agent, amount, reversal) come first, in `_decide_one`."""
    gap_year, person = receipt.year, receipt.person_id
    later = sorted((year, p) for (who, year), p in seen.dues.items()
                   if who == person and year > gap_year and p.region == receipt.region and p.facts is not None)
    if not later:
        return reject("payback_without_enrollment",
                      f"补缴{gap_year}年度须先在{receipt.region}登记以后年度的参保（未找到本人以后年度的核定）")
    year, payer = later[-1]
    assert payer.facts is not None
    rate = windows.payback_fen(receipt.region, year)
    if rate is None:
        return reject("payback_not_allowed", f"{receipt.region} {year}年度政策未规定以补缴修复待遇等待期")
    covered = payer.facts.enrolled_years
    gap = range(max(covered) + 1, year) if covered else range(0)
    if gap_year not in gap:
        where = f"断保年度为{gap[0]}—{gap[-1]}" if gap else "没有断保年度（首次参保或连续参保）"
        return reject("payback_not_a_gap_year", f"{gap_year}年度不是本人{year}年度参保前的断保年度：{where}")
    if gap_year in payer.facts.paid_back_years or (person, gap_year) in seen.paid_back:
        return reject("payback_already_paid", f"{gap_year}年度已补缴过，不能重复补缴")
    if receipt.amount_fen != rate:
        return reject("amount_differs_from_due",
                      f"补缴金额{_yuan(receipt.amount_fen)}元与{year}年度个人缴费标准{_yuan(rate)}元不符")
    return Decision(receipt, sha, "accepted")


def _decide_reversal(receipt: ReceiptReceived, seen: Known, reject: Callable[[str, str], Decision]) -> Decision | None:
    """None when the reversal is good; else the rejection."""
    original = receipt.original_receipt_no
    if original is None:
        return reject("negative_without_original", "负数金额但未指明被冲正的原税票号（original_receipt_no）")
    if original not in seen.accepted_amount or seen.accepted_amount[original] <= 0:
        return reject("original_unknown", f"被冲正的原税票{original}不存在或未入账")
    left = seen.accepted_amount[original] - seen.reversed_fen.get(original, 0)
    if -receipt.amount_fen > left:
        return reject("reversal_exceeds_original",
                      f"冲正金额{_yuan(-receipt.amount_fen)}元超过原税票{original}尚可冲正的{_yuan(left)}元")
    return None
