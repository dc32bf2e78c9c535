"""Who may do what: a department certifies only its own categories, whatever the body claims, sees only
its own region's submissions, and every change is in the append-only audit log."""
from __future__ import annotations

import asyncpg
import httpx
import pytest

from tests.e2e.security_support import fetch, identity, issue  # noqa: F401 - identity is a fixture
from tests.support.people import resident_id
from tests.support.system import System

REGION, OTHER_REGION = "340321", "341522"


def row(person: str, category: str = "minimum_living") -> dict:
    return {"id": person, "category": category, "certified_on": "2024-10-08", "township": "榴城镇", "village": "城关村"}


async def post(system: System, token: str, rows: list[dict], period: str = "2024-10") -> httpx.Response:
    async with httpx.AsyncClient(timeout=30) as client:
        return await client.post(system.url("identity_certification", "/api/submissions"),
                                 json={"period": period, "rows": rows}, headers={"Authorization": f"Bearer {token}"})


async def test_a_department_cannot_certify_another_departments_category(identity: System) -> None:
    agriculture = await issue(identity, "agriculture", REGION)
    person = resident_id(REGION)
    answer = await post(identity, agriculture, [row(person, "minimum_living")])  # 低保 is civil affairs'
    assert answer.status_code == 403, answer.text
    assert await fetch(identity, "SELECT 1 FROM status WHERE person_id = $1", person) == []
    audit = await fetch(identity, "SELECT actor, action FROM audit_log WHERE action = 'submission.refused'")
    assert ("agriculture/340321", "submission.refused") in [tuple(r) for r in audit]


async def test_the_body_cannot_claim_another_department_or_region(identity: System) -> None:
    agriculture = await issue(identity, "agriculture", REGION)
    person = resident_id(REGION)
    async with httpx.AsyncClient(timeout=30) as client:
        # a NUL in the claim was a 500 (PostgreSQL text cannot hold it, and the refusal keeps the claim)
        for claimed in ({"department": "civil_affairs"}, {"region": OTHER_REGION}, {"department": "agri\u0000culture"}):
            csv = f"公民身份号码,人员类别,认定时间\n{person},低保,2024-10-08\n".encode()
            answer = await client.post(identity.url("identity_certification", "/api/submissions/file"),
                                       data={"period": "2024-10", **claimed}, files={"file": ("list.csv", csv)},
                                       headers={"Authorization": f"Bearer {agriculture}"})
            assert answer.status_code == 403, answer.text
    refusals = await fetch(identity, "SELECT reason_code FROM access_refusal WHERE department = 'agriculture'")
    assert [r["reason_code"] for r in refusals].count("credential_mismatch") >= 3
    assert await fetch(identity, "SELECT 1 FROM status WHERE person_id = $1", person) == []


async def test_unknown_or_missing_credential_is_refused_and_recorded(identity: System) -> None:
    result = identity.url("identity_certification", "/api/submissions/00000000-0000-0000-0000-000000000000/result")
    for header in ({}, {"Authorization": "Bearer not-a-credential"}, {"Authorization": "not-a-bearer-header"}):
        async with httpx.AsyncClient(timeout=30) as client:
            answers = [await client.post(identity.url("identity_certification", "/api/submissions"),
                                         json={"period": "2024-10", "rows": []}, headers=header),
                       await client.get(result, headers=header)]
        for answer in answers:  # 401 (a missing header was FastAPI's 422), saying what to do
            assert answer.status_code == 401, answer.text
            assert answer.headers["www-authenticate"] == "Bearer" and "凭证" in answer.json()["detail"]
    codes = [r["reason_code"] for r in await fetch(identity, "SELECT reason_code FROM access_refusal")]
    assert codes.count("no_credential") >= 4 and codes.count("bad_credential") >= 2, codes


async def test_one_regions_department_sees_nothing_of_anothers(identity: System) -> None:
    ours = await issue(identity, "civil_affairs", REGION)
    theirs = await issue(identity, "civil_affairs", OTHER_REGION)
    answer = await post(identity, ours, [row(resident_id(REGION))])
    assert answer.status_code == 200, answer.text
    submission = answer.json()["submission_id"]
    async with httpx.AsyncClient(timeout=30) as client:
        url = identity.url("identity_certification", f"/api/submissions/{submission}/result")
        mine = await client.get(url, headers={"Authorization": f"Bearer {ours}"})
        other = await client.get(url, headers={"Authorization": f"Bearer {theirs}"})
    assert mine.status_code == 200
    assert other.status_code == 404 and REGION not in other.text
    assert await fetch(identity, "SELECT 1 FROM access_refusal WHERE reason_code = 'not_your_submission' "
                                 "AND region = $1", OTHER_REGION)


async def test_every_change_is_audited_by_the_credential_not_the_body(identity: System) -> None:
    civil = await issue(identity, "civil_affairs", REGION)
    person = resident_id(REGION)
    assert (await post(identity, civil, [row(person)])).status_code == 200
    ended = {**row(person), "ended_on": "2024-11-20"}
    assert (await post(identity, civil, [ended], period="2024-11")).status_code == 200
    masked = person[:6] + "*" * 10 + person[-2:]
    entries = await fetch(identity, "SELECT actor, action, detail FROM audit_log WHERE subject = $1 ORDER BY id", masked)
    assert [(e["actor"], e["action"]) for e in entries] == [
        ("civil_affairs/340321", "status.certified"), ("civil_affairs/340321", "status.ended")]
    everything = await fetch(identity, "SELECT subject, detail::text AS d FROM audit_log")
    assert not any(person in e["subject"] or person in e["d"] for e in everything), "audit log holds a full ID"


async def test_the_audit_log_is_append_only(identity: System) -> None:
    conn = await asyncpg.connect(identity.pg_dsn, server_settings={"search_path": "identity"})
    try:
        await conn.execute("INSERT INTO audit_log (actor, action, subject) VALUES ('test', 'probe', 'x')")
        for sql in ("UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log", "TRUNCATE audit_log"):
            with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
                await conn.execute(sql)
        assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE action = 'probe'") == 1
    finally:
        await conn.close()
