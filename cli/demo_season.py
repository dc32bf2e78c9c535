"""The demo season behind `yibao demo`: drive a short collection season through the running services and show the result.

What a county sees in a morning of the campaign, in miniature: the household
register is loaded, civil affairs and agriculture post their monthly lists, the
subsidy service assesses each person's due, the tax gateway streams receipts
(one wrong amount, one resent twice), reconciliation counts who paid per
village, and the fully subsidised (特困, due 0) are enrolled and covered with no
receipt, as their records show; a newborn, a late payer and a lapse paying a gap year
back show their own paths (cli/demo_people.py). Talks to the services over HTTP and Kafka like any
other client.
"""
from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import httpx
import typer
from aiokafka import AIOKafkaProducer

from cli import demo_people
from services.enrollment import store as enrollment_store
from services.identity_certification import store as identity_store
from services.reconciliation import access as reconciliation_access
from services.subsidy.access import ROLES as SUBSIDY_ROLES
from shared.codes import LABEL, FundingSource
from shared.db import schema_connection
from shared.policy import standard_fen
from shared.resident_id import check_character, mask, person_key

REGION, YEAR = "340321", 2025  # 怀远县, the 2025 coverage year collected in autumn 2024
PLACES = [("榴城镇", "城关村"), ("榴城镇", "东关村"), ("龙亢镇", "龙亢村"), ("褚集镇", "褚集村")]
STATUSES = [("civil_affairs", "minimum_living"), ("civil_affairs", "extreme_poverty"),
            ("agriculture", "poverty_monitoring")]


def _person(rng: random.Random, index: int) -> str:
    born = date(rng.randint(1945, 2010), rng.randint(1, 12), rng.randint(1, 28))
    first17 = f"{REGION}{born:%Y%m%d}{index:03d}"
    return first17 + check_character(first17)


@dataclass(frozen=True)
class Endpoints:
    identity_url: str
    enrollment_url: str
    subsidy_url: str
    reconciliation_url: str
    pg_dsn: str
    kafka: str
    receipts_topic: str


async def run(where: Endpoints, count: int, seed: int) -> None:
    identity_url, enrollment_url, subsidy_url = where.identity_url, where.enrollment_url, where.subsidy_url
    reconciliation_url, pg_dsn = where.reconciliation_url, where.pg_dsn
    rng = random.Random(seed)
    run = uuid.uuid4().int % 900 + 100  # fresh sequence numbers: a second demo run adds new people
    residents = [_person(rng, (run + i) % 1000) for i in range(count)]
    places = {p: rng.choice(PLACES) for p in residents}
    async with httpx.AsyncClient(timeout=15) as client:
        typer.echo(f"1. 户籍底册：导入{count}人（{REGION} 怀远县）")
        baseline = {"people": [{"id": p, "region": REGION, "township": places[p][0], "village": places[p][1]}
                               for p in residents]}
        agency = {"Authorization": f"Bearer {await _enrollment_credential(pg_dsn)}"}
        (await client.post(f"{enrollment_url}/api/baseline", json=baseline, headers=agency)).raise_for_status()

        typer.echo("2. 部门报送：民政、农业农村上报困难人员名单")
        vulnerable = residents[: count // 3]
        for department in ("civil_affairs", "agriculture"):
            rows = [{"id": p, "category": category, "certified_on": "2024-10-08", "township": places[p][0],
                     "village": places[p][1]}
                    for i, p in enumerate(vulnerable)
                    for dept, category in [STATUSES[i % len(STATUSES)]] if dept == department]
            token = await _credential(pg_dsn, department)
            answer = await client.post(f"{identity_url}/api/submissions", json={"period": "2024-10", "rows": rows},
                                       headers={"Authorization": f"Bearer {token}"})
            answer.raise_for_status()
            typer.echo(f"   {department}: {answer.json()['message']}")

        typer.echo("3. 核定应缴：困难人员向医保核定服务询价，其他人按政策包个人缴费标准")
        standard = standard_fen(REGION, YEAR)
        dues = {p: standard for p in residents}
        gateway = {"Authorization": f"Bearer {await _gateway_credential(pg_dsn)}"}
        for p in vulnerable:
            dues[p] = await _wait_quote(client, subsidy_url, p, gateway)
            typer.echo(f"   {mask(p)} 应缴 {dues[p] / 100:.2f} 元")

        typer.echo("4. 税务缴费：微信、支付宝、村居代收陆续到账（含1笔金额错误、1笔重复推送）")
        # Fully subsidised people (特困 …) owe nothing: the fund pays, no receipt comes from the tax side.
        payers = [p for p in residents[: count * 3 // 4] if dues[p] > 0]
        receipts = [_receipt(p, dues[p], rng) for p in payers]
        receipts.append(_receipt(residents[-1], dues[residents[-1]] + 1000, rng))  # wrong amount: rejected
        receipts.append(receipts[0])  # the gateway resends one: ignored
        before = sum(v["paid_people"] for v in await _wait_progress(client, reconciliation_url, 0))
        await _produce(where.kafka, where.receipts_topic, receipts)

        typer.echo("5. 对账进度：按村统计已缴费人数")
        _print_villages(await _wait_progress(client, reconciliation_url, before + len(payers)))
        free = [p for p in residents if dues[p] == 0]
        typer.echo("6. 资助参保：全额资助人员不缴费即参保，待遇期开始后享受待遇（一人一档）")
        await _show_funded(client, enrollment_url, agency, free)
        typer.echo("7. 特殊路径：新生儿、期后缴费、断保补缴（一人一档）")
        await demo_people.show(client, enrollment_url, pg_dsn, lambda sent: _produce(where.kafka, where.receipts_topic,
                                                                                     sent))
        viewer = await _console_credential(pg_dsn)
        typer.echo(f"8. 运行监控台：{reconciliation_url}/api/console （查看凭证：{viewer}）")
        typer.echo(f"完成：{len(payers)}人缴费入账，{len(free)}人全额资助无需缴费，1笔金额不符被退回，1笔重复推送被忽略。")


def _print_villages(villages: list[dict[str, Any]]) -> None:
    typer.echo(f"   {'乡镇':<6}{'村':<8}{'已缴人数':>6}{'金额(元)':>12}")
    for v in villages:
        typer.echo(f"   {v['township']:<6}{v['village']:<8}{v['paid_people']:>6}{v['paid_fen'] / 100:>12.2f}")


async def _show_funded(client: httpx.AsyncClient, enrollment_url: str, agency: dict[str, str], free: list[str],
                       timeout: float = 30) -> None:
    """Each fully subsidised person's enrollment once enrollment has made it (from their due of 0), after the
    day's coverage step: a funded enrollment's benefit window begins like any paid one's."""
    for person in free:
        await _wait_enrolled(client, enrollment_url, agency, person, timeout)
    (await client.post(f"{enrollment_url}/api/coverage/advance", json={}, headers=agency)).raise_for_status()
    for person in free:
        e = await _wait_enrolled(client, enrollment_url, agency, person, timeout)
        funds = "、".join(LABEL[FundingSource(f)] for f in e["funded_by"].split("+"))
        typer.echo(f"   {mask(person)} 参保状态 {e['state']}（全额资助：{funds}），"
                   f"个人缴费{e['paid_total_fen'] / 100:g}元，待遇期 {e['benefit_start']} 至 {e['benefit_end']}")


async def _wait_enrolled(client: httpx.AsyncClient, enrollment_url: str, agency: dict[str, str], person: str,
                         timeout: float) -> dict[str, Any]:
    """The year's paid or covered enrollment in the person's record (一人一档), once it is there."""
    deadline = time.monotonic() + timeout
    while True:
        answer = await client.post(f"{enrollment_url}/api/person-record", json={"id": person}, headers=agency)
        enrollments = answer.json().get("enrollments", []) if answer.status_code == 200 else []
        found = [e for e in enrollments if e["year"] == YEAR and e["state"] in ("paid", "covered")]
        if found:
            return dict(found[0])
        if time.monotonic() > deadline:
            typer.echo(f"{mask(person)} not enrolled within {timeout}s: is the enrollment service up?", err=True)
            raise typer.Exit(1)
        await asyncio.sleep(0.3)


async def _credential(pg_dsn: str, department: str) -> str:
    async with schema_connection(pg_dsn, "identity") as conn:
        return await identity_store.create_credential(conn, department, REGION)


async def _enrollment_credential(pg_dsn: str) -> str:
    """The county insurance office's credential: enrollment answers only for its own region."""
    async with schema_connection(pg_dsn, "enrollment") as conn:
        return await enrollment_store.create_credential(conn, REGION, "agency", "演示：医保经办")


async def _console_credential(pg_dsn: str) -> str:
    """A read-only credential for the ops console of the demo region."""
    async with schema_connection(pg_dsn, "reconciliation") as conn:
        return await reconciliation_access.grant(conn, REGION, "viewer", "演示：运行监控")


async def _gateway_credential(pg_dsn: str) -> str:
    """The tax gateway's credential for the subsidy quote of the demo region."""
    async with schema_connection(pg_dsn, "subsidy") as conn:
        return await SUBSIDY_ROLES.grant(conn, REGION, "tax_gateway", "演示：税务征收端")


async def _wait_quote(client: httpx.AsyncClient, subsidy_url: str, person: str, headers: dict[str, str],
                      timeout: float = 30) -> int:
    deadline = time.monotonic() + timeout
    while True:
        answer = await client.post(f"{subsidy_url}/api/quote", json={"id": person, "year": YEAR}, headers=headers)
        if answer.status_code == 200:
            due: int = answer.json()["due_fen"]
            return due
        if time.monotonic() > deadline:
            typer.echo(f"no due assessed for {mask(person)} within {timeout}s: is the subsidy service up?", err=True)
            raise typer.Exit(1)
        await asyncio.sleep(0.2)


def _receipt(person: str, amount_fen: int, rng: random.Random) -> dict[str, Any]:
    channel = rng.choice(["wechat", "alipay", "village_agent", "bank"])
    return {
        "message_id": str(uuid.uuid4()), "occurred_at": datetime.now(UTC).isoformat(),
        "receipt_no": f"334{uuid.uuid4().int % 10**15:015d}", "person_id": person, "region": REGION, "year": YEAR,
        "amount_fen": amount_fen, "channel": channel,
        "agent_id": "agent-0001" if channel == "village_agent" else None,
        "paid_at": datetime(2024, 11, rng.randint(1, 30), rng.randint(8, 20), tzinfo=UTC).isoformat(),
    }


async def _produce(kafka: str, topic: str, receipts: list[dict[str, Any]]) -> None:
    from shared.kafka_security import aiokafka_options
    from shared.settings import ServiceSettings

    # On a broker with SASL the demo sends as the tax gateway (YIBAO_KAFKA_USERNAME / _PASSWORD).
    producer = AIOKafkaProducer(bootstrap_servers=kafka, enable_idempotence=True,
                                **aiokafka_options(ServiceSettings()))
    await producer.start()
    try:
        for r in receipts:
            await producer.send(topic, json.dumps(r).encode(), key=person_key(r["person_id"]).encode())
        await producer.flush()
    finally:
        await producer.stop()


async def _wait_progress(client: httpx.AsyncClient, url: str, at_least: int, timeout: float = 60) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        answer = await client.get(f"{url}/api/progress", params={"region": REGION, "year": YEAR})
        villages = answer.json().get("villages", []) if answer.status_code == 200 else []
        if sum(v["paid_people"] for v in villages) >= at_least or time.monotonic() > deadline:
            return villages
        await asyncio.sleep(0.3)
