"""A generated collection season for reconciliation's end-to-end tests, with faults planted on purpose.

`generate(seed, people)` builds, deterministically, what the other services would
have published (baseline, statuses, dues, accepted receipts, enrollment events),
the bank settlement files (one per bank and day), the village agents' cash book
and the township targets — all consistent, except for the `planted` faults, one
or more of every discrepancy kind. `expected_progress` counts the figures straight
from the generated people, independently of the service's SQL.
"""
from __future__ import annotations

import random
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from shared.messages import (
    DueAssessed,
    EnrollmentEnded,
    EnrollmentPaid,
    EnrollmentRegistered,
    PersonBaselined,
    ReceiptAccepted,
    StatusChanged,
    SubsidyLine,
)
from shared.messages.identity import CertifiedStatus
from shared.resident_id import check_character, mask, person_key

REGION, YEAR = "340321", 2025
RUN_DAY = date(2024, 12, 20)
PLACES = {"榴城镇": ["城关村", "新城社区", "=cmd|' /C calc'!A0村"], "荆山镇": ["荆山村", "涂山村"], "唐集镇": ["唐集村"]}
STANDARD = 40000
GROUPS = {  # category -> (due, subsidy line)
    "minimum_living": (6000, SubsidyLine(category="minimum_living", amount_fen=34000,
                                         funding_source="medical_assistance", mode="net")),
    "extreme_poverty": (0, SubsidyLine(category="extreme_poverty", amount_fen=40000,
                                       funding_source="medical_assistance", mode="net")),
}
BANKS = ("农商行", "邮储银行")


def _now() -> datetime:
    return datetime(2024, 12, 20, 8, 0, tzinfo=UTC)


def _id(n: int) -> str:
    born = date(1950, 1, 1) + timedelta(days=n * 37 % 25000)
    first17 = f"{REGION}{born:%Y%m%d}{n % 1000:03d}"
    return first17 + check_character(first17)


@dataclass
class Person:
    person_id: str
    township: str
    village: str
    name: str
    category: str | None = None
    due_fen: int = STANDARD
    receipts: list[ReceiptAccepted] = field(default_factory=list)
    state: str | None = None  # None (never enrolled), registered, paid, ended

    @property
    def paid_fen(self) -> int:
        return sum(r.amount_fen for r in self.receipts)


@dataclass
class Season:
    people: list[Person]
    messages: dict[str, list[tuple[bytes, bytes]]]  # topic -> (key, value)
    bank_files: list[tuple[str, str, str]]          # (bank, file name, CSV text)
    agent_file: str
    targets_file: str
    planted: list[tuple[str, str | None, str | None, int | None]]  # (kind, masked person, receipt, amount)
    bad_bank_lines: int = 0


def _msg(model) -> bytes:
    return model.model_dump_json().encode()


def generate(seed: int = 7, people: int = 240) -> Season:
    rnd = random.Random(seed)
    out: dict[str, list[tuple[bytes, bytes]]] = defaultdict(list)
    now = _now()
    places = [(t, v) for t, villages in PLACES.items() for v in villages]
    crowd: list[Person] = []
    for n in range(people):
        township, village = places[n % len(places)] if n < len(places) else rnd.choice(places)
        crowd.append(Person(_id(1000 + n), township, village, f"居民{n:03d}"))

    receipt_seq = iter(range(1, 10**6))
    settle: list[tuple[str, date, str, date, str | None, int]] = []  # bank, settled_on, channel, pay_date, no, fen
    agent_lines: list[list] = []
    planted: list[tuple[str, str | None, str | None, int | None]] = []

    def receipt(p: Person, amount: int, channel: str, paid_on: date, agent: str | None = None) -> ReceiptAccepted:
        r = ReceiptAccepted(
            message_id=uuid.uuid4(), occurred_at=now, receipt_no=f"3340{next(receipt_seq):014d}", person_id=p.person_id,
            region=REGION, year=YEAR, amount_fen=amount, channel=channel, agent_id=agent,
            paid_at=datetime.combine(paid_on, time(2, 0), UTC))  # 10:00 in Beijing
        p.receipts.append(r)
        return r

    def book(p: Person, r: ReceiptAccepted) -> None:
        out["enrollment.events"].append((person_key(p.person_id).encode(), _msg(EnrollmentPaid(
            message_id=uuid.uuid4(), occurred_at=now, person_id=p.person_id, region=REGION, year=YEAR,
            township=p.township, village=p.village, receipt_no=r.receipt_no, amount_fen=r.amount_fen,
            paid_total_fen=p.paid_fen))))
        p.state = "paid" if p.paid_fen > 0 else "registered"

    def accept(r: ReceiptAccepted) -> None:
        out["payment.receipt-accepted"].append((person_key(r.person_id).encode(), _msg(r)))

    def pay(p: Person, *, channel: str | None = None, amount: int | None = None, booked: bool = True,
            settled: int | None = None, deposit_delay: int = 1) -> ReceiptAccepted:
        channel = channel or rnd.choice(["wechat", "alipay", "bank", "village_agent"])
        paid_on = date(2024, 10, 1) + timedelta(days=rnd.randrange(60))
        agent = f"AG{crowd.index(p) % 5}" if channel == "village_agent" else None
        r = receipt(p, p.due_fen if amount is None else amount, channel, paid_on, agent)
        accept(r)
        if booked:
            book(p, r)
        if settled is not None:
            settle.append((rnd.choice(BANKS), paid_on + timedelta(days=1), channel, paid_on, r.receipt_no, settled))
        if agent:
            agent_lines.append([agent, f"L{len(agent_lines) + 1}", p, r.receipt_no, r.amount_fen, paid_on,
                                paid_on + timedelta(days=deposit_delay)])
        return r

    for i, p in enumerate(crowd):
        out["population.baseline"].append((person_key(p.person_id).encode(), _msg(PersonBaselined(
            message_id=uuid.uuid4(), occurred_at=now, person_id=p.person_id, region=REGION, township=p.township,
            village=p.village, name=p.name))))
        lines: list[SubsidyLine] = []
        if i % 6 == 1:
            p.category = "minimum_living"
        elif i % 10 == 3:
            p.category = "extreme_poverty"
        if p.category:
            p.due_fen, line = GROUPS[p.category]
            lines = [line]
            out["identity.status-changed"].append((person_key(p.person_id).encode(), _msg(StatusChanged(
                message_id=uuid.uuid4(), occurred_at=now, person_id=p.person_id, region=REGION, township=p.township,
                village=p.village, statuses=[CertifiedStatus(category=p.category, department="civil_affairs",
                                                             certified_on=date(2024, 9, 5))]))))
        out["subsidy.due-assessed"].append((f"{person_key(p.person_id)}:{YEAR}".encode(), _msg(DueAssessed(
            message_id=uuid.uuid4(), occurred_at=now, person_id=p.person_id, region=REGION, year=YEAR,
            standard_fen=STANDARD, subsidy_fen=sum(x.amount_fen for x in lines), due_fen=p.due_fen, lines=lines,
            revision=1))))

    # Ordinary behaviour: most pay and are settled; some are registered and have not paid; some did nothing;
    # fully subsidised people are registered with nothing to pay; a few paid and their enrollment ended.
    ordinary = crowd[12:]
    for p in ordinary:
        roll = rnd.random()
        if p.due_fen == 0:
            if roll < 0.8:
                _register(out, p, now)
            continue
        if roll < 0.65:
            r = pay(p)
            if r.channel != "alipay":  # alipay is settled by day totals, below
                settle.append((rnd.choice(BANKS), r.paid_at.date() + timedelta(days=1), r.channel, r.paid_at.date(),
                               r.receipt_no, r.amount_fen))
        elif roll < 0.75:
            _register(out, p, now)
        elif roll < 0.78:
            r = pay(p, channel="wechat", settled=p.due_fen)
            out["enrollment.events"].append((person_key(p.person_id).encode(), _msg(EnrollmentEnded(
                message_id=uuid.uuid4(), occurred_at=now, person_id=p.person_id, region=REGION, year=YEAR,
                township=p.township, village=p.village, reason="death", ended_on=date(2024, 12, 1)))))
            p.state = "ended"
            ended_due = DueAssessed(message_id=uuid.uuid4(), occurred_at=now, person_id=p.person_id, region=REGION,
                                    year=YEAR, standard_fen=STANDARD, subsidy_fen=0, due_fen=0, revision=2,
                                    state="ended")
            out["subsidy.due-assessed"].append((f"{person_key(p.person_id)}:{YEAR}".encode(), _msg(ended_due)))
    alipay_totals: dict[date, int] = defaultdict(int)
    for p in ordinary:
        for r in p.receipts:
            if r.channel == "alipay" and (r.paid_at.date(), r.receipt_no) not in {(x[3], x[4]) for x in settle}:
                alipay_totals[r.paid_at.date()] += r.amount_fen
    for pay_date, fen in alipay_totals.items():
        settle.append(("农商行", pay_date + timedelta(days=1), "alipay", pay_date, None, fen))

    # The planted faults: the first twelve people, general payers (due 400) unless said otherwise.
    general = [p for p in crowd[:12] if p.category is None]
    low = [p for p in crowd[:12] if p.category == "minimum_living"]
    g = iter(general)

    p = next(g)  # 1. collected, never recorded by enrollment
    r = pay(p, channel="wechat", booked=False, settled=STANDARD)
    planted.append(("collected_not_recorded", mask(p.person_id), r.receipt_no, STANDARD))
    p.state = None
    p = next(g)  # 2. an agent took cash, no receipt was ever issued (收费后漏录)
    agent_lines.append(["AG9", "X1", p, None, STANDARD, date(2024, 11, 3), date(2024, 11, 4)])
    planted.append(("collected_not_recorded", mask(p.person_id), None, STANDARD))
    p = next(g)  # 3. enrollment booked a payment no receipt stands behind
    ghost = ReceiptAccepted(message_id=uuid.uuid4(), occurred_at=now, receipt_no="3340GHOST0000001",
                            person_id=p.person_id, region=REGION, year=YEAR, amount_fen=STANDARD, channel="tax_hall",
                            paid_at=datetime(2024, 11, 5, 2, 0, tzinfo=UTC))
    p.receipts.append(ghost)
    book(p, ghost)
    p.receipts.remove(ghost)  # no money: it counts as paid in enrollment only
    p.state, p.ghost_paid = "paid", STANDARD  # type: ignore[attr-defined]
    planted.append(("paid_without_money", mask(p.person_id), ghost.receipt_no, STANDARD))
    p = next(g)  # 4. paid 380 against a due of 400
    r = pay(p, channel="bank", amount=38000, settled=38000)
    planted.append(("amount_differs_from_due", mask(p.person_id), r.receipt_no, -2000))
    p = next(g)  # 5. paid twice
    pay(p, channel="wechat", settled=STANDARD)
    r = pay(p, channel="app", settled=STANDARD)
    r_sorted = sorted(p.receipts, key=lambda x: (x.paid_at, x.receipt_no))
    planted.append(("paid_twice", mask(p.person_id), r_sorted[-1].receipt_no, STANDARD))
    p = next(g)  # 6. paid, but the bank never settled it
    r = pay(p, channel="wechat")
    planted.append(("receipt_not_settled", mask(p.person_id), r.receipt_no, STANDARD))
    p = next(g)  # 7. paid, settled by the bank for 4.00 less
    r = pay(p, channel="bank", settled=STANDARD - 400)
    planted.append(("settlement_amount_differs", mask(p.person_id), r.receipt_no, -400))
    # 8. the bank settled a receipt nobody has
    settle.append(("邮储银行", date(2024, 11, 9), "wechat", date(2024, 11, 8), "3340NOSUCH000001", STANDARD))
    planted.append(("settled_without_receipt", None, "3340NOSUCH000001", STANDARD))
    # 9. a 低保 person paid cash to an agent, who deposited it four days later
    p = low[0]
    r = pay(p, channel="village_agent", settled=p.due_fen, deposit_delay=4)
    planted.append(("agent_cash_not_deposited", mask(p.person_id), r.receipt_no, p.due_fen))
    # 10. a subsidy line with no certified status: the due says 低保, no department ever certified it
    p = next(g)
    p.due_fen = 6000
    out["subsidy.due-assessed"].append((f"{person_key(p.person_id)}:{YEAR}".encode(), _msg(DueAssessed(
        message_id=uuid.uuid4(), occurred_at=now, person_id=p.person_id, region=REGION, year=YEAR,
        standard_fen=STANDARD, subsidy_fen=34000, due_fen=6000, lines=[GROUPS["minimum_living"][1]], revision=2))))
    planted.append(("subsidy_without_status", mask(p.person_id), None, 34000))
    # the rest of the first twelve pay normally (statuses and all)
    for p in crowd[:12]:
        if not p.receipts and p.state is None and p not in general[:7] and p is not low[0] and p.due_fen > 0:
            pay(p, channel="wechat", settled=p.due_fen)

    bank_files = _bank_files(settle)
    return Season(crowd, dict(out), bank_files, _agent_file(agent_lines), _targets_file(), planted, bad_bank_lines=1)


def _register(out: dict, p: Person, now: datetime) -> None:
    out["enrollment.events"].append((person_key(p.person_id).encode(), _msg(EnrollmentRegistered(
        message_id=uuid.uuid4(), occurred_at=now, person_id=p.person_id, region=REGION, year=YEAR,
        township=p.township, village=p.village))))
    p.state = "registered"


def _bank_files(settle: list) -> list[tuple[str, str, str]]:
    """One CSV per bank and settlement day; the first file also carries one unreadable line."""
    by_file: dict[tuple[str, date], list] = defaultdict(list)
    for bank, settled_on, channel, pay_date, receipt_no, fen in settle:
        by_file[(bank, settled_on)].append((channel, pay_date, receipt_no, fen))
    files = []
    for n, ((bank, settled_on), lines) in enumerate(sorted(by_file.items())):
        text = ["结算流水号,结算日期,统筹区,渠道,缴费日期,税票号码,金额"]
        ref = f"{settled_on:%Y%m%d}{n:03d}"
        for channel, pay_date, receipt_no, fen in lines:
            text.append(f"{ref},{settled_on},{REGION},{channel},{pay_date},{receipt_no or ''},{fen / 100:.2f}")
        if n == 0:
            text.append(f"{ref},{settled_on},{REGION},pigeon,{settled_on},3340BAD,400.00")
        files.append((bank, f"{bank}-{settled_on}.csv", "\n".join(text) + "\n"))
    return files


def _agent_file(lines: list) -> str:
    text = ["agent_id,line_ref,region,year,township,village,person_id,receipt_no,amount,collected_on,deposited_on,"
            "deposit_ref"]
    for agent, ref, p, receipt_no, fen, collected, deposited in lines:
        text.append(f"{agent},{ref},{REGION},{YEAR},{p.township},\"{p.village}\",{p.person_id},{receipt_no or ''},"
                    f"{fen / 100:.2f},{collected},{deposited},D{ref}")
    return "\n".join(text) + "\n"


def _targets_file() -> str:
    return "region,year,township,target_people\n" + "".join(
        f"{REGION},{YEAR},{t},{n}\n" for t, n in (("榴城镇", 100), ("荆山镇", 60), ("唐集镇", 40)))


def expected_progress(season: Season) -> dict[tuple[str, str], tuple[int, int, int, int]]:
    """(township, village) -> (baseline, enrolled, paid, paid fen), counted from the people themselves."""
    out: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for p in season.people:
        row = out[(p.township, p.village)]
        row[0] += 1
        booked = p.paid_fen + getattr(p, "ghost_paid", 0) if p.state in ("paid", "registered") else 0
        if p.state == "paid" and booked > 0:
            row[1] += 1
            row[2] += 1
            row[3] += booked
        elif p.state == "registered" and p.due_fen == 0:
            row[1] += 1
    return {k: tuple(v) for k, v in out.items()}


LAST_YEAR_HEADER = ["序号", "公民身份号码", "姓名", "乡镇（街道）", "村（社区）", "参保年度", "缴费日期", "缴费金额", "人员类别"]
CATEGORY_WORDS = {None: "普通居民", "minimum_living": "低保对象", "extreme_poverty": "特困人员"}


def last_year_rows(season: Season, seed: int = 3, share: float = 0.85) -> tuple[list[list[object]], set[str]]:
    """Last year's enrollment of the season's people as the county would export it: a title row, the header, one
    row per person enrolled last year (`share` of them, paid across last year's collection period, the fully
    subsidised with no date), three rows to refuse (an ID Excel turned into a number, another year, the same
    person twice) and a 合计 row. Returns the rows and the IDs that should be taken."""
    rnd = random.Random(seed)
    rows: list[list[object]] = [["怀远县2024年度城乡居民基本医疗保险参保名单"], list(LAST_YEAR_HEADER)]
    taken: set[str] = set()
    for n, p in enumerate(season.people, start=1):
        if rnd.random() >= share:
            continue
        paid_on = None if p.due_fen == 0 else date(2023, 9, 1) + timedelta(days=int(rnd.betavariate(1.3, 1.6) * 122))
        rows.append([n, p.person_id, p.name, p.township, p.village, 2024, paid_on.isoformat() if paid_on else "",
                     "0.00" if paid_on is None else "380.00", CATEGORY_WORDS[p.category]])
        taken.add(p.person_id)
    first = next(r for r in rows[2:])
    rows.append([9001, int(str(first[1])[:15] + "000"), "错号", "榴城镇", "城关村", 2024, "2023-10-01", "380",
                 "普通居民"])  # Excel kept 15 digits
    rows.append([9002, first[1], first[2], first[3], first[4], 2023, "2022-10-01", "350", "普通居民"])
    rows.append([9003, first[1], first[2], first[3], first[4], 2024, "2023-11-01", "380", "普通居民"])
    rows.append(["合计", f"{len(taken)}人"])
    return rows, taken


def last_year_xlsx(rows: list[list[object]]) -> bytes:
    import io

    from openpyxl import Workbook

    book = Workbook()
    ws = book.active
    ws.title = "参保名单"
    for row in rows:
        ws.append(row)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(LAST_YEAR_HEADER))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def last_year_csv(rows: list[list[object]], encoding: str = "gb18030") -> bytes:
    """The same list as Windows Excel saves "CSV": GB18030."""
    import csv
    import io

    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode(encoding)


def enrolled(p: Person) -> bool:
    """Enrolled as reconciliation counts it (paid, or registered with nothing to pay), from the person."""
    booked = p.paid_fen + getattr(p, "ghost_paid", 0)
    return (p.state == "paid" and booked > 0) or (p.state == "registered" and p.due_fen == 0)


async def credential(pg_dsn: str, role: str = "clerk", region: str = REGION, holder: str = "县医保中心对账员") -> dict:
    """Authorization headers of a fresh reconciliation credential in the test system's database."""
    import asyncpg

    from services.reconciliation import access

    conn = await asyncpg.connect(pg_dsn, server_settings={"search_path": "reconciliation"})
    try:
        token = await access.grant(conn, region, role, holder)  # type: ignore[arg-type]
    finally:
        await conn.close()
    return {"Authorization": f"Bearer {token}"}
