"""The walking skeleton through all five services on the real stack.

A department certifies a status → subsidy assesses the due → a receipt for that
amount arrives → payment ingest accepts it → enrollment marks the person paid →
reconciliation counts the person for their village. Then redelivered messages
change nothing.
"""
from __future__ import annotations

import asyncpg
import httpx
import pytest

from services.enrollment import store as enrollment_store
from shared.resident_id import person_key
from tests.e2e.security_support import issue as credential
from tests.support.kafka import produce, read_all, wait_consumed
from tests.support.people import encode, receipt, resident_id
from tests.support.subsidy_access import subsidy_headers
from tests.support.system import System
from tests.support.waiting import eventually

REGION, YEAR = "340321", 2025  # 怀远县: 低保 subsidy 340 of 400 → pays 60 (HY seed)



async def progress(client: httpx.AsyncClient, system: System) -> list[dict]:
    response = await client.get(system.url("reconciliation", "/api/progress"), params={"region": REGION, "year": YEAR})
    response.raise_for_status()
    return response.json()["villages"]


async def enrollment_headers(system: System, region: str = REGION) -> dict:
    """The insurance office's credential for one region: enrollment answers only for that region."""
    conn = await asyncpg.connect(system.pg_dsn, server_settings={"search_path": "enrollment"})
    try:
        token = await enrollment_store.create_credential(conn, region, "agency", "医保经办")
    finally:
        await conn.close()
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
async def paid_person(system: System) -> dict:
    """Run the whole chain once for one person; return what the later tests check against."""
    person = resident_id(REGION)
    token = await credential(system, "civil_affairs", REGION)
    async with httpx.AsyncClient(timeout=10) as client:
        baseline = {"people": [{"id": person, "region": REGION, "township": "榴城镇", "village": "城关村"}]}
        (await client.post(system.url("enrollment", "/api/baseline"), json=baseline,
                           headers=await enrollment_headers(system))).raise_for_status()

        submission = {"period": "2024-10", "rows": [
            {"id": person, "category": "minimum_living", "certified_on": "2024-10-08",
             "township": "榴城镇", "village": "城关村"}]}
        posted = await client.post(system.url("identity_certification", "/api/submissions"), json=submission,
                                   headers={"Authorization": f"Bearer {token}"})
        assert posted.status_code == 200, posted.text
        assert posted.json()["people_changed"] == 1

        gateway = await subsidy_headers(system.pg_dsn, REGION)

        async def quoted():
            r = await client.post(system.url("subsidy", "/api/quote"), json={"id": person, "year": YEAR},
                                  headers=gateway)
            return r.json() if r.status_code == 200 else None

        quote = await eventually(quoted)
        assert quote["due_fen"] == 6000, quote

        # payment ingest checks amounts against the due it consumed from subsidy.due-assessed
        await wait_consumed(system.servers.kafka_bootstrap, f"{system.tag}.payment_ingest.dues",
                            system.topic("subsidy.due-assessed"))
        paid = receipt(person, 6000, region=REGION, year=YEAR)
        await produce(system.servers.kafka_bootstrap, system.topic("payment.receipt-received"),
                      [(person_key(person).encode(), encode(paid))])

        async def counted():
            villages = await progress(client, system)
            return villages if villages and villages[0]["paid_people"] == 1 else None

        villages = await eventually(counted)
    return {"person": person, "receipt": paid, "villages": villages, "quote": quote}


async def test_a_status_becomes_a_due_then_a_payment_counted_for_the_village(paid_person):
    assert paid_person["villages"] == [
        {"township": "榴城镇", "village": "城关村", "paid_people": 1, "paid_fen": 6000}
    ]


async def test_the_person_record_shows_the_status_and_the_paid_enrollment(system, paid_person):
    async with httpx.AsyncClient(timeout=10) as client:
        record = (await client.post(system.url("enrollment", "/api/person-record"), json={"id": paid_person["person"]},
                                    headers=await enrollment_headers(system))).json()
    assert record["enrollments"][0]["state"] == "paid"
    assert record["enrollments"][0]["paid_total_fen"] == 6000
    assert [s["category"] for s in record["statuses"]] == ["minimum_living"]
    assert paid_person["person"] not in str(record), "the record must show the ID masked"


async def test_redelivered_messages_change_nothing(system, paid_person):
    bootstrap = system.servers.kafka_bootstrap
    person = paid_person["person"]
    # 1. the gateway sends the same receipt again, same message id: the inbox drops it;
    # 2. it resends it under a new message id: the receipt number + payload hash drops it;
    # 3. the accepted event itself is delivered a second time, byte for byte: enrollment's inbox drops it.
    resent = {**paid_person["receipt"], "message_id": "5f0c8a52-7d51-4c38-9d2c-6b2f7d0e9a11"}
    accepted = [r for r in await read_all(bootstrap, system.topic("payment.receipt-accepted"))]
    assert len(accepted) == 1
    await produce(bootstrap, system.topic("payment.receipt-received"), [
        (person_key(person).encode(), encode(paid_person["receipt"])),
        (person_key(person).encode(), encode(resent)),
    ])
    await produce(bootstrap, system.topic("payment.receipt-accepted"), [(accepted[0].key, accepted[0].value)])

    for group, topic in (
        ("payment_ingest.receipts", "payment.receipt-received"),
        ("enrollment.receipts", "payment.receipt-accepted"),
        ("reconciliation.enrollment", "enrollment.events"),
    ):
        await wait_consumed(bootstrap, f"{system.tag}.{group}", system.topic(topic))

    assert len(await read_all(bootstrap, system.topic("payment.receipt-accepted"))) == 2  # original + our replay
    assert len(await read_all(bootstrap, system.topic("enrollment.events"))) == 1
    async with httpx.AsyncClient(timeout=10) as client:
        assert await progress(client, system) == paid_person["villages"]
    conn = await asyncpg.connect(system.pg_dsn)
    try:
        receipts = await conn.fetch("SELECT verdict FROM payment.receipt")
        paid_total = await conn.fetchval("SELECT paid_total_fen FROM enrollment.enrollment")
    finally:
        await conn.close()
    assert [r["verdict"] for r in receipts] == ["accepted"]
    assert paid_total == 6000
