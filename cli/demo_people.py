"""The demo season's people with a path of their own (`yibao demo`, step 8): each taken through the running
services and shown by their record (一人一档).

- a newborn in 怀远县 (born 2025-02-01, registered and paid in February): covered from birth (seed 000 L133-139);
- a late payer in 怀远县 (a general resident paying 400 on 2025-02-15, after the collection period): covered
  after the waiting period;
- a lapse in 安康市 (covered 2021-2022, not 2023-2024) who pays 2023 back (补缴) and then 2025 in the supplementary
  period: 3 months fixed + 1 for the second gap year, 1 repaired by paying back (seed 004 L68, L106-108).
"""
from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import httpx
import typer

from services.enrollment import store as enrollment_store
from shared.db import schema_connection
from shared.resident_id import check_character, mask

HY, AK, YEAR = "340321", "610900", 2025
BEIJING = timezone(timedelta(hours=8))
PAYBACK = "resident_medical_insurance_payback"
Send = Callable[[list[dict[str, Any]]], Any]


def _person(region: str, born: date) -> str:
    first17 = f"{region}{born:%Y%m%d}{uuid.uuid4().int % 1000:03d}"
    return first17 + check_character(first17)


def _receipt(person: str, region: str, year: int, day: date, item: str | None = None) -> dict[str, Any]:
    sent = {"message_id": str(uuid.uuid4()), "occurred_at": datetime.now(UTC).isoformat(),
            "receipt_no": f"336{uuid.uuid4().int % 10**15:015d}", "person_id": person, "region": region,
            "year": year, "amount_fen": 40000, "channel": "wechat",
            "paid_at": datetime(day.year, day.month, day.day, 10, tzinfo=BEIJING).isoformat()}
    return {**sent, "item": item} if item else sent


async def show(client: httpx.AsyncClient, enrollment_url: str, pg_dsn: str, send: Send) -> None:
    agency = {region: {"Authorization": f"Bearer {await _agency(pg_dsn, region)}"} for region in (HY, AK)}
    baby, late, lapse = _person(HY, date(2025, 2, 1)), _person(HY, date(1968, 3, 3)), _person(AK, date(1975, 4, 4))
    people: list[tuple[str, str, str, dict[str, Any]]] = [
              (baby, HY, "新生儿（2025-02-01出生，2月登记缴费）", {"kind": "newborn", "registered_on": "2025-02-10"}),
              (late, HY, "集中缴费期后缴费的普通居民", {"registered_on": "2025-02-15"}),
              (lapse, AK, "断保2年（2023、2024）并补缴2023年度", {"registered_on": "2025-02-05",
                                                           "enrolled_years": [2021, 2022]})]
    for person, region, _, body in people:
        await client.post(f"{enrollment_url}/api/baseline", headers=agency[region], json={
            "people": [{"id": person, "region": region, "township": "演示镇", "village": "演示村"}]})
        answer = await client.post(f"{enrollment_url}/api/enrollments", headers=agency[region],
                                   json={"id": person, "year": YEAR, **body})
        answer.raise_for_status()
    await _tax_side_knows(pg_dsn, lapse)  # the payback is judged by the later year's due: let it arrive first
    await send([_receipt(baby, HY, YEAR, date(2025, 2, 10)), _receipt(late, HY, YEAR, date(2025, 2, 15)),
                _receipt(lapse, AK, 2023, date(2025, 2, 6), PAYBACK), _receipt(lapse, AK, YEAR, date(2025, 2, 10))])
    for person, region, label, _ in people:
        e = await _paid(client, enrollment_url, agency[region], person)
        wait = f"{e['waiting_months']}个月" + (f"{e['waiting_days']}天" if e["waiting_days"] else "")
        back = f"，补缴修复{e['paid_back_years']}" if e["paid_back_years"] else ""
        typer.echo(f"   {mask(person)} {label}：缴费{e['paid_total_fen'] / 100:g}元，待遇期 {e['benefit_start']} 至 "
                   f"{e['benefit_end']}，等待期{wait}{back}，大病保险限额调整{e['cap_adjustment_fen'] / 100:+g}元")


async def _agency(pg_dsn: str, region: str) -> str:
    async with schema_connection(pg_dsn, "enrollment") as conn:
        return await enrollment_store.create_credential(conn, region, "agency", "演示：医保经办")


async def _tax_side_knows(pg_dsn: str, person: str, timeout: float = 30) -> None:
    """Until payment ingest holds the person's due with their history (the gateway's quote→collect delay)."""
    deadline = time.monotonic() + timeout
    async with schema_connection(pg_dsn, "payment") as conn:
        while not await conn.fetchval("SELECT payer IS NOT NULL FROM due WHERE person_id = $1 AND year = $2",
                                      person, YEAR):
            if time.monotonic() > deadline:
                typer.echo(f"{mask(person)}: no due at the tax side within {timeout}s: is the subsidy service up?",
                           err=True)
                raise typer.Exit(1)
            await asyncio.sleep(0.3)


async def _paid(client: httpx.AsyncClient, url: str, headers: dict[str, str], person: str,
                timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        answer = await client.post(f"{url}/api/person-record", json={"id": person}, headers=headers)
        found = [e for e in (answer.json().get("enrollments", []) if answer.status_code == 200 else [])
                 if e["year"] == YEAR and e["state"] in ("paid", "covered")
                 and (not e["enrolled_years"] or e["paid_back_years"])]
        if found:
            return dict(found[0])
        if time.monotonic() > deadline:
            typer.echo(f"{mask(person)} not paid within {timeout}s: is the enrollment service up?", err=True)
            raise typer.Exit(1)
        await asyncio.sleep(0.3)
