"""A small population stored by the subsidy service's own use cases, for the what-if tests (integration, browser).

怀远县 2025 (seed 000): 400 元 a person (L75-79), 低保 340 (L85-87), 监测 200 (L87-89), 特困 full (L81-85),
重点优抚 full, paid first and refunded (L101-103, L111-115). The question asked of it, `CHANGES`: 420 元 a
person and 低保 360. A general resident then bears 20 more, a 监测 person 20 more, a 低保 person the same 60
(the fund 20 more), 特困 and 重点优抚 people nothing (the funds 20 more each). `KINDS` says so per kind and
`expected` adds it up, from these figures alone, not from the code under test.

Besides 怀远's 29 people (27 registered, one known by a status only, one registered who then died), a person
listed by 怀远 but enrolled in 霍邱 (霍邱's due), three of 霍邱's own, and three of 安康 (two in 紫阳县).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime

import asyncpg

from services.subsidy import usecases
from shared.messages import EnrollmentEnded, EnrollmentRegistered, ReceiptAccepted, StatusChanged
from shared.policy.amend import parse_change
from shared.uow import unit_of_work
from tests.support.people import resident_id

HY, HQ, AK, ZIYANG = "340321", "341522", "610900", "610924"
YEAR, DAY = 2025, date(2024, 11, 20)  # inside 怀远's collection period (L119-121): the unpaid are judged on it
NOW = datetime(2024, 11, 20, 3, 0, tzinfo=UTC)
CHANGES = [parse_change("money.individual_contribution=420"), parse_change("subsidies.minimum_living.amount=360")]
PEOPLE_OF_HY = 29


@dataclass(frozen=True)
class Kind:
    """A kind of person and what the seed and the change say they bear and the funds pay (fen)."""
    status: str | None
    paid_fen: int
    borne: tuple[int, int]        # before, after
    subsidy: tuple[int, int]
    source: str | None


KINDS = {
    "general": Kind(None, 0, (40000, 42000), (0, 0), None),
    "minimum_living": Kind("minimum_living", 0, (6000, 6000), (34000, 36000), "medical_assistance"),
    "minimum_living_paid": Kind("minimum_living", 6000, (6000, 6000), (34000, 36000), "medical_assistance"),
    "poverty_monitoring": Kind("poverty_monitoring", 0, (20000, 22000), (20000, 20000), "medical_assistance"),
    "extreme_poverty": Kind("extreme_poverty", 0, (0, 0), (40000, 42000), "medical_assistance"),
    "entitled_veteran": Kind("entitled_veteran", 40000, (0, 0), (40000, 42000), "finance"),
}
# (kind, township, how many) of 怀远县's registered people
REGISTERED = [("general", "榴城镇", 5), ("general", "龙亢镇", 4), ("general", "荆山镇", 3),
              ("minimum_living", "榴城镇", 2), ("minimum_living", "龙亢镇", 2), ("minimum_living_paid", "荆山镇", 2),
              ("poverty_monitoring", "龙亢镇", 4), ("extreme_poverty", "榴城镇", 3), ("entitled_veteran", "荆山镇", 2)]


def _envelope() -> dict:
    return {"message_id": uuid.uuid4(), "occurred_at": NOW}


def _listed(person: str, region: str, category: str, township: str) -> StatusChanged:
    department = "veterans" if category == "entitled_veteran" else "civil_affairs"
    return StatusChanged(**_envelope(), person_id=person, region=region, township=township, village=None,
                         statuses=[{"category": category, "department": department, "certified_on": "2024-03-01",
                                    "ended_on": None}])


def _registered(person: str, region: str, township: str) -> EnrollmentRegistered:
    return EnrollmentRegistered(**_envelope(), person_id=person, region=region, year=YEAR, township=township,
                                registered_on=date(2024, 10, 8))


def _paid(person: str, region: str, fen: int) -> ReceiptAccepted:
    return ReceiptAccepted(**_envelope(), receipt_no=f"R{uuid.uuid4().hex[:12]}", person_id=person, region=region,
                           year=YEAR, amount_fen=fen, channel="wechat", paid_at=datetime(2024, 10, 15, 2, 0, tzinfo=UTC))


async def store_population(pool: asyncpg.Pool, topic_prefix: str = "wi.") -> dict[str, tuple[str, str]]:
    """Store the population through subsidy's use cases; returns 怀远's people → (kind, township). `topic_prefix`:
    the running system's, where a subsidy service will relay the outbox these use cases fill."""
    people: dict[str, tuple[str, str]] = {}
    statuses, enrolled, receipts = [], [], []
    seq = 100
    for kind, township, count in REGISTERED:
        for _ in range(count):
            seq += 1
            person = resident_id(HY, born=date(1960 + seq % 40, 1 + seq % 12, 1 + seq % 28), seq=seq)
            people[person] = (kind, township)
            k = KINDS[kind]
            enrolled.append(_registered(person, HY, township))
            if k.status:
                statuses.append(_listed(person, HY, k.status, township))
            if k.paid_fen:
                receipts.append(_paid(person, HY, k.paid_fen))
    only_listed = resident_id(HY, born=date(1971, 5, 5), seq=901)          # known by a status only
    people[only_listed] = ("minimum_living", "龙亢镇")
    statuses.append(_listed(only_listed, HY, "minimum_living", "龙亢镇"))
    ended = resident_id(HY, born=date(1940, 2, 2), seq=902)                # registered, then died
    people[ended] = ("ended", "榴城镇")
    enrolled.append(_registered(ended, HY, "榴城镇"))
    elsewhere = resident_id(HY, born=date(1980, 8, 8), seq=903)            # listed by 怀远, enrolled in 霍邱
    statuses.append(_listed(elsewhere, HY, "minimum_living", "榴城镇"))
    enrolled.append(_registered(elsewhere, HQ, "城关镇"))
    for n in range(3):
        enrolled.append(_registered(resident_id(HQ, seq=910 + n), HQ, "城关镇"))
    for n, region in enumerate((ZIYANG, ZIYANG, AK)):
        person = resident_id(region, seq=920 + n)
        enrolled.append(_registered(person, region, "城关镇"))
        statuses.append(_listed(person, region, "minimum_living", "城关镇"))
    async with unit_of_work(pool, schema="subsidy", topic_prefix=topic_prefix, now=NOW) as uow:
        await usecases.record_enrollments(uow, enrolled)
        await usecases.record_statuses(uow, statuses, campaign_year=YEAR)
        await usecases.record_receipts(uow, receipts)
    async with unit_of_work(pool, schema="subsidy", topic_prefix=topic_prefix, now=NOW) as uow:
        await usecases.record_enrollments(uow, [EnrollmentEnded(**_envelope(), person_id=ended, region=HY, year=YEAR,
                                                                 reason="death", ended_on=date(2024, 11, 1))])
    assert len(people) == PEOPLE_OF_HY
    return people


def expected(people: dict[str, tuple[str, str]]) -> dict[str, object]:
    """The totals from the seed's figures and the change alone (KINDS): borne and subsidy [before, after], by
    funding source and residents' burden by township."""
    borne, subsidy = [0, 0], [0, 0]
    sources: dict[str, list[int]] = {}
    townships: dict[str, list[int]] = {}
    for kind, township in people.values():
        k = KINDS.get(kind)
        b, s = (k.borne, k.subsidy) if k else ((0, 0), (0, 0))
        for side in (0, 1):
            borne[side] += b[side]
            subsidy[side] += s[side]
            if k and k.source:
                sources.setdefault(k.source, [0, 0])[side] += s[side]
            townships.setdefault(township, [0, 0])[side] += b[side]
    return {"borne": borne, "subsidy": subsidy, "sources": sources, "townships": townships}
