"""The subsidy service on the real stack: dues that follow statuses, enrollments and payments.

Only the subsidy service runs (its own database, topic prefix and groups); the
test plays the other services by producing their events on the real topics, and
reads what subsidy publishes back from Kafka, its HTTP API and Redis.
"""
from __future__ import annotations

import asyncio
import json
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
import pytest
import redis.asyncio as aioredis

from shared.resident_id import person_key
from tests.e2e.conftest import ARTIFACTS
from tests.e2e.test_walking_skeleton import eventually
from tests.support.kafka import produce, read_all, wait_consumed
from tests.support.people import encode, resident_id
from tests.support.subsidy_access import subsidy_headers
from tests.support.system import System, running

HY, SQ, AK = "340321", "430502", "610900"


@pytest.fixture(scope="module")
async def subsidy(servers) -> AsyncIterator[System]:
    async with running(servers, ARTIFACTS, ("subsidy",)) as system:
        yield system


def envelope(**fields) -> dict:
    return {"message_id": str(uuid.uuid4()), "occurred_at": datetime.now(UTC).isoformat(), **fields}


def status_changed(person: str, region: str, *statuses: tuple[str, str], township: str = "榴城镇") -> dict:
    return envelope(event_type="identity.status-changed", person_id=person, region=region, township=township,
                    village="城关村", statuses=[{"category": c, "department": "civil_affairs", "certified_on": d}
                                                 for c, d in statuses])


def accepted(person: str, region: str, amount_fen: int, paid_at: str = "2024-10-15T09:30:00+08:00") -> dict:
    return envelope(event_type="payment.receipt-accepted", receipt_no=f"3340{uuid.uuid4().int % 10**14:014d}",
                    person_id=person, region=region, year=2025, amount_fen=amount_fen, channel="wechat",
                    paid_at=paid_at)


async def send(system: System, topic: str, *messages: dict) -> None:
    await produce(system.servers.kafka_bootstrap, system.topic(topic),
                  [(person_key(m["person_id"]).encode(), encode(m)) for m in messages])
    group = {"identity.status-changed": "statuses", "enrollment.events": "enrollment",
             "payment.receipt-accepted": "receipts"}[topic]
    await wait_consumed(system.servers.kafka_bootstrap, f"{system.tag}.subsidy.{group}", system.topic(topic))


async def quote(system: System, person: str, year: int = 2025, region: str | None = None) -> httpx.Response:
    """The tax gateway's quote, with a credential of the person's region (the ID's own unless given)."""
    headers = await subsidy_headers(system.pg_dsn, region or person[:6])
    async with httpx.AsyncClient(timeout=10) as client:
        return await client.post(system.url("subsidy", "/api/quote"), json={"id": person, "year": year},
                                 headers=headers)


async def published(system: System, topic: str, person: str) -> list[dict]:
    """What subsidy published for `person` on `topic`, once the outbox relay caught up."""
    async def relayed():
        conn = await asyncpg.connect(system.pg_dsn)
        try:
            return await conn.fetchval("SELECT count(*) = 0 FROM subsidy.outbox")
        finally:
            await conn.close()

    await eventually(relayed)
    records = await read_all(system.servers.kafka_bootstrap, system.topic(topic))
    return [json.loads(r.value) for r in records if json.loads(r.value).get("person_id") == person]


async def test_not_yet_paid_a_status_change_gives_a_new_due_at_once(subsidy):
    person = resident_id(HY)
    await send(subsidy, "identity.status-changed", status_changed(person, HY, ("minimum_living", "2024-10-08")))
    assert (await quote(subsidy, person)).json()["due_fen"] == 6000
    await send(subsidy, "identity.status-changed", status_changed(
        person, HY, ("minimum_living", "2024-10-08"), ("extreme_poverty", "2024-11-02")))
    answer = (await quote(subsidy, person)).json()
    assert (answer["due_fen"], answer["revision"], answer["source"]) == (0, 2, "cache")
    assert any("特困供养人员" in r for r in answer["reasons"]), answer["reasons"]
    assert person not in json.dumps(answer, ensure_ascii=False)
    events = await published(subsidy, "subsidy.due-assessed", person)
    assert [(e["revision"], e["due_fen"]) for e in events] == [(1, 6000), (2, 0)]


async def test_a_registered_person_without_any_status_is_assessed_the_full_rate(subsidy):
    person = resident_id(SQ)
    await send(subsidy, "enrollment.events", envelope(
        event_type="enrollment.registered", person_id=person, region=SQ, year=2025, township="汽车站街道"))
    answer = (await quote(subsidy, person)).json()
    assert (answer["due_fen"], answer["subsidy_fen"], answer["state"]) == (40000, 0, "active")


async def test_ankang_already_paid_a_new_status_refunds_nothing_and_keeps_the_subsidy(subsidy):
    person = resident_id(AK)
    await send(subsidy, "enrollment.events", envelope(
        event_type="enrollment.registered", person_id=person, region=AK, year=2025, township="江北街道"))
    await send(subsidy, "payment.receipt-accepted", accepted(person, AK, 40000))
    await send(subsidy, "identity.status-changed", status_changed(person, AK, ("minimum_living", "2024-11-01")))
    answer = (await quote(subsidy, person)).json()
    assert (answer["due_fen"], answer["subsidy_fen"], answer["revision"]) == (40000, 0, 2)
    assert any("已缴费用不退、资助不调整" in r for r in answer["reasons"]), answer["reasons"]
    assert await published(subsidy, "subsidy.refund-ordered", person) == []
    # the money did not change; the second revision only carries the new status to the tax side (the payer's facts)
    dues = await published(subsidy, "subsidy.due-assessed", person)
    assert [(e["due_fen"], e["subsidy_fen"]) for e in dues] == [(40000, 0), (40000, 0)]
    assert [[s["category"] for s in e["payer"]["statuses"]] for e in dues] == [[], ["minimum_living"]]


async def test_shuangqing_certified_inside_the_period_this_year_outside_next_year(subsidy):
    inside, outside = resident_id(SQ), resident_id(SQ)
    await send(subsidy, "identity.status-changed",
               status_changed(inside, SQ, ("minimum_living", "2024-11-20")),
               status_changed(outside, SQ, ("minimum_living", "2025-01-10")))
    assert (await quote(subsidy, inside)).json()["due_fen"] == 20000
    late = (await quote(subsidy, outside)).json()
    assert (late["due_fen"], late["subsidy_fen"]) == (40000, 0)
    assert any("纳入下一年度资助范围" in r for r in late["reasons"]), late["reasons"]


async def test_shuangqing_paid_in_full_then_certified_in_the_period_gets_the_subsidy_back(subsidy):
    person = resident_id(SQ)
    await send(subsidy, "payment.receipt-accepted", accepted(person, SQ, 40000))
    await send(subsidy, "identity.status-changed", status_changed(person, SQ, ("minimum_living", "2024-11-20")))
    [order] = await published(subsidy, "subsidy.refund-ordered", person)
    assert (order["amount_fen"], order["reason"], order["funding_source"]) == (
        20000, "refund_after_subsidy", "medical_assistance")


async def test_huaiyuan_pay_first_refund_later_orders_a_refund_once_the_receipt_is_in(subsidy):
    person = resident_id(HY)
    await send(subsidy, "identity.status-changed", status_changed(person, HY, ("entitled_veteran", "2024-09-20")))
    answer = (await quote(subsidy, person)).json()
    assert (answer["due_fen"], answer["refund_after_fen"]) == (40000, 40000)
    assert await published(subsidy, "subsidy.refund-ordered", person) == []

    receipt = accepted(person, HY, 40000)
    replay = {**receipt, "message_id": str(uuid.uuid4())}  # the same receipt under a new message id
    await send(subsidy, "payment.receipt-accepted", receipt, receipt, replay)
    [order] = await published(subsidy, "subsidy.refund-ordered", person)
    assert (order["amount_fen"], order["funding_source"], order["township"]) == (40000, "finance", "榴城镇")

    clerk = await subsidy_headers(subsidy.pg_dsn, HY, "refund_clerk", "怀远县医保中心退费经办")
    async with httpx.AsyncClient(timeout=10, base_url=subsidy.url("subsidy", "/api"), headers=clerk) as client:
        [found] = (await client.post("/refunds/search", json={"id": person})).json()["refunds"]
        assert (found["refund_id"], found["state"]) == (order["refund_id"], "ordered")
        assert person not in json.dumps(found, ensure_ascii=False)
        step = f"/refunds/{order['refund_id']}/transitions"
        wrong = await client.post(step, json={"to": "paid", "actor": "龙亢镇财政所", "township": "龙亢镇"})
        assert wrong.status_code == 403, wrong.text
        early = await client.post(step, json={"to": "confirmed", "actor": "县医保中心"})
        assert early.status_code == 409, early.text
        paid = await client.post(step, json={"to": "paid", "actor": "榴城镇财政所", "township": "榴城镇"})
        assert paid.json()["state"] == "paid", paid.text
        done = await client.post(step, json={"to": "confirmed", "actor": "县医保中心"})
        assert done.json()["state"] == "confirmed", done.text
        history = (await client.get(f"/refunds/{order['refund_id']}")).json()["history"]
    assert [(h["to"], h["actor"]) for h in history] == [
        ("ordered", "subsidy"), ("paid", "榴城镇财政所"), ("confirmed", "县医保中心")]


async def test_an_ended_enrollment_stops_the_due(subsidy):
    person = resident_id(HY)
    await send(subsidy, "identity.status-changed", status_changed(person, HY, ("minimum_living", "2024-10-08")))
    await send(subsidy, "enrollment.events", envelope(
        event_type="enrollment.ended", person_id=person, region=HY, year=2025, reason="death",
        ended_on="2024-11-30"))
    answer = (await quote(subsidy, person)).json()
    assert (answer["state"], answer["due_fen"], answer["lines"]) == ("ended", 0, [])
    await send(subsidy, "identity.status-changed", status_changed(person, HY, ("extreme_poverty", "2024-12-01")))
    events = await published(subsidy, "subsidy.due-assessed", person)
    assert [(e["revision"], e["state"], e["due_fen"]) for e in events] == [(1, "active", 6000), (2, "ended", 0)]


async def test_the_ledger_totals_subsidy_lines_per_township_and_funding_source(subsidy):
    region_people = [resident_id(HY) for _ in range(3)]
    await send(subsidy, "identity.status-changed",
               status_changed(region_people[0], HY, ("minimum_living", "2024-10-08"), township="白莲坡镇"),
               status_changed(region_people[1], HY, ("minimum_living", "2024-10-08"), township="白莲坡镇"),
               status_changed(region_people[2], HY, ("entitled_veteran", "2024-10-08"), township="白莲坡镇"))
    viewer = await subsidy_headers(subsidy.pg_dsn, HY, "viewer")
    async with httpx.AsyncClient(timeout=10, base_url=subsidy.url("subsidy", "/api"), headers=viewer) as client:
        totals = (await client.get("/ledger/totals", params={"region": HY, "year": 2025})).json()["totals"]
        mine = (await client.post("/ledger/person", json={"id": region_people[0], "year": 2025})).json()
    assert [t for t in totals if t["township"] == "白莲坡镇"] == [
        {"township": "白莲坡镇", "funding_source": "finance", "mode": "refund_after", "people": 1, "amount_fen": 40000},
        {"township": "白莲坡镇", "funding_source": "medical_assistance", "mode": "net", "people": 2, "amount_fen": 68000},
    ]
    assert [(x["category"], x["funding_source"], x["amount_fen"]) for x in mine["lines"]] == [
        ("minimum_living", "medical_assistance", 34000)]


async def test_the_quote_falls_back_to_postgresql_when_redis_is_cold(subsidy):
    person = resident_id(HY)
    await send(subsidy, "identity.status-changed", status_changed(person, HY, ("poverty_monitoring", "2024-10-08")))
    warm = (await quote(subsidy, person)).json()
    redis = aioredis.from_url(subsidy.servers.redis_url)
    try:
        removed = await redis.delete(f"{subsidy.topic_prefix}subsidy:due:{person_key(person)}:2025")
    finally:
        await redis.aclose()
    assert removed == 1
    cold = (await quote(subsidy, person)).json()
    again = (await quote(subsidy, person)).json()
    assert [warm["source"], cold["source"], again["source"]] == ["cache", "database", "cache"]
    assert warm["due_fen"] == cold["due_fen"] == again["due_fen"] == 20000
    assert {k: v for k, v in cold.items() if k != "source"} == {k: v for k, v in warm.items() if k != "source"}


async def test_a_person_the_rules_cannot_judge_is_kept_with_the_reason(subsidy):
    person = resident_id("110101")  # 东城区: no policy pack
    await send(subsidy, "identity.status-changed", status_changed(person, "110101", ("minimum_living", "2024-10-08")))
    answer = await quote(subsidy, person)
    assert answer.status_code == 422
    assert "没有110101的政策包" in answer.json()["detail"]
    missing = await quote(subsidy, resident_id(HY))
    assert missing.status_code == 404 and "尚无2025年度核定应缴额" in missing.json()["detail"]
    typo = person[:-1] + ("0" if person[-1] != "0" else "1")
    bad = await quote(subsidy, typo)
    assert bad.status_code == 422 and "校验位错误" in bad.text and typo not in bad.text, bad.text


async def test_redelivered_and_unreadable_records_change_nothing_and_are_kept(subsidy):
    person = resident_id(HY)
    message = status_changed(person, HY, ("minimum_living", "2024-10-08"))
    await produce(subsidy.servers.kafka_bootstrap, subsidy.topic("identity.status-changed"),
                  [(b"x", b"{not json"), (b"y", json.dumps({"person_id": "123"}).encode())])
    await send(subsidy, "identity.status-changed", message, message)
    await send(subsidy, "identity.status-changed", message)
    assert [e["revision"] for e in await published(subsidy, "subsidy.due-assessed", person)] == [1]
    conn = await asyncpg.connect(subsidy.pg_dsn)
    try:
        reasons = await conn.fetch("SELECT reason FROM subsidy.dead_letter ORDER BY record_offset")
    finally:
        await conn.close()
    kept = sorted(r["reason"] for r in reasons)
    assert len(kept) == 2 and kept[1] == "not valid JSON" and "person_id" in kept[0], kept


async def yibao(system: System, *args: str) -> str:
    env = {**system.env("subsidy"), "YIBAO_PG_DSN": system.pg_dsn}
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "yibao"), "subsidy", *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return out.decode()


async def test_the_command_line_totals_the_ledger_and_reassesses_without_republishing(subsidy):
    person = resident_id(HY)
    await send(subsidy, "identity.status-changed",
               status_changed(person, HY, ("only_son_family", "2024-10-08"), township="常坟镇"))
    lines = [json.loads(x) for x in (await yibao(subsidy, "totals", "--region", HY, "--year", "2025")).splitlines()]
    assert {"township": "常坟镇", "funding_source": "finance", "mode": "refund_after", "people": 1,
            "amount_fen": 20000} in lines
    before = len(await published(subsidy, "subsidy.due-assessed", person))
    out = await yibao(subsidy, "reassess", "--year", "2025")
    assert out.strip().endswith("0 events to publish (outbox)"), out
    assert len(await published(subsidy, "subsidy.due-assessed", person)) == before == 1
