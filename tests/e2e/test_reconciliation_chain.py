"""Reconciliation fed by the real services: baseline, status, due, receipt, enrollment — then a bank file.

The five services run as real processes. A person enters the baseline through
enrollment's import (published on population.baseline), a department certifies 低保,
subsidy assesses 60.00, the gateway streams the receipt, payment ingest accepts it and
enrollment books it. Reconciliation must count the person for the village, find the
one thing still missing — the bank has not settled the receipt — and nothing else;
once the bank's file is imported, a new run finds the books in agreement.
"""
from __future__ import annotations

import httpx
import pytest

from shared.resident_id import person_key
from tests.e2e.reconciliation_season import credential as reconciliation_credential
from tests.e2e.test_walking_skeleton import credential, enrollment_headers, eventually
from tests.support.kafka import produce, wait_consumed
from tests.support.people import encode, receipt, resident_id
from tests.support.subsidy_access import subsidy_headers
from tests.support.system import System

REGION, YEAR = "340321", 2025


@pytest.fixture(scope="module")
async def chain(system: System) -> dict:
    person = resident_id(REGION, seq=733)
    token = await credential(system, "civil_affairs", REGION)
    async with httpx.AsyncClient(timeout=20) as client:
        baseline = {"people": [{"id": person, "region": REGION, "township": "荆山镇", "village": "涂山村",
                                "name": "张三"}]}
        r = await client.post(system.url("enrollment", "/api/baseline"), json=baseline,
                              headers=await enrollment_headers(system))
        assert r.status_code == 200, r.text
        submission = {"period": "2024-10", "rows": [{"id": person, "category": "minimum_living",
                                                     "certified_on": "2024-10-08", "township": "荆山镇",
                                                     "village": "涂山村"}]}
        r = await client.post(system.url("identity_certification", "/api/submissions"), json=submission,
                              headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200, r.text
        await wait_consumed(system.servers.kafka_bootstrap, f"{system.tag}.payment_ingest.dues",
                            system.topic("subsidy.due-assessed"))

        gateway = await subsidy_headers(system.pg_dsn, REGION)

        async def due_known():
            q = await client.post(system.url("subsidy", "/api/quote"), json={"id": person, "year": YEAR},
                                  headers=gateway)
            return q.json() if q.status_code == 200 else None

        assert (await eventually(due_known))["due_fen"] == 6000
        paid = receipt(person, 6000, region=REGION, year=YEAR)
        await produce(system.servers.kafka_bootstrap, system.topic("payment.receipt-received"),
                      [(person_key(person).encode(), encode(paid))])

        async def counted():
            r = await client.get(system.url("reconciliation", "/api/progress"), params={"region": REGION, "year": YEAR})
            villages = r.json()["progress"]["villages"]
            return villages if any(v["paid_people"] for v in villages) else None

        villages = await eventually(counted, timeout=60)
        for group, topic in (("reconciliation.receipts", "payment.receipt-accepted"),
                             ("reconciliation.dues", "subsidy.due-assessed"),
                             ("reconciliation.statuses", "identity.status-changed"),
                             ("reconciliation.baseline", "population.baseline")):
            await wait_consumed(system.servers.kafka_bootstrap, f"{system.tag}.{group}", system.topic(topic))
        clerk = await reconciliation_credential(system.pg_dsn)
        run = await client.post(system.url("reconciliation", "/api/runs"), json={"region": REGION, "day": "2024-10-20"},
                                headers=clerk)
        assert run.status_code == 200, run.text
    return {"person": person, "receipt": paid, "villages": villages, "run": run.json(), "clerk": clerk}


async def test_the_person_is_counted_for_the_baseline_village(chain):
    assert [(v["township"], v["village"], v["baseline_people"], v["enrolled_people"], v["paid_people"],
             v["paid_fen"]) for v in chain["villages"]] == [("荆山镇", "涂山村", 1, 1, 1, 6000)]


async def test_the_run_finds_only_the_missing_settlement_then_agreement_after_the_bank_file(system, chain):
    assert chain["run"]["counts"] == {"receipt_not_settled": 1}
    paid = chain["receipt"]
    bank_file = ("settlement_ref,settled_on,region,channel,pay_date,receipt_no,amount\n"
                 f"S20241016,2024-10-16,{REGION},wechat,2024-10-15,{paid['receipt_no']},60.00\n")
    async with httpx.AsyncClient(timeout=20, headers=chain["clerk"]) as client:
        r = await client.post(system.url("reconciliation", "/api/imports/bank-settlement"), params={"bank": "农商行"},
                              content=bank_file.encode())
        assert r.json()["accepted"] == 1, r.text
        again = (await client.post(system.url("reconciliation", "/api/runs"),
                                   json={"region": REGION, "day": "2024-10-20"})).json()
        open_now = (await client.get(system.url("reconciliation", "/api/discrepancies"),
                                     params={"region": REGION, "year": YEAR})).json()["discrepancies"]
        transfers = (await client.get(system.url("reconciliation", "/api/transfers"),
                                      params={"region": REGION, "year": YEAR})).json()
    assert again["counts"] == {} and open_now == []
    assert [(s["funding_source"], s["amount_fen"]) for s in transfers["by_source"]] == [("medical_assistance", 34000)]
