"""Match tax receipts ↔ enrollment/dues ↔ bank settlement ↔ agents' cash, for one region and year.

`reconcile` takes everything the service holds for the region-year and the run's
business day, and returns every discrepancy it finds, in a stable order. A
discrepancy's id is derived from its kind and what it is about (a receipt, a
person-year, a settlement line, an agent's collection line), never from the time
or the run, so a repeated run on the same data gives the same ids and the same
answer, and a later run recognises what an earlier one already found.
"""
from __future__ import annotations

import hashlib
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import NamedTuple

from shared.codes import LABEL, Category, FundingSource
from shared.resident_id import mask

_NAMESPACE = uuid.UUID("6f1e6f8a-3c2b-5e7d-9a41-0c5d2b7e8f10")
_STATUS_CATEGORIES = frozenset(c.value for c in Category)


class Kind(StrEnum):
    COLLECTED_NOT_RECORDED = "collected_not_recorded"
    PAID_WITHOUT_MONEY = "paid_without_money"
    AMOUNT_DIFFERS_FROM_DUE = "amount_differs_from_due"
    PAID_TWICE = "paid_twice"
    SETTLED_WITHOUT_RECEIPT = "settled_without_receipt"
    RECEIPT_NOT_SETTLED = "receipt_not_settled"
    SETTLEMENT_AMOUNT_DIFFERS = "settlement_amount_differs"
    AGENT_CASH_NOT_DEPOSITED = "agent_cash_not_deposited"
    SUBSIDY_WITHOUT_STATUS = "subsidy_without_status"


KIND_LABEL: dict[str, str] = {
    Kind.COLLECTED_NOT_RECORDED: "收费后漏录",
    Kind.PAID_WITHOUT_MONEY: "有缴费记录无到账",
    Kind.AMOUNT_DIFFERS_FROM_DUE: "缴费金额与核定应缴不符",
    Kind.PAID_TWICE: "重复缴费（应退费）",
    Kind.SETTLED_WITHOUT_RECEIPT: "银行已结算无税票",
    Kind.RECEIPT_NOT_SETTLED: "税票未见银行结算",
    Kind.SETTLEMENT_AMOUNT_DIFFERS: "结算金额与税票不符",
    Kind.AGENT_CASH_NOT_DEPOSITED: "代收现金未按时缴存",
    Kind.SUBSIDY_WITHOUT_STATUS: "资助无认定身份支撑",
}


class Receipt(NamedTuple):
    """An accepted tax receipt (negative amount: a reversal of `original_receipt_no`)."""

    receipt_no: str
    person_id: str
    year: int
    amount_fen: int
    channel: str
    agent_id: str | None
    paid_on: date
    original_receipt_no: str | None


class Booking(NamedTuple):
    """A receipt enrollment booked to a person-year (enrollment.paid)."""

    receipt_no: str
    person_id: str
    year: int
    amount_fen: int


class SubsidyLine(NamedTuple):
    category: str
    amount_fen: int
    funding_source: str
    mode: str


class Due(NamedTuple):
    person_id: str
    year: int
    due_fen: int
    state: str
    lines: tuple[SubsidyLine, ...]


class SettlementLine(NamedTuple):
    """One line of a bank's settlement file: a receipt, or (receipt_no None) a channel's day total."""

    bank: str
    settlement_ref: str
    line_key: str
    channel: str
    pay_date: date
    receipt_no: str | None
    amount_fen: int


class AgentLine(NamedTuple):
    """One cash collection of a village agent and when it was deposited (None: not yet)."""

    agent_id: str
    line_ref: str
    person_id: str
    year: int
    receipt_no: str | None
    amount_fen: int
    collected_on: date
    deposited_on: date | None


class StatusSpan(NamedTuple):
    category: str
    certified_on: date
    ended_on: date | None


@dataclass(frozen=True)
class Limits:
    """The region's rules for a run, from settings and the policy pack."""

    settlement_lag_days: int        # a receipt paid on day D is settled by D + lag
    agent_deposit_days: int         # cash collected on day D is deposited by D + limit
    status_window: tuple[date, date] | None  # a subsidised status must hold inside it (collection period)


@dataclass(frozen=True)
class Discrepancy:
    kind: Kind
    subject: str
    person_id: str | None
    receipt_no: str | None
    amount_fen: int | None
    detail: str

    def id(self, region: str, year: int) -> uuid.UUID:
        return discrepancy_id(region, year, self.kind, self.subject)


@dataclass(frozen=True)
class Season:
    """Everything held for one region and coverage year. Rows are these NamedTuples or anything with the
    same attributes (the store passes its database rows as they come)."""

    region: str
    year: int
    receipts: Sequence[Receipt]
    bookings: Sequence[Booking]
    dues: Sequence[Due]
    settlement: Sequence[SettlementLine]
    agent_lines: Sequence[AgentLine]
    statuses: Mapping[str, Sequence[StatusSpan]]
    refunds_ordered: Mapping[tuple[str, int], int]  # (person, year) -> fen ordered back


def discrepancy_id(region: str, year: int, kind: str, subject: str) -> uuid.UUID:
    return uuid.uuid5(_NAMESPACE, f"{region}|{year}|{kind}|{subject}")


def yuan(fen: int) -> str:
    return f"{fen / 100:,.2f}元"


def fingerprint(region: str, year: int, found: Iterable[Discrepancy]) -> str:
    """One hash of a run's answer: equal for two runs that found the same things with the same amounts."""
    h = hashlib.sha256()
    for line in sorted(f"{d.id(region, year)}|{d.amount_fen}" for d in found):
        h.update(line.encode())
    return h.hexdigest()


@dataclass(frozen=True)
class DayTotal:
    """A bank's day total of one channel (settlement lines without a receipt number), summed over its lines."""

    channel: str
    pay_date: date
    amount_fen: int
    refs: tuple[str, ...]  # bank + settlement reference of each line, sorted, each once


@dataclass(frozen=True)
class Part:
    """One part of a season: the people of a range of person IDs with everything of theirs, and what rows of
    other parts say about them. A run matches a region-year part by part, in memory bounded by the part.

    `family` holds the receipts of other people in the families (an original and its reversals) of the part's
    receipts, and `lines` every settlement line naming a receipt of the part or of `family`: whether a receipt
    is settled depends on its whole family. Discrepancies are reported for the part's own rows only."""

    receipts: Sequence[Receipt]
    bookings: Sequence[Booking]
    dues: Sequence[Due]
    agent_lines: Sequence[AgentLine]
    statuses: Mapping[str, Sequence[StatusSpan]]
    refunds_ordered: Mapping[tuple[str, int], int]
    lines: Sequence[SettlementLine]
    family: Sequence[Receipt] = ()
    accepted_elsewhere: AbstractSet[str] = frozenset()  # receipts of other parts the bookings and agent lines name
    booked_elsewhere: AbstractSet[str] = frozenset()    # receipts of this part booked under other people


@dataclass
class PartFindings:
    """A part's discrepancies, and its receipts' share of the day totals they are compared with."""

    found: list[Discrepancy]
    expected: dict[tuple[str, date], int]


def reconcile(season: Season, day: date, limits: Limits) -> list[Discrepancy]:
    """Every discrepancy of the season as of the end of `day`, sorted by kind and subject: the season as one
    part, the lines naming no receipt of it, and the day totals."""
    accepted = {r.receipt_no for r in season.receipts}
    named = [s for s in season.settlement if s.receipt_no in accepted]
    part = Part(season.receipts, season.bookings, season.dues, season.agent_lines, season.statuses,
                season.refunds_ordered, named)
    totals = day_totals(season.settlement)
    matched = match_part(part, day, limits, totals)
    found = matched.found
    found += settled_without_receipt(s for s in season.settlement
                                     if s.receipt_no is not None and s.receipt_no not in accepted)
    found += day_total_differences(totals, matched.expected)
    found.sort(key=lambda d: (d.kind, d.subject))
    return found


def match_part(part: Part, day: date, limits: Limits, totals: Mapping[tuple[str, date], DayTotal]) -> PartFindings:
    """Every discrepancy of the part's own rows as of the end of `day` (sorted by kind and subject), but the
    day totals, which are compared once every part has given its `expected` share."""
    own = {r.receipt_no: r for r in part.receipts}
    accepted = {**{r.receipt_no: r for r in part.family}, **own}
    reversals = _reversals_of(accepted.values())
    found = _bookings_without_money(part.bookings, own, part.accepted_elsewhere)
    found += _collected_not_recorded(part, own, day)
    found += _amounts_against_dues(part, reversals)
    settled, lines_found = _settlement(part, own, accepted, reversals)
    found += lines_found
    found += _not_settled(part.receipts, settled, totals, day, limits)
    found += _agent_deposits(part.agent_lines, day, limits)
    found += _subsidies_without_status(part, limits)
    found.sort(key=lambda d: (d.kind, d.subject))
    expected: dict[tuple[str, date], int] = defaultdict(int)
    for r in part.receipts:
        if (r.channel, r.paid_on) in totals and r.receipt_no not in settled:
            expected[(r.channel, r.paid_on)] += r.amount_fen
    return PartFindings(found, dict(expected))


def _bookings_without_money(bookings: Iterable[Booking], own: Mapping[str, Receipt],
                            elsewhere: AbstractSet[str]) -> list[Discrepancy]:
    return [
        Discrepancy(Kind.PAID_WITHOUT_MONEY, f"booking:{b.receipt_no}:{b.person_id}", b.person_id, b.receipt_no,
                    b.amount_fen, f"{mask(b.person_id)} 登记已缴费（税票{b.receipt_no}，{yuan(b.amount_fen)}），"
                    "但没有这张已入账税票：请核实是否收到款项")
        for b in bookings if b.receipt_no not in own and b.receipt_no not in elsewhere
    ]


def _collected_not_recorded(part: Part, own: Mapping[str, Receipt], day: date) -> list[Discrepancy]:
    found = []
    booked = {b.receipt_no for b in part.bookings}
    for r in part.receipts:
        # A receipt of the run day may still be on its way to enrollment: only earlier days count.
        if r.receipt_no not in booked and r.receipt_no not in part.booked_elsewhere and r.paid_on < day:
            found.append(Discrepancy(
                Kind.COLLECTED_NOT_RECORDED, f"receipt:{r.receipt_no}", r.person_id, r.receipt_no, r.amount_fen,
                f"税票{r.receipt_no}（{mask(r.person_id)}，{yuan(r.amount_fen)}，{r.paid_on}）已收款，"
                "参保登记中没有记录：请补录参保缴费"))
    paid_people = {(r.person_id, r.year) for r in part.receipts if r.amount_fen > 0}
    for a in part.agent_lines:
        if a.receipt_no:
            recorded = a.receipt_no in own or a.receipt_no in part.accepted_elsewhere
        else:
            recorded = (a.person_id, a.year) in paid_people
        if not recorded:
            found.append(Discrepancy(
                Kind.COLLECTED_NOT_RECORDED, f"agent:{a.agent_id}:{a.line_ref}", a.person_id, a.receipt_no,
                a.amount_fen, f"代收员{a.agent_id}于{a.collected_on}收取{mask(a.person_id)}现金{yuan(a.amount_fen)}，"
                "但没有对应的税票：请尽快补开税票并录入"))
    return found


def _amounts_against_dues(part: Part, reversals: Mapping[str, Sequence[Receipt]]) -> list[Discrepancy]:
    by_person: dict[tuple[str, int], list[Receipt]] = defaultdict(list)
    for r in part.receipts:
        by_person[(r.person_id, r.year)].append(r)
    dues = {(d.person_id, d.year): d for d in part.dues}
    found = []
    for key, receipts in by_person.items():
        due = dues.get(key)
        if due is None or due.state == "ended":
            continue  # nothing assessed to compare with (ended: enrollment's refund rules apply)
        net = sum(r.amount_fen for r in receipts)
        if net <= 0:
            continue
        refunded = part.refunds_ordered.get(key, 0)
        excess = net - refunded - due.due_fen
        if excess == 0:
            continue
        standing = sorted((r for r in receipts if r.amount_fen > 0 and r.receipt_no not in reversals),
                          key=lambda r: (r.paid_on, r.receipt_no))
        last = standing[-1] if standing else max(receipts, key=lambda r: (r.paid_on, r.receipt_no))
        person, year = key
        if len(standing) >= 2 and excess > 0:
            numbers = "、".join(r.receipt_no for r in standing)
            found.append(Discrepancy(
                Kind.PAID_TWICE, f"person:{person}:{year}", person, last.receipt_no, excess,
                f"{mask(person)} {year}年度缴费{len(standing)}次（税票{numbers}），共{yuan(net)}，"
                f"应缴{yuan(due.due_fen)}：应退{yuan(excess)}"))
        else:
            found.append(Discrepancy(
                Kind.AMOUNT_DIFFERS_FROM_DUE, f"person:{person}:{year}", person, last.receipt_no, excess,
                f"{mask(person)} {year}年度实缴{yuan(net)}，核定应缴{yuan(due.due_fen)}"
                + (f"，已下达退费{yuan(refunded)}" if refunded else "")
                + (f"：多缴{yuan(excess)}" if excess > 0 else f"：少缴{yuan(-excess)}")))
    return found


def _reversals_of(receipts: Iterable[Receipt]) -> dict[str, list[Receipt]]:
    """Each original receipt's reversals (negative receipts naming it as `original_receipt_no`), in the order
    they were paid: the same whichever part of a season read them."""
    found: dict[str, list[Receipt]] = defaultdict(list)
    for r in receipts:
        if r.amount_fen < 0 and r.original_receipt_no:
            found[r.original_receipt_no].append(r)
    for family in found.values():
        family.sort(key=lambda r: (r.paid_on, r.receipt_no))
    return found


def settled_by_line(line_amount_fen: int, receipt: Receipt, accepted: Mapping[str, Receipt],
                    reversals: Mapping[str, Sequence[Receipt]], named: AbstractSet[str]) -> list[Receipt] | None:
    """The receipts a bank line naming `receipt` settles, or None when its amount matches nothing.

    The receipt's own amount settles the receipt alone. A bank may also settle a receipt together
    with its reversals in one line at their net (a payment and its cancellation: 0.00), naming either
    the original or a reversal: then the line settles the original and every reversal of it that no
    line of its own names. This is the netting a channel's day total does, line by line."""
    if line_amount_fen == receipt.amount_fen:
        return [receipt]
    original = accepted.get(receipt.original_receipt_no) if receipt.original_receipt_no else receipt
    if original is None or original.receipt_no not in reversals:
        return None
    family = [original, *reversals[original.receipt_no]]
    # A member another line names is settled there: counting it here as well would settle it twice.
    netted = [r for r in family if r.receipt_no == receipt.receipt_no or r.receipt_no not in named]
    return netted if sum(r.amount_fen for r in netted) == line_amount_fen else None


def _settlement(part: Part, own: Mapping[str, Receipt], accepted: Mapping[str, Receipt],
                reversals: Mapping[str, Sequence[Receipt]]) -> tuple[set[str], list[Discrepancy]]:
    """The receipts the lines settle, and the lines of the part's own receipts whose amount matches nothing.
    A line naming a receipt of `family` is read for what it settles; its own part reports it."""
    found: list[Discrepancy] = []
    settled: set[str] = set()
    named = {s.receipt_no for s in part.lines if s.receipt_no is not None}
    for s in part.lines:
        receipt = accepted.get(s.receipt_no) if s.receipt_no is not None else None
        if receipt is None:
            continue  # a day total, or a line naming no receipt of the season: the run checks those once
        settled.add(receipt.receipt_no)
        if s.amount_fen == receipt.amount_fen:
            continue  # the usual line: it settles its receipt alone (settled_by_line's first answer)
        netted = settled_by_line(s.amount_fen, receipt, accepted, reversals, named)
        if netted is not None:
            settled.update(r.receipt_no for r in netted)
        elif receipt.receipt_no in own:
            found.append(_line_differs(s, receipt, reversals.get(receipt.original_receipt_no or receipt.receipt_no)))
    return settled, found


def _not_settled(receipts: Iterable[Receipt], settled: AbstractSet[str], totals: Mapping[tuple[str, date], DayTotal],
                 day: date, limits: Limits) -> list[Discrepancy]:
    cutoff = day - timedelta(days=limits.settlement_lag_days)
    return [
        Discrepancy(Kind.RECEIPT_NOT_SETTLED, f"receipt:{r.receipt_no}", r.person_id, r.receipt_no, r.amount_fen,
                    f"税票{r.receipt_no}（{mask(r.person_id)}，{yuan(r.amount_fen)}，{r.paid_on}，{r.channel}）"
                    f"超过{limits.settlement_lag_days}天未见银行结算")
        for r in receipts
        if (r.amount_fen > 0 and r.paid_on <= cutoff and r.receipt_no not in settled
            and (r.channel, r.paid_on) not in totals)
    ]


def settled_without_receipt(lines: Iterable[SettlementLine]) -> list[Discrepancy]:
    """Lines naming a receipt the season does not hold (the caller picks them: no accepted receipt of the
    region-year has their number)."""
    return [
        Discrepancy(Kind.SETTLED_WITHOUT_RECEIPT, _line_subject(s), None, s.receipt_no, s.amount_fen,
                    f"{s.bank}结算单{s.settlement_ref}列有税票{s.receipt_no}（{yuan(s.amount_fen)}），"
                    "系统中没有这张已入账税票")
        for s in lines
    ]


def _line_subject(s: SettlementLine) -> str:
    return f"settle:{s.bank}:{s.settlement_ref}:{s.line_key}"


def _line_differs(s: SettlementLine, receipt: Receipt, reversals: Sequence[Receipt] | None) -> Discrepancy:
    # Where the receipt was reversed, the clerk is shown the reversals too: the bank may have meant the net.
    reversed_by = "、".join(f"{r.receipt_no}（{yuan(r.amount_fen)}）" for r in reversals or ())
    return Discrepancy(
        Kind.SETTLEMENT_AMOUNT_DIFFERS, _line_subject(s), receipt.person_id, s.receipt_no,
        s.amount_fen - receipt.amount_fen,
        f"{s.bank}结算单{s.settlement_ref}：税票{s.receipt_no}结算{yuan(s.amount_fen)}，"
        f"税票金额{yuan(receipt.amount_fen)}" + (f"，冲正税票{reversed_by}" if reversed_by else ""))


def day_totals(lines: Iterable[SettlementLine]) -> dict[tuple[str, date], DayTotal]:
    """The day totals among settlement lines (those without a receipt number), per channel and day."""
    grouped: dict[tuple[str, date], list[SettlementLine]] = defaultdict(list)
    for s in lines:
        if s.receipt_no is None:
            grouped[(s.channel, s.pay_date)].append(s)
    return {key: DayTotal(key[0], key[1], sum(s.amount_fen for s in group),
                          tuple(sorted({f"{s.bank}{s.settlement_ref}" for s in group})))
            for key, group in grouped.items()}


def day_total_differences(totals: Mapping[tuple[str, date], DayTotal],
                          expected: Mapping[tuple[str, date], int]) -> list[Discrepancy]:
    """A channel's day total against the day's receipts no line of their own settled, reversals netted in
    (`expected`: their sum per channel and day, added up over the parts)."""
    found = []
    for (channel, pay_date), total in sorted(totals.items()):
        want = expected.get((channel, pay_date), 0)
        if total.amount_fen != want:
            found.append(Discrepancy(
                Kind.SETTLEMENT_AMOUNT_DIFFERS, f"total:{channel}:{pay_date}", None, None, total.amount_fen - want,
                f"{pay_date} {channel}渠道：银行汇总结算{yuan(total.amount_fen)}（{'、'.join(total.refs)}），"
                f"税票合计{yuan(want)}"))
    return found


def _agent_deposits(lines: Iterable[AgentLine], day: date, limits: Limits) -> list[Discrepancy]:
    found = []
    for a in lines:
        deadline = a.collected_on + timedelta(days=limits.agent_deposit_days)
        late = a.deposited_on > deadline if a.deposited_on is not None else day > deadline
        if late:
            when = f"{a.deposited_on}才缴存" if a.deposited_on else f"截至{day}仍未缴存"
            found.append(Discrepancy(
                Kind.AGENT_CASH_NOT_DEPOSITED, f"deposit:{a.agent_id}:{a.line_ref}", a.person_id, a.receipt_no,
                a.amount_fen, f"代收员{a.agent_id}于{a.collected_on}收取{mask(a.person_id)}现金{yuan(a.amount_fen)}，"
                f"{when}（规定{limits.agent_deposit_days}天内缴存）"))
    return found


def _source_label(code: str) -> str:
    try:
        return LABEL[FundingSource(code)]
    except ValueError:
        return code


def status_holds(spans: Iterable[StatusSpan], category: str, window: tuple[date, date] | None) -> bool:
    """A certified status of `category` that held at some time inside `window` (any time when None)."""
    for s in spans:
        if s.category != category:
            continue
        if window is None:
            return True
        start, end = window
        if s.certified_on <= end and (s.ended_on is None or s.ended_on >= start):
            return True
    return False


def _subsidies_without_status(part: Part, limits: Limits) -> list[Discrepancy]:
    found = []
    for d in part.dues:
        if d.state == "ended":
            continue
        spans = part.statuses.get(d.person_id, ())
        for line in d.lines:
            # Lines for an enrollment kind (e.g. welfare institution children) are not status-based.
            if line.category in _STATUS_CATEGORIES and not status_holds(spans, line.category, limits.status_window):
                found.append(Discrepancy(
                    Kind.SUBSIDY_WITHOUT_STATUS, f"subsidy:{d.person_id}:{d.year}:{line.category}", d.person_id,
                    None, line.amount_fen, f"{mask(d.person_id)} {d.year}年度按“{LABEL[Category(line.category)]}”资助"
                    f"{yuan(line.amount_fen)}（{_source_label(line.funding_source)}），但没有部门认定的该身份"))
    return found
