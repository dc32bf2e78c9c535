"""A small season of 安康市 (610900, a city-wide pooling region, seed 004) and some of its counties, as the other
services would have published it to reconciliation: for the city view's tests (integration: the roll-up totals;
e2e: the page in a browser).

People live under the codes their data arrives with: 紫阳县 610924 and 白河县 610929 (each has a 城关镇: the
roll-up must keep them apart), 汉滨区 610902, the city's own code 610900 (registered there without a county),
the retired code 610928 (旬阳县 until 2021, still on old records) — and one county of another city
(怀远县 340321) that the city must not count. Each person is in the baseline; some registered, some paid, some
certified 低保 (certified 2024-10-08, inside 安康's collection period 2024-09-01 … 12-20, 004 L60), some on last
year's list. `expected` counts every figure per (code, township) from the people alone, not from the service.
"""
from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime

from shared.messages import EnrollmentPaid, EnrollmentRegistered, PersonBaselined, StatusChanged
from tests.support.people import resident_id

CITY, YEAR = "610900", 2025
DAY = date(2024, 11, 20)  # the day the 未续保 lists are asked for: inside the collection period
NOW = datetime(2024, 11, 20, 3, 0, tzinfo=UTC)
OUTSIDER = "340321"
# (code, township, village, how many people): every fourth paid, every third registered only, every fifth 低保,
# every second on last year's list
PLACES = [("610924", "城关镇", "紫府社区", 9), ("610924", "洞河镇", "洞河村", 6), ("610929", "城关镇", "城关社区", 7),
          ("610929", "茅坪镇", "茅坪村", 4), ("610902", "江北街道", "张岭社区", 5), (CITY, "汉滨区江北街道", "张岭社区", 3),
          ("610928", "城关镇", "城关村", 2), (OUTSIDER, "榴城镇", "城关村", 4)]
TARGETS = {("610924", "城关镇"): 10, ("610924", "洞河镇"): 8, ("610929", "城关镇"): 9}
PAID_FEN = 40000  # 004 L30: 400 元 a person


@dataclass(frozen=True)
class Resident:
    person_id: str
    code: str
    township: str
    village: str
    name: str
    paid: bool
    registered: bool
    minimum_living: bool
    last_year: bool

    @property
    def enrolled(self) -> bool:
        return self.paid  # nobody here is fully subsidised: enrolled means paid (progress.py)


def residents() -> list[Resident]:
    out, n = [], 0
    for code, township, village, count in PLACES:
        for _ in range(count):
            n += 1
            out.append(Resident(resident_id(code, born=date(1950 + n % 50, 1 + n % 12, 1 + n % 28), seq=300 + n),
                                code, township, village, f"居民{n:03d}", paid=n % 4 == 0,
                                registered=n % 4 != 0 and n % 3 == 0, minimum_living=n % 5 == 0, last_year=n % 2 == 0))
    return out


def _envelope() -> dict:
    return {"message_id": uuid.uuid4(), "occurred_at": NOW}


def messages(people: list[Resident]) -> dict[str, list]:
    """topic → the events reconciliation consumes, in the order the other services would publish them."""
    out: dict[str, list] = defaultdict(list)
    for p in people:
        where = {"person_id": p.person_id, "region": p.code, "township": p.township, "village": p.village}
        out["population.baseline"].append(PersonBaselined(**_envelope(), **where, name=p.name))
        if p.minimum_living:
            out["identity.status-changed"].append(StatusChanged(**_envelope(), **where, statuses=[{
                "category": "minimum_living", "department": "civil_affairs", "certified_on": "2024-10-08",
                "ended_on": None}]))
        if p.registered or p.paid:
            out["enrollment.events"].append(EnrollmentRegistered(**_envelope(), **where, year=YEAR,
                                                                 registered_on=date(2024, 10, 8)))
        if p.paid:
            out["enrollment.events"].append(EnrollmentPaid(**_envelope(), **where, year=YEAR, receipt_no=f"R{p.person_id[-8:]}",
                                                           amount_fen=PAID_FEN, paid_total_fen=PAID_FEN))
    return dict(out)


def last_year_csv(people: list[Resident], code: str) -> bytes:
    """Last year's list of one county (or the city's own code) as the county exports it (UTF-8 CSV)."""
    rows = ["序号,公民身份号码,姓名,乡镇（街道）,村（社区）,参保年度,缴费日期,缴费金额,人员类别"]
    rows += [f"{n},{p.person_id},{p.name},{p.township},{p.village},{YEAR - 1},2023-10-10,380.00,普通居民"
             for n, p in enumerate((p for p in people if p.code == code and p.last_year), start=1)]
    return ("\n".join(rows) + "\n").encode()


def targets_csv() -> str:
    return "region,year,township,target_people\n" + "".join(f"{c},{YEAR},{t},{n}\n" for (c, t), n in TARGETS.items())


def expected(people: list[Resident]) -> dict[tuple[str, str], dict[str, int | None]]:
    """(code, township) → the figures the city view must show for it, from the people alone."""
    out: dict[tuple[str, str], dict[str, int | None]] = {}
    for p in people:
        if p.code == OUTSIDER:
            continue
        f = out.setdefault((p.code, p.township), {"baseline": 0, "enrolled": 0, "paid": 0, "paid_fen": 0,
                                                  "target": TARGETS.get((p.code, p.township)), "listed": 0,
                                                  "not_renewed": 0, "vulnerable": 0})
        f["baseline"] += 1
        f["enrolled"] += p.enrolled
        f["paid"] += p.paid
        f["paid_fen"] += PAID_FEN if p.paid else 0
        if not p.enrolled and (p.last_year or p.minimum_living):
            f["listed"] += 1
            f["not_renewed"] += p.last_year
            f["vulnerable"] += p.minimum_living
    return out
