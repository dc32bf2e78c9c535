"""One region's enrollments at the counter: ending one, refunding one, coverage as days pass, the person's record."""
from __future__ import annotations

from datetime import date
from typing import Any, NamedTuple
from uuid import uuid4

import asyncpg

from services.enrollment import events, store
from services.enrollment.domain import lifecycle, netting, refunds
from services.enrollment.domain.enrollment import Enrollment
from services.enrollment.domain.errors import Conflict, Invalid, NotFound
from services.enrollment.usecases import subsidy_refunds
from services.enrollment.usecases.duplicate_cases import refund_events
from shared.access import Caller
from shared.resident_id import mask
from shared.uow import UnitOfWork


class Coverage(NamedTuple):
    region: str
    as_of: date
    covered: int


async def end_enrollment(uow: UnitOfWork, caller: Caller, person_id: str, year: int, reason: str,
                         ended_on: date) -> Enrollment:
    """End the person's enrollment of `year` in the caller's region (death, employee insurance, another region)."""
    row = await _one(uow.conn, person_id, caller.region, year)
    if row.state == "ended":
        raise Conflict(f"{year}年度参保已于{row.ended_on}终止")
    row = lifecycle.end(row, reason, ended_on)
    await store.save_enrollments(uow.conn, [row], uow.now)
    uow.publish_all([events.ended(row, uow.now)])
    return row


async def request_refund(uow: UnitOfWork, caller: Caller, person_id: str, year: int, reason: str,
                         requested_on: date | None = None) -> refunds.Settled:
    """A refund asked for at the counter (by default today in China), net of the subsidy service's refunds
    (先缴后补) already ordered: approved ends the enrollment; refused leaves it as it is."""
    today = lifecycle.china_day(uow.now)
    requested_on = requested_on or today
    if requested_on > today:
        raise Invalid(f"申请日期{requested_on}晚于今天")
    row = await _one(uow.conn, person_id, caller.region, year)
    if row.state not in lifecycle.PAID_STATES:
        raise Conflict(f"{year}年度参保状态为{row.state}，没有可退的缴费")
    if row.funded and row.paid_total_fen <= 0:
        raise Conflict(f"{year}年度为全额资助参保（{row.funded_by}），本人没有缴费，没有可退的缴费")
    statuses = await store.statuses_of(uow.conn, [row.home])
    subsidy = await store.subsidy_refunds(uow.conn, [row.key])
    settled = refunds.settle(row, reason, requested_on, statuses.get(row.home, ()), refund_id=uuid4(),
                             requested_by=caller.holder, end_anyway=False,
                             subsidy_refunded_fen=netting.returned(subsidy.get(row.key, ())))
    await store.save_refund(uow.conn, settled.refund, uow.now)
    await store.save_enrollments(uow.conn, [settled.enrollment], uow.now)
    uow.publish_all(refund_events(settled, uow))
    return settled


async def advance_coverage(uow: UnitOfWork, caller: Caller, as_of: date | None = None) -> Coverage:
    """Mark the caller's region's paid enrollments whose benefit window has begun by `as_of` (by default
    today in China) as covered."""
    as_of = as_of or lifecycle.china_day(uow.now)
    rows = [lifecycle.cover(r, as_of) for r in await store.coverable(uow.conn, caller.region, as_of)
            if lifecycle.coverable(r, as_of)]
    await store.save_enrollments(uow.conn, rows, uow.now)
    uow.publish_all([events.covered(r, uow.now) for r in rows])
    return Coverage(caller.region, as_of, len(rows))


async def person_record(uow: UnitOfWork, caller: Caller, person_id: str) -> dict[str, Any]:
    """Everything the caller's region holds about the person (一人一档), with each year's refunds balanced."""
    record = await store.person_record(uow.conn, person_id, caller.region)
    if not any(record.values()):
        raise NotFound(f"本统筹区查无此人：{mask(person_id)}")
    return {**record, "refund_balances": subsidy_refunds.balances(record)}


async def _one(conn: asyncpg.Connection, person_id: str, region: str, year: int) -> Enrollment:
    rows = await store.enrollments_of(conn, [person_id], [year], for_update=True)
    row = rows.get((person_id, region, year))
    if row is None:
        raise NotFound(f"本统筹区没有{mask(person_id)}的{year}年度参保记录")
    return row
