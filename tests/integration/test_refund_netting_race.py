"""No double refund when enrollment and the subsidy service decide at the same time (issue 13, point 6), on a
real PostgreSQL through enrollment's use cases.

A 先缴后补 refund (seed 000 L111-115) the subsidy service ordered before hearing that the enrollment ended
may reach enrollment after the personal refund (L211-219) was approved: the order then keeps only what
the person still bore and the rest is withheld, said in words on the record (domain/netting.py rule 2).
And a refund decision waits for a subsidy refund being recorded for the same enrollment, then nets it.
"""
from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import asyncpg
import pytest

from services.enrollment import usecases
from services.enrollment.domain import refunds
from shared.access import Caller
from shared.db import create_pool
from shared.messages import ReceiptAccepted, RefundOrdered
from shared.migrate import ServiceSchema
from shared.uow import unit_of_work
from tests.support.people import resident_id
from tests.support.system import fresh_database

HY = "340321"
OFFICE = Caller(HY, "agency", "怀远县医保中心")
ASKED = date(2024, 12, 1)  # before the benefit start 2025-01-01


@pytest.fixture
async def pool(servers) -> AsyncIterator[asyncpg.Pool]:
    async with fresh_database(servers, "net", ServiceSchema("enrollment", "enrollment")) as dsn:
        opened = await create_pool(dsn, "enrollment", max_size=3)
        try:
            yield opened
        finally:
            await opened.close()


def uow(pool: asyncpg.Pool):
    return unit_of_work(pool, schema="enrollment", topic_prefix="net.")


async def paid_400(pool: asyncpg.Pool) -> str:
    person = resident_id(HY)
    async with uow(pool) as u:
        await usecases.mark_paid(u, [ReceiptAccepted(
            message_id=uuid.uuid4(), occurred_at=datetime.now(UTC), receipt_no=f"R{uuid.uuid4().hex[:16]}",
            person_id=person, region=HY, year=2025, amount_fen=40000, channel="wechat",
            paid_at=datetime(2024, 11, 5, 2, tzinfo=UTC))])
    return person


def order(person: str, refund_id: uuid.UUID | None = None) -> RefundOrdered:
    return RefundOrdered(message_id=uuid.uuid4(), occurred_at=datetime(2024, 11, 6, 2, tzinfo=UTC),
                         refund_id=refund_id or uuid.uuid4(), person_id=person, region=HY, year=2025,
                         amount_fen=40000, reason="refund_after_subsidy", funding_source="finance", township="榴城镇")


async def refund(pool: asyncpg.Pool, person: str) -> refunds.Settled:
    async with uow(pool) as u:
        return await usecases.request_refund(u, OFFICE, person, 2025, "death", ASKED)


async def record(pool: asyncpg.Pool, person: str) -> dict:
    async with uow(pool) as u:
        return await usecases.person_record(u, OFFICE, person)


async def test_an_order_arriving_after_the_personal_refund_is_withheld_and_the_record_says_so(pool) -> None:
    person = await paid_400(pool)
    settled = await refund(pool, person)
    assert (settled.refund.approved, settled.refund.amount_fen) == (True, 40000)  # nothing known to net yet

    late = order(person)
    async with uow(pool) as u:
        await usecases.record_subsidy_refunds(u, [late])
    async with uow(pool) as u:  # the same order again (another message): kept once, as first decided
        await usecases.record_subsidy_refunds(u, [order(person, late.refund_id)])

    held = await record(pool, person)
    [kept] = held["subsidy_refunds"]
    assert (kept["id"], kept["amount_fen"], kept["withheld_fen"]) == (late.refund_id, 40000, 40000)
    assert "所缴400元已全部退还，本单400元不予退补，乡镇不得支付，已支付的须追回" in kept["note"]
    [balance] = held["refund_balances"]
    assert (balance["paid_fen"], balance["returned_fen"], balance["kept_fen"]) == (40000, 40000, 0)
    assert balance["text"] == ("2025年度：所缴400元；乡镇先缴后补退补0元（另有400元不予退补，乡镇不得支付）；"
                               "个人退费400元；合计退还400元，本人负担0元")


async def test_a_refund_decision_waits_for_an_order_being_recorded_and_then_nets_it(pool) -> None:
    person = await paid_400(pool)
    async with uow(pool) as u:
        await usecases.record_subsidy_refunds(u, [order(person)])  # holds the enrollment until committed
        deciding = asyncio.create_task(refund(pool, person))
        await asyncio.sleep(0.5)
        assert not deciding.done()
    settled = await asyncio.wait_for(deciding, 10)
    assert (settled.refund.approved, settled.refund.amount_fen, settled.refund.subsidy_refunded_fen) == (True, 0, 40000)
    held = await record(pool, person)
    assert [o["withheld_fen"] for o in held["subsidy_refunds"]] == [0]
    assert [(b["returned_fen"], b["kept_fen"]) for b in held["refund_balances"]] == [(40000, 0)]
