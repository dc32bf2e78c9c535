"""Who may ask the subsidy API what: a credential per region and role, on the real subsidy service.

No credential is 401; another region's person, totals or refund search is 403; another region's
refund answers exactly as a refund that does not exist; a viewer cannot move a refund; the tax
gateway quotes its own region and nothing else. Only the subsidy service runs; the test plays
the other services by producing their events (as tests/e2e/test_subsidy_rules.py does).
"""
from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from shared.access import token_hash
from tests.e2e.security_support import ARTIFACTS
from tests.e2e.test_subsidy_rules import accepted, send, status_changed
from tests.support.people import resident_id
from tests.support.subsidy_access import subsidy_headers
from tests.support.system import System, running
from tests.support.waiting import eventually

HY, SQ, AK = "340321", "430502", "610900"  # 怀远县, 双清区, 安康市


@pytest.fixture(scope="module")
async def subsidy(servers) -> AsyncIterator[System]:
    async with running(servers, ARTIFACTS, ("subsidy",)) as system:
        yield system


@pytest.fixture(scope="module")
async def people(subsidy: System) -> dict:
    """A 怀远 person with a refund order (pay first, refund later) and a 安康 person with a due."""
    veteran, ankang = resident_id(HY), resident_id(AK)
    await send(subsidy, "identity.status-changed", status_changed(veteran, HY, ("entitled_veteran", "2024-09-20")),
               status_changed(ankang, AK, ("extreme_poverty", "2024-10-08")))
    await send(subsidy, "payment.receipt-accepted", accepted(veteran, HY, 40000))
    clerk = await subsidy_headers(subsidy.pg_dsn, HY, "refund_clerk", "榴城镇财政所")

    async def ordered():
        async with httpx.AsyncClient(timeout=10) as client:
            answer = await client.post(subsidy.url("subsidy", "/api/refunds/search"), json={"id": veteran},
                                       headers=clerk)
        return answer.json()["refunds"] if answer.status_code == 200 else None

    [refund] = await eventually(ordered)
    return {"veteran": veteran, "ankang": ankang, "refund": refund["refund_id"], "clerk": clerk}


async def call(system: System, method: str, path: str, headers: dict | None = None, **kwargs) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as client:
        return await client.request(method, system.url("subsidy", "/api" + path), headers=headers or {}, **kwargs)


def every_route(people: dict) -> list[tuple[str, str, dict]]:
    refund = people["refund"]
    return [("POST", "/quote", {"json": {"id": people["veteran"], "year": 2025}}),
            ("POST", "/ledger/person", {"json": {"id": people["veteran"], "year": 2025}}),
            ("GET", "/ledger/totals", {"params": {"region": HY, "year": 2025}}),
            ("POST", "/refunds/search", {"json": {"region": HY}}),
            ("GET", f"/refunds/{refund}", {}),
            ("POST", f"/refunds/{refund}/transitions", {"json": {"to": "paid", "actor": "x", "township": "榴城镇"}})]


async def test_no_or_an_unknown_credential_is_401_on_every_route(subsidy, people) -> None:
    for headers in ({}, {"Authorization": "Bearer not-a-credential"}, {"Authorization": "Basic abc"}):
        for method, path, kwargs in every_route(people):
            answer = await call(subsidy, method, path, headers, **kwargs)
            assert answer.status_code == 401, (method, path, headers, answer.text)
            assert people["veteran"] not in answer.text


async def test_the_tax_gateway_quotes_its_own_region_only(subsidy, people) -> None:
    huaiyuan = await subsidy_headers(subsidy.pg_dsn, HY)
    ankang = await subsidy_headers(subsidy.pg_dsn, AK)
    mine = await call(subsidy, "POST", "/quote", huaiyuan, json={"id": people["veteran"], "year": 2025})
    assert mine.status_code == 200 and mine.json()["region"] == HY, mine.text
    for body in ({"id": people["ankang"], "year": 2025}, {"id": people["ankang"], "year": 2026}):
        theirs = await call(subsidy, "POST", "/quote", huaiyuan, json=body)  # cached (2025) and unknown (2026)
        assert theirs.status_code == 403, theirs.text
        assert "due_fen" not in theirs.text and people["ankang"] not in theirs.text
    assert (await call(subsidy, "POST", "/quote", ankang, json={"id": people["ankang"], "year": 2025})).status_code == 200


async def test_a_persons_answer_comes_only_from_rows_of_the_callers_region(subsidy, people) -> None:
    """Someone whose ID was issued in 怀远 but who is assessed in 双清: 双清 quotes them, 怀远 learns nothing."""
    mover = resident_id(HY)
    await send(subsidy, "identity.status-changed", status_changed(mover, SQ, ("minimum_living", "2024-10-08")))
    shuangqing = await subsidy_headers(subsidy.pg_dsn, SQ)
    assert (await call(subsidy, "POST", "/quote", shuangqing, json={"id": mover, "year": 2025})).status_code == 200
    huaiyuan = await subsidy_headers(subsidy.pg_dsn, HY)
    here = await call(subsidy, "POST", "/quote", huaiyuan, json={"id": mover, "year": 2025})
    nobody = await call(subsidy, "POST", "/quote", huaiyuan, json={"id": resident_id(HY), "year": 2025})
    assert here.status_code == nobody.status_code == 404, here.text
    assert SQ not in here.text and "due_fen" not in here.text


async def test_a_quote_authenticates_from_the_process_cache_without_a_database_round_trip(subsidy, people) -> None:
    """Shown by revoking in PostgreSQL: a credential already verified still quotes (for up to credential_cache_s,
    default 30 s), so it was not looked up again; one never used before is looked up, and refused."""
    used, unused = await subsidy_headers(subsidy.pg_dsn, HY), await subsidy_headers(subsidy.pg_dsn, HY)
    body = {"id": people["veteran"], "year": 2025}
    assert (await call(subsidy, "POST", "/quote", used, json=body)).status_code == 200
    conn = await asyncpg.connect(subsidy.pg_dsn, server_settings={"search_path": "subsidy"})
    try:
        revoked = await conn.execute("UPDATE credential SET revoked_at = now() WHERE token_sha256 = ANY($1::text[])",
                                     [token_hash(h["Authorization"][7:]) for h in (used, unused)])
    finally:
        await conn.close()
    assert revoked == "UPDATE 2"
    assert (await call(subsidy, "POST", "/quote", used, json=body)).status_code == 200
    assert (await call(subsidy, "POST", "/quote", unused, json=body)).status_code == 401


async def test_the_tax_gateway_sees_no_ledger_and_no_refund(subsidy, people) -> None:
    gateway = await subsidy_headers(subsidy.pg_dsn, HY)
    for method, path, kwargs in every_route(people)[1:]:
        answer = await call(subsidy, method, path, gateway, **kwargs)
        assert answer.status_code == 403, (path, answer.text)


async def test_another_regions_person_totals_and_refund_search_are_403(subsidy, people) -> None:
    ankang = await subsidy_headers(subsidy.pg_dsn, AK, "viewer")
    person = await call(subsidy, "POST", "/ledger/person", ankang, json={"id": people["veteran"], "year": 2025})
    totals = await call(subsidy, "GET", "/ledger/totals", ankang, params={"region": HY, "year": 2025})
    search = await call(subsidy, "POST", "/refunds/search", ankang, json={"region": HY})
    assert [person.status_code, totals.status_code, search.status_code] == [403, 403, 403], (person.text, totals.text)
    own = await call(subsidy, "POST", "/refunds/search", ankang, json={"id": people["veteran"]})
    assert own.status_code == 200 and own.json()["refunds"] == []
    own_totals = await call(subsidy, "GET", "/ledger/totals", ankang, params={"region": AK, "year": 2025})
    assert own_totals.status_code == 200 and own_totals.json()["totals"], own_totals.text


async def test_another_regions_refund_answers_as_one_that_does_not_exist(subsidy, people) -> None:
    ankang_viewer = await subsidy_headers(subsidy.pg_dsn, AK, "viewer")
    ankang_clerk = await subsidy_headers(subsidy.pg_dsn, AK, "refund_clerk")
    refund, made_up = people["refund"], str(uuid.uuid4())
    for headers, method, suffix, kwargs in (
            (ankang_viewer, "GET", "", {}),
            (ankang_clerk, "POST", "/transitions", {"json": {"to": "paid", "actor": "x", "township": "榴城镇"}})):
        theirs = await call(subsidy, method, f"/refunds/{refund}{suffix}", headers, **kwargs)
        missing = await call(subsidy, method, f"/refunds/{made_up}{suffix}", headers, **kwargs)
        assert theirs.status_code == missing.status_code == 404, theirs.text
        assert theirs.json()["detail"].replace(refund, made_up) == missing.json()["detail"]
    detail = await call(subsidy, "GET", f"/refunds/{refund}", people["clerk"])
    assert detail.json()["state"] == "ordered", detail.text  # the other region's clerk moved nothing


async def test_control_characters_and_a_year_as_text_are_refused_with_a_reason(subsidy, people) -> None:
    """A NUL cannot be stored in PostgreSQL text: it made a refund search or step a 500 (now 422 saying where)."""
    clerk = people["clerk"]
    for method, path, body in (
            ("POST", "/refunds/search", {"township": "榴\x00城镇"}),
            ("POST", f"/refunds/{people['refund']}/transitions", {"to": "paid", "actor": "张\x00", "township": "榴城镇"}),
            ("POST", "/refunds/search", {"year": "2025"}),
            ("POST", "/quote", {"id": people["veteran"], "year": "2025"})):
        answer = await call(subsidy, method, path, clerk, json=body)
        assert answer.status_code == 422, (path, answer.text)
        [problem] = answer.json()["detail"]
        assert problem["loc"][0] == "body" and ("控制字符" in problem["msg"] or "年度须为整数" in problem["msg"])
    assert (await call(subsidy, "GET", f"/refunds/{people['refund']}", clerk)).json()["state"] == "ordered"


async def test_a_viewer_cannot_move_a_refund_a_clerk_can_and_is_audited(subsidy, people) -> None:
    viewer = await subsidy_headers(subsidy.pg_dsn, HY, "viewer")
    step = f"/refunds/{people['refund']}/transitions"
    paid = {"to": "paid", "actor": "张会计", "township": "榴城镇"}
    refused = await call(subsidy, "POST", step, viewer, json=paid)
    assert refused.status_code == 403 and "refund_clerk" in refused.json()["detail"], refused.text
    assert (await call(subsidy, "GET", f"/refunds/{people['refund']}", viewer)).json()["state"] == "ordered"
    moved = await call(subsidy, "POST", step, people["clerk"], json=paid)
    assert moved.status_code == 200 and moved.json()["state"] == "paid", moved.text
    history = (await call(subsidy, "GET", f"/refunds/{people['refund']}", viewer)).json()["history"]
    assert (history[-1]["actor"], history[-1]["recorded_by"]) == ("张会计", "榴城镇财政所")
    conn = await asyncpg.connect(subsidy.pg_dsn, server_settings={"search_path": "subsidy"})
    try:
        entry = await conn.fetchrow("SELECT actor, detail FROM audit_log WHERE action = 'refund.moved' AND subject = $1",
                                    f"refund:{people['refund']}")
    finally:
        await conn.close()
    assert entry["actor"] == f"refund_clerk/{HY}/榴城镇财政所"
    assert json.loads(entry["detail"]) == {"from": "ordered", "to": "paid", "actor": "张会计"}
