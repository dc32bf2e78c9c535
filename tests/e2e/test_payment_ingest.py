"""Payment ingest on the real stack: each receipt rule, nothing dropped, counters rebuilt from PostgreSQL.

Only the payment ingest process runs (its own topics, groups and database): what it
gets is what these tests produce. The same records handed to the use cases directly,
on a database of their own, give the same stored state, events and counters.
"""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

import asyncpg
import pytest
import redis.asyncio as aioredis

from cli.receipt_season import season, season_totals
from services.payment_ingest import counters, usecases
from services.payment_ingest.counters import LiveCounters
from services.payment_ingest.domain.windows import PolicyWindows
from shared.db import schema_connection
from shared.kafka import batch_decoder
from shared.messages import DueAssessed, ReceiptReceived
from shared.resident_id import person_key
from shared.uow import unit_of_work
from tests.e2e.conftest import ARTIFACTS
from tests.support.kafka import produce, read_all, wait_consumed
from tests.support.people import encode, receipt, resident_id
from tests.support.system import System, create_system, drop_system, running

HY, YEAR = "340321", 2025
BEIJING = timezone(timedelta(hours=8))
RECEIPTS = "payment.receipt-received"


@pytest.fixture(scope="module")
async def ingest(servers):
    async with running(servers, ARTIFACTS, ("payment_ingest",)) as system:
        yield system


async def fetch(system: System, sql: str, *args):
    conn = await asyncpg.connect(system.pg_dsn, server_settings={"search_path": "payment"})
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


async def send(system: System, messages: list[dict | bytes]) -> None:
    records = [(b"k", m) if isinstance(m, bytes) else (person_key(m["person_id"]).encode(), encode(m)) for m in messages]
    await produce(system.servers.kafka_bootstrap, system.topic(RECEIPTS), records)
    await wait_consumed(system.servers.kafka_bootstrap, f"{system.tag}.payment_ingest.receipts", system.topic(RECEIPTS))


def wrong_check_character(person: str) -> str:
    return person[:17] + ("1" if person[17] != "1" else "2")


def no(n: int) -> str:
    return f"3{HY}25{uuid.uuid4().int % 10**6:06d}{n:04d}"


@pytest.fixture(scope="module")
async def ruled(ingest: System) -> dict:
    """One receipt per rule; returns receipt numbers by what they should become."""
    low_income = resident_id(HY)
    due = {"message_id": str(uuid.uuid4()), "occurred_at": datetime.now(UTC).isoformat(),
           "person_id": low_income, "region": HY, "year": YEAR, "standard_fen": 40000, "subsidy_fen": 34000,
           "due_fen": 6000, "revision": 1}
    await produce(ingest.servers.kafka_bootstrap, ingest.topic("subsidy.due-assessed"),
                  [(person_key(low_income).encode(), encode(due))])
    await wait_consumed(ingest.servers.kafka_bootstrap, f"{ingest.tag}.payment_ingest.dues",
                        ingest.topic("subsidy.due-assessed"))
    ok = receipt(resident_id(HY), 40000, receipt_no=no(1))
    n = {"ok": ok["receipt_no"]}
    messages = [
        ok,
        receipt(low_income, 6000, receipt_no=(n.setdefault("due_ok", no(2)))),
        receipt(low_income, 40000, receipt_no=(n.setdefault("due_wrong", no(3)))),
        receipt(resident_id(HY), 38000, receipt_no=(n.setdefault("amount", no(4)))),
        receipt(resident_id(HY), 40000, receipt_no=(n.setdefault("early", no(5))),
                paid_at=datetime(2024, 8, 20, 10, tzinfo=BEIJING)),
        receipt(resident_id("110101"), 40000, region="110101", receipt_no=(n.setdefault("region", no(6)))),
        receipt(resident_id(HY), 40000, year=2031, receipt_no=(n.setdefault("year", no(7)))),
        receipt(resident_id(HY), 40000, channel="village_agent", receipt_no=(n.setdefault("agent", no(8)))),
        receipt(resident_id(HY), 40000, channel="village_agent", agent_id="A-古城-07",
                receipt_no=(n.setdefault("agent_ok", no(9)))),
        ok,                                                     # replay, same message id: number + hash drop it
        {**ok, "message_id": str(uuid.uuid4())},                # replay under a new id: the same
        {**ok, "message_id": str(uuid.uuid4()), "channel": "alipay"},  # conflict
        receipt(ok["person_id"], -30000, receipt_no=(n.setdefault("reversal", no(10))), original_receipt_no=ok["receipt_no"]),
        receipt(ok["person_id"], -20000, receipt_no=(n.setdefault("too_much", no(11))), original_receipt_no=ok["receipt_no"]),
        receipt(resident_id(HY), -40000, receipt_no=(n.setdefault("no_original", no(12)))),
        receipt(wrong_check_character(resident_id(HY)), 40000, receipt_no=(n.setdefault("bad_id", no(13)))),
        b'{"amount_fen": 40000}', b"\xff\xfe not json",
    ]
    await send(ingest, messages)
    return n


async def test_each_rule_gives_its_verdict_and_reason(ingest, ruled):
    rows = await fetch(ingest, "SELECT receipt_no, verdict, reason_code, reason FROM receipt")
    got = Counter((r["receipt_no"], r["verdict"], r["reason_code"]) for r in rows)
    n = ruled
    assert got == Counter({
        (n["ok"], "accepted", None): 1, (n["ok"], "rejected", "receipt_conflict"): 1,
        (n["due_ok"], "accepted", None): 1, (n["due_wrong"], "rejected", "amount_differs_from_due"): 1,
        (n["amount"], "rejected", "amount_differs_from_due"): 1, (n["early"], "rejected", "paid_outside_periods"): 1,
        (n["region"], "rejected", "region_unknown"): 1, (n["year"], "rejected", "year_not_covered"): 1,
        (n["agent"], "rejected", "agent_missing"): 1, (n["agent_ok"], "accepted", None): 1,
        (n["reversal"], "accepted", None): 1, (n["too_much"], "rejected", "reversal_exceeds_original"): 1,
        (n["no_original"], "rejected", "negative_without_original"): 1,
        (n["bad_id"], "rejected", "invalid_resident_id"): 1,
        (None, "rejected", "schema"): 1,  # JSON, but not a receipt
    })
    reasons = {r["reason_code"]: r["reason"] for r in rows}
    assert "核定应缴60.00元" in reasons["amount_differs_from_due"] or "政策标准400.00元" in reasons["amount_differs_from_due"]
    assert reasons["invalid_resident_id"] == "税票不合规：person_id: 身份证号校验位错误：请核对号码是否抄错"


async def test_events_follow_the_verdicts_and_bad_bytes_are_dead_lettered(ingest, ruled):
    bootstrap = ingest.servers.kafka_bootstrap
    await asyncio.sleep(1.0)  # the outbox relay publishes after the commit

    accepted = [json.loads(r.value) for r in await read_all(bootstrap, ingest.topic("payment.receipt-accepted"))]
    rejected = [json.loads(r.value) for r in await read_all(bootstrap, ingest.topic("payment.receipt-rejected"))]
    dead = [json.loads(r.value) for r in await read_all(bootstrap, ingest.topic("dead-letter"))]
    assert sorted(a["receipt_no"] for a in accepted) == sorted(
        [ruled["ok"], ruled["due_ok"], ruled["agent_ok"], ruled["reversal"]])
    assert len(rejected) == 11
    assert all(r["reason"] for r in rejected)
    assert [d["reason"] for d in dead] == ["not valid JSON"]
    kept = await fetch(ingest, "SELECT raw, reason, record_offset FROM dead_letter")
    assert [(bytes(k["raw"]), k["reason"]) for k in kept] == [(b"\xff\xfe not json", "not valid JSON")]
    assert dead[0]["offset"] == kept[0]["record_offset"]


async def test_count_in_equals_accepted_rejected_dead_lettered_and_duplicates(ingest, ruled):
    [row] = await fetch(ingest, "SELECT sum(received) r, sum(accepted) a, sum(rejected) j, sum(dead_lettered) d, "
                                "sum(duplicate) u FROM receipt_intake")
    assert (row["r"], row["a"], row["j"], row["d"], row["u"]) == (18, 4, 11, 1, 2)


RECEIPT_COLUMNS = ("receipt_no, payload_sha256, verdict, reason_code, reason, person_id, region, year, amount_fen, "
                   "channel, agent_id, paid_at, original_receipt_no, raw::text")
SCHEMA_CODES = ("schema", "invalid_resident_id")  # refused by the schema: a random message id, not one from the receipt


def comparable(topic: str, key: bytes, payload: bytes) -> tuple:
    event = json.loads(payload)
    event.pop("occurred_at")  # the unit of work's time
    if event.get("reason_code") in SCHEMA_CODES:
        event.pop("message_id")
    return topic, key, json.dumps(event, sort_keys=True, ensure_ascii=False)


async def stored_state(system: System) -> dict:
    intake = "SELECT sum(received) r, sum(accepted) a, sum(rejected) j, sum(dead_lettered) d, sum(duplicate) u FROM receipt_intake"
    return {"receipts": Counter(tuple(r) for r in await fetch(system, f"SELECT {RECEIPT_COLUMNS} FROM receipt")),
            "dues": sorted(tuple(r) for r in await fetch(system, "SELECT * FROM due")),
            "intake": tuple((await fetch(system, intake))[0])}


async def test_the_use_cases_called_directly_on_the_same_records_store_raise_and_count_what_the_consumer_did(ingest, ruled):
    """The consumer path (the service, fed over Kafka) and the use cases called directly with the records
    read back from the same topics, on a second database: one behaviour, whichever way in."""
    bootstrap = ingest.servers.kafka_bootstrap
    await asyncio.sleep(1.0)  # the outbox relay publishes after the commit
    decode_dues, decode_receipts = batch_decoder(DueAssessed), batch_decoder(ReceiptReceived)
    dues = await decode_dues(SimpleNamespace(raw_message=await read_all(bootstrap, ingest.topic("subsidy.due-assessed"))))
    message = SimpleNamespace(raw_message=await read_all(bootstrap, ingest.topic(RECEIPTS)))
    receipts = await decode_receipts(message)
    assert len(receipts) == 15 and len(message.unreadable) == 3  # bad ID, JSON of the wrong shape, bytes
    twin = await create_system(ingest.servers, ARTIFACTS, create_topics=False)
    redis = aioredis.from_url(ingest.servers.redis_url, decode_responses=True)
    try:
        async with schema_connection(twin.pg_dsn, "payment") as conn:
            async with unit_of_work(conn, schema="payment", topic_prefix=ingest.topic_prefix) as uow:
                await usecases.record_dues(uow, dues)
            async with unit_of_work(conn, schema="payment", topic_prefix=ingest.topic_prefix) as uow:
                intake = await usecases.ingest_receipts(uow, receipts, message.unreadable, windows=PolicyWindows(),
                                                        counters=LiveCounters(redis, twin.topic_prefix))
            outbox = await conn.fetch("SELECT topic, key, payload FROM outbox")
        assert intake.as_fields() == {"received": 18, "accepted": 4, "rejected": 11, "dead_lettered": 1, "duplicate": 2}
        consumed, direct = await stored_state(ingest), await stored_state(twin)
        assert direct == consumed
        published = [comparable(r.topic, r.key, r.value) for topic in ("payment.receipt-accepted", "payment.receipt-rejected")
                     for r in await read_all(bootstrap, ingest.topic(topic))]
        assert len(published) == 15
        assert Counter(comparable(r["topic"], bytes(r["key"]), bytes(r["payload"])) for r in outbox) == Counter(published)
        live, ours = LiveCounters(redis, ingest.topic_prefix), LiveCounters(redis, twin.topic_prefix)
        assert await ours.region(HY, YEAR) == await live.region(HY, YEAR) and await ours.region(HY, YEAR)
        assert await ours.intake() == await live.intake()
    finally:
        if ours_keys := await redis.keys(f"{twin.topic_prefix}payment:*"):
            await redis.delete(*ours_keys)
        await redis.aclose()
        await drop_system(twin, delete_topics=False)


async def test_a_simulated_season_comes_out_as_its_ground_truth(ingest, ruled):
    before = (await fetch(ingest, "SELECT coalesce(sum(received), 0) n FROM receipt_intake"))[0]["n"]
    records = list(season(HY, 3000, seed=11))
    want = season_totals(records)
    await produce(ingest.servers.kafka_bootstrap, ingest.topic(RECEIPTS), [(r.key, r.value) for r in records])
    await wait_consumed(ingest.servers.kafka_bootstrap, f"{ingest.tag}.payment_ingest.receipts", ingest.topic(RECEIPTS))
    ours = [r.receipt_no for r in records if r.receipt_no]
    rows = await fetch(ingest, "SELECT verdict, reason_code, amount_fen FROM receipt WHERE receipt_no = ANY($1)", ours)
    assert sum(1 for r in rows if r["verdict"] == "accepted") == want["accepted"]
    assert sum(r["amount_fen"] for r in rows if r["verdict"] == "accepted") == want["accepted_fen"]
    assert Counter(r["reason_code"] for r in rows if r["verdict"] == "rejected") == Counter(want["rejected_by_reason"])
    [t] = await fetch(ingest, "SELECT sum(received) r, sum(accepted) a, sum(rejected) j, sum(dead_lettered) d, "
                              "sum(duplicate) u FROM receipt_intake WHERE id > 0")
    assert t["r"] - before == len(records)
    assert t["r"] == t["a"] + t["j"] + t["d"] + t["u"]
    assert t["d"] == 1 + want["dead_lettered"]
    assert t["u"] == 2 + want["duplicate"]


async def test_live_counters_agree_with_postgres_and_can_be_rebuilt(ingest, ruled):
    redis = aioredis.from_url(ingest.servers.redis_url, decode_responses=True)
    prefix = ingest.topic_prefix
    try:
        shown = LiveCounters(redis, prefix)
        live = await shown.region(HY, YEAR)
        live_intake = await shown.intake()
        [db] = await fetch(ingest, "SELECT count(*) n, sum(amount_fen) fen FROM receipt "
                                   "WHERE verdict = 'accepted' AND region = $1 AND year = $2 AND amount_fen > 0", HY, YEAR)
        assert live["accepted"] == db["n"] and live["accepted:fen"] == db["fen"]
        assert live["agent:A-古城-07"] == 1
        await redis.delete(counters.region_key(prefix, HY, YEAR))  # counters lost (Redis flushed, say)
        env = {**os.environ, **ingest.servers.env(), "YIBAO_PG_DSN": ingest.pg_dsn, "YIBAO_TOPIC_PREFIX": prefix}
        yibao = str(Path(sys.executable).parent / "yibao")
        done = subprocess.run([yibao, "payments", "rebuild-counters"],
                              env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert await shown.region(HY, YEAR) == live
        assert await shown.intake() == live_intake
    finally:
        await redis.aclose()
