"""Enrollment on the real stack: registration rules, the lifecycle, duplicates, refunds, regions apart.

Each rule is shown through the running services: HTTP calls as a village agent or
the insurance office would make them, receipts through payment ingest as the tax
side sends them, and the events enrollment publishes read back from Kafka.
All dates are the policy's (the 2025 coverage year of the seeds' packs).
"""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime

import asyncpg
import httpx
import openpyxl
import pytest

from services.enrollment import store as enrollment_store
from shared.resident_id import person_key
from tests.support.kafka import produce, read_all
from tests.support.people import encode, receipt, resident_id
from tests.support.system import ROOT, System
from tests.support.waiting import eventually

HY, SQ, AK = "340321", "430502", "610900"  # 怀远县, 双清区, 安康市
YEAR = 2025



async def headers(system: System, region: str, role: str = "agency") -> dict:
    conn = await asyncpg.connect(system.pg_dsn, server_settings={"search_path": "enrollment"})
    try:
        token = await enrollment_store.create_credential(conn, region, role, f"{role}@{region}")
    finally:
        await conn.close()
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
async def client():
    async with httpx.AsyncClient(timeout=15) as c:
        yield c


@pytest.fixture(scope="module")
async def office(system: System) -> dict[str, dict]:
    """One insurance-office credential per region."""
    return {region: await headers(system, region) for region in (HY, SQ, AK)}


async def pay(system: System, person: str, region: str, paid_at: datetime, amount_fen: int = 40000) -> dict:
    """A tax receipt through payment ingest, as the gateway streams it."""
    paid = receipt(person, amount_fen, region=region, year=YEAR, paid_at=paid_at)
    await produce(system.servers.kafka_bootstrap, system.topic("payment.receipt-received"),
                  [(person_key(person).encode(), encode(paid))])
    return paid


async def record(client, system: System, person: str, region_headers: dict) -> httpx.Response:
    return await client.post(system.url("enrollment", "/api/person-record"), json={"id": person},
                             headers=region_headers)


async def enrollment_of(client, system, person, region_headers, state: str | None = None) -> dict | None:
    r = await record(client, system, person, region_headers)
    if r.status_code != 200:
        return None
    rows = [e for e in r.json()["enrollments"] if e["year"] == YEAR]
    if rows and (state is None or rows[0]["state"] == state):
        return rows[0]
    return None


async def events_for(system: System, topic: str, person: str) -> list[dict]:
    records = await read_all(system.servers.kafka_bootstrap, system.topic(topic))
    return [json.loads(r.value) for r in records if r.key == person_key(person).encode()]


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(hour=10, tzinfo=UTC)


# --- registration ------------------------------------------------------------------------------

async def test_a_place_that_matches_neither_hukou_nor_residence_permit_is_refused_with_the_reason(
        system, client, office):
    person = resident_id(SQ)
    r = await client.post(system.url("enrollment", "/api/enrollments"), headers=office[HY], json={
        "id": person, "year": YEAR, "hukou_region": SQ, "registered_on": "2024-10-10"})
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert detail["outcome"] == "refused" and detail["reason_code"] == "place_mismatch"
    assert any("户籍地或居住证所在地" in text for text in detail["reasons"])
    assert person not in r.text

    # the same person with a residence permit here is accepted
    r = await client.post(system.url("enrollment", "/api/enrollments"), headers=office[HY], json={
        "id": person, "year": YEAR, "hukou_region": SQ, "residence_region": HY, "registered_on": "2024-10-10"})
    assert r.status_code == 200, r.text
    assert r.json()["outcome"] == "registered" and r.json()["expected_benefit_start"] == "2025-01-01"


async def test_a_person_in_the_household_register_registers_without_declaring_a_place(system, client, office):
    person = resident_id(HY)
    imported = await client.post(system.url("enrollment", "/api/baseline"), headers=office[HY], json={
        "people": [{"id": person, "township": "榴城镇", "village": "城关村"}]})
    assert imported.json()["rows_accepted"] == 1
    r = await client.post(system.url("enrollment", "/api/enrollments"), headers=office[HY], json={
        "id": person, "year": YEAR, "registered_on": "2024-10-10"})
    assert r.json()["outcome"] == "registered", r.text
    again = await client.post(system.url("enrollment", "/api/enrollments"), headers=office[HY], json={
        "id": person, "year": YEAR, "registered_on": "2024-10-11"})
    assert again.json()["outcome"] == "already"
    registered = [e for e in await events_for(system, "enrollment.events", person)
                  if e["event_type"] == "enrollment.registered"]
    assert [(e["township"], e["village"], e["kind"]) for e in registered] == [("榴城镇", "城关村", "general")]


async def test_a_student_enrols_at_the_school_not_elsewhere(system, client, office):
    person = resident_id(SQ, born=date(2005, 3, 1))
    elsewhere = await client.post(system.url("enrollment", "/api/enrollments"), headers=office[HY], json={
        "id": person, "year": YEAR, "kind": "university_student", "school_region": SQ, "registered_on": "2024-10-10"})
    assert elsewhere.status_code == 422 and elsewhere.json()["detail"]["reason_code"] == "school_place"
    at_school = await client.post(system.url("enrollment", "/api/enrollments"), headers=office[HY], json={
        "id": person, "year": YEAR, "kind": "university_student", "school_region": HY, "registered_on": "2024-10-10"})
    assert at_school.json()["outcome"] == "registered", at_school.text


async def test_a_newborn_paid_within_90_days_is_covered_from_birth_and_later_from_the_day_after_payment(
        system, client, office):
    inside = resident_id(HY, born=date(2025, 3, 1))
    outside = resident_id(HY, born=date(2025, 1, 10))
    for person, registered_on in ((inside, "2025-04-01"), (outside, "2025-06-01")):
        r = await client.post(system.url("enrollment", "/api/enrollments"), headers=office[HY], json={
            "id": person, "year": YEAR, "kind": "newborn", "hukou_region": HY, "registered_on": registered_on})
        assert r.json()["outcome"] == "registered", r.text
    await pay(system, inside, HY, at("2025-04-02"))    # 32 days after birth
    await pay(system, outside, HY, at("2025-06-01"))   # 142 days after birth, still under one year
    paid_inside = await eventually(lambda: enrollment_of(client, system, inside, office[HY], "paid"))
    paid_outside = await eventually(lambda: enrollment_of(client, system, outside, office[HY], "paid"))
    assert (paid_inside["kind"], paid_inside["benefit_start"], paid_inside["policy_path"]) == (
        "newborn", "2025-03-01", "newborn_90_days")
    assert (paid_outside["benefit_start"], paid_outside["policy_path"]) == ("2025-06-02", "newborn_under_one")


async def test_a_newborn_outside_90_days_in_a_region_without_that_path_pays_the_late_rate(system, client, office):
    # 双清区 has no after-90-days newborn path: the policy falls back to paying outside the period
    person = resident_id(SQ, born=date(2025, 1, 10))
    r = await client.post(system.url("enrollment", "/api/enrollments"), headers=office[SQ], json={
        "id": person, "year": YEAR, "kind": "newborn", "hukou_region": SQ, "registered_on": "2025-06-01"})
    answer = r.json()
    assert answer["outcome"] == "registered" and answer["path"] == "outside_period", answer
    assert answer["expected_due_fen"] == 107000 and answer["expected_benefit_start"] > "2025-06-01"


async def test_someone_in_employee_insurance_cannot_register(system, client, office):
    person = resident_id(HY)
    roster = await client.post(system.url("enrollment", "/api/employee-roster"), headers=office[HY], json={
        "people": [{"id": person, "employer": "怀远县某公司", "insured_from": "2020-01-01"}]})
    assert roster.json()["rows_accepted"] == 1
    r = await client.post(system.url("enrollment", "/api/enrollments"), headers=office[HY], json={
        "id": person, "year": YEAR, "hukou_region": HY, "registered_on": "2024-10-10"})
    assert r.status_code == 422 and r.json()["detail"]["reason_code"] == "employee_insured"


# --- lifecycle, duplicates and refunds -----------------------------------------------------------

async def test_paid_then_covered_when_the_benefit_window_begins(system, client, office):
    person = resident_id(HY)
    await client.post(system.url("enrollment", "/api/enrollments"), headers=office[HY], json={
        "id": person, "year": YEAR, "hukou_region": HY, "registered_on": "2024-10-10"})
    await pay(system, person, HY, at("2024-10-12"))
    paid = await eventually(lambda: enrollment_of(client, system, person, office[HY], "paid"))
    assert (paid["benefit_start"], paid["benefit_end"]) == ("2025-01-01", "2025-12-31")

    before = await client.post(system.url("enrollment", "/api/coverage/advance"), headers=office[HY],
                               json={"as_of": "2024-12-31"})
    assert (await enrollment_of(client, system, person, office[HY]))["state"] == "paid", before.json()
    after = await client.post(system.url("enrollment", "/api/coverage/advance"), headers=office[HY],
                              json={"as_of": "2025-01-01"})
    assert after.json()["covered"] >= 1
    covered = await enrollment_of(client, system, person, office[HY])
    assert (covered["state"], covered["covered_on"]) == ("covered", "2025-01-01")
    types = await eventually(lambda: _types(system, person, 3))
    assert types == ["enrollment.registered", "enrollment.paid", "enrollment.covered"]


async def _types(system, person, count):
    types = [e["event_type"] for e in await events_for(system, "enrollment.events", person)]
    return types if len(types) >= count else None


async def test_a_cross_region_duplicate_keeps_the_place_of_residence_and_refunds_the_other(system, client, office):
    # lives in 双清区 on a residence permit (hukou 怀远县), paid in both for 2025 before the benefit start
    person = resident_id(HY)
    for region in (HY, SQ):
        r = await client.post(system.url("enrollment", "/api/enrollments"), headers=office[region], json={
            "id": person, "year": YEAR, "hukou_region": HY, "residence_region": SQ, "registered_on": "2024-10-01"})
        assert r.json()["outcome"] == "registered", r.text
    await pay(system, person, HY, at("2024-10-02"))
    await eventually(lambda: enrollment_of(client, system, person, office[HY], "paid"))
    await pay(system, person, SQ, at("2024-11-05"))

    ended = await eventually(lambda: enrollment_of(client, system, person, office[HY], "ended"))
    kept = await eventually(lambda: enrollment_of(client, system, person, office[SQ], "paid"))
    assert ended["end_reason"] == "other_region" and ended["ended_on"] == "2024-11-05"
    assert kept["paid_total_fen"] == 40000
    hy_record = (await record(client, system, person, office[HY])).json()
    case = hy_record["duplicate_cases"][0]
    assert (case["kept"], case["dropped_region"], case["rule"]) == (SQ, HY, "residence")
    assert hy_record["refunds"][0]["approved"] is True and hy_record["refunds"][0]["amount_fen"] == 40000
    refunds = await eventually(lambda: events_for(system, "enrollment.refunds", person))
    assert [(e["event_type"], e["region"], e["amount_fen"]) for e in refunds] == [
        ("enrollment.refund-ordered", HY, 40000)]


async def test_a_university_student_enrollment_wins_over_the_home_region(system, client, office):
    person = resident_id(HY, born=date(2005, 5, 5))
    await client.post(system.url("enrollment", "/api/baseline"), headers=office[HY], json={"people": [{"id": person}]})
    await client.post(system.url("enrollment", "/api/enrollments"), headers=office[SQ], json={
        "id": person, "year": YEAR, "kind": "university_student", "school_region": SQ, "registered_on": "2024-09-20"})
    await pay(system, person, SQ, at("2024-09-21"))
    await eventually(lambda: enrollment_of(client, system, person, office[SQ], "paid"))
    await pay(system, person, HY, at("2024-10-30"))   # the family also paid at home
    ended = await eventually(lambda: enrollment_of(client, system, person, office[HY], "ended"))
    assert ended["end_reason"] == "other_region"
    case = (await record(client, system, person, office[SQ])).json()["duplicate_cases"][0]
    assert (case["kept"], case["rule"]) == (SQ, "university_student")


async def test_employee_insurance_wins_and_after_the_benefit_start_nothing_is_refunded(system, client, office):
    person = resident_id(HY)
    await client.post(system.url("enrollment", "/api/baseline"), headers=office[HY], json={"people": [{"id": person}]})
    await pay(system, person, HY, at("2024-10-20"))
    await eventually(lambda: enrollment_of(client, system, person, office[HY], "paid"))
    roster = await client.post(system.url("enrollment", "/api/employee-roster"), headers=office[HY], json={
        "people": [{"id": person, "employer": "某公司", "insured_from": "2025-03-01"}]})
    assert roster.json()["duplicate_cases"] == 1
    ended = await enrollment_of(client, system, person, office[HY])
    assert (ended["state"], ended["end_reason"]) == ("ended", "employee_insurance")
    refund = (await record(client, system, person, office[HY])).json()["refunds"][0]
    assert refund["approved"] is False and "不再退回" in refund["explanation"]


async def test_a_refund_is_allowed_before_the_benefit_start_and_refused_after(system, client, office):
    early, late = resident_id(HY), resident_id(HY)
    await client.post(system.url("enrollment", "/api/baseline"), headers=office[HY],
                      json={"people": [{"id": early}, {"id": late}]})
    for person in (early, late):
        await pay(system, person, HY, at("2024-10-15"))
        await eventually(lambda p=person: enrollment_of(client, system, p, office[HY], "paid"))
    agent = await headers(system, HY, "agent")
    allowed = await client.post(system.url("enrollment", "/api/refunds"), headers=agent, json={
        "id": early, "year": YEAR, "reason": "death", "requested_on": "2024-12-20"})
    refused = await client.post(system.url("enrollment", "/api/refunds"), headers=agent, json={
        "id": late, "year": YEAR, "reason": "death", "requested_on": "2025-01-02"})
    assert (allowed.json()["approved"], allowed.json()["amount_fen"], allowed.json()["state"]) == (True, 40000, "ended")
    assert (refused.json()["approved"], refused.json()["amount_fen"], refused.json()["state"]) == (False, 0, "paid")
    assert "2025-01-01开始" in refused.json()["explanation"]
    ordered = await eventually(lambda: events_for(system, "enrollment.refunds", early))
    refusal = await eventually(lambda: events_for(system, "enrollment.refunds", late))
    assert ordered[0]["event_type"] == "enrollment.refund-ordered" and ordered[0]["amount_fen"] == 40000
    assert refusal[0]["event_type"] == "enrollment.refund-refused"
    assert [e["event_type"] for e in await events_for(system, "enrollment.events", early)][-1] == "enrollment.ended"


# --- regions apart, credentials, the record ------------------------------------------------------

async def test_a_region_never_sees_another_regions_data(system, client, office):
    person = resident_id(HY)
    await client.post(system.url("enrollment", "/api/baseline"), headers=office[HY],
                      json={"people": [{"id": person, "township": "榴城镇", "village": "城关村"}]})
    await pay(system, person, HY, at("2024-10-15"))
    await eventually(lambda: enrollment_of(client, system, person, office[HY], "paid"))

    other = await record(client, system, person, office[AK])
    assert other.status_code == 404 and "榴城镇" not in other.text
    foreign_row = await client.post(system.url("enrollment", "/api/baseline"), headers=office[AK],
                                    json={"people": [{"id": person, "region": HY}]})
    assert foreign_row.json()["rows_rejected"] == 1 and foreign_row.json()["rejected"][0]["reason_code"] == "other_region"
    refund = await client.post(system.url("enrollment", "/api/refunds"), headers=office[AK],
                               json={"id": person, "year": YEAR, "reason": "death", "requested_on": "2024-12-01"})
    assert refund.status_code == 404
    assert (await record(client, system, person, {})).status_code == 401
    assert (await record(client, system, person, {"Authorization": "Bearer forged"})).status_code == 401
    agent = await headers(system, HY, "agent")
    assert (await client.post(system.url("enrollment", "/api/baseline"), headers=agent,
                              json={"people": []})).status_code == 403


async def test_the_person_record_has_payments_dues_periods_and_masks_the_id(system, client, office):
    person = resident_id(HY)
    await client.post(system.url("enrollment", "/api/baseline"), headers=office[HY],
                      json={"people": [{"id": person, "township": "榴城镇", "village": "城关村", "name": "张三"}]})
    paid = await pay(system, person, HY, at("2024-10-15"))
    await eventually(lambda: enrollment_of(client, system, person, office[HY], "paid"))
    body = (await record(client, system, person, office[HY])).json()
    assert body["person"] != person and person not in json.dumps(body, ensure_ascii=False)
    assert body["baseline"]["village"] == "城关村"
    assert [(p["receipt_no"], p["amount_fen"]) for p in body["payments"]] == [(paid["receipt_no"], 40000)]
    enrollment = body["enrollments"][0]
    assert (enrollment["benefit_start"], enrollment["waiting_months"], enrollment["paid_on"]) == (
        "2025-01-01", 0, "2024-10-15")
    assert person not in (system.log_dir / "enrollment.log").read_text(errors="replace")


async def test_every_region_row_of_a_baseline_file_is_counted_accepted_or_refused(system, client, office):
    good = resident_id(HY)
    csv = ("怀远县2024年户籍人口花名册\n序号,姓名,身份证号码,乡镇（街道）,村（社区）,籍贯\n"
           f"1,李四,{good},榴城镇,城关村,安徽\n2,王五,3.40321E+17,榴城镇,城关村,安徽\n,,,,,\n合计,2人,,,,\n")
    r = await client.post(system.url("enrollment", "/api/baseline/file"), headers=office[HY],
                          files={"file": ("花名册.csv", csv.encode("gb18030"), "text/csv")},
                          data={"list_name": "household"})
    body = r.json()
    assert (body["rows_total"], body["rows_accepted"], body["rows_rejected"]) == (2, 1, 1), body
    assert body["rejected"][0]["reason_code"] == "id_excel_number" and body["rejected"][0]["line_no"] == 4
    assert body["unknown_headers"] == ["籍贯"] and body["ignored_lines"] == [5, 6]
    conn = await asyncpg.connect(system.pg_dsn, server_settings={"search_path": "enrollment"})
    try:
        kept = await conn.fetch("SELECT reason_code FROM baseline_rejected_row r JOIN baseline_import i "
                                "ON i.id = r.import_id WHERE i.file_name = '花名册.csv'")
    finally:
        await conn.close()
    assert [k["reason_code"] for k in kept] == ["id_excel_number"]

    async def announced():
        records = await read_all(system.servers.kafka_bootstrap, system.topic("population.baseline"))
        return [json.loads(r.value) for r in records if r.key == f"{person_key(good)}:{HY}".encode()]

    assert [(e["township"], e["village"]) for e in await eventually(announced)] == [("榴城镇", "城关村")]


# --- the CLI: bulk work through the same use cases ------------------------------------------------

def yibao(system: System, *args: str, token: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, **system.servers.env(), "YIBAO_PG_DSN": system.pg_dsn,
           "YIBAO_TOPIC_PREFIX": system.topic_prefix}
    if token:
        env["YIBAO_ENROLLMENT_TOKEN"] = token
    return subprocess.run([sys.executable, "-c", "from cli.main import app; app()", "enrollment", *args],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)


async def test_the_cli_imports_an_xlsx_register_and_registers_a_csv_in_bulk(system, tmp_path):
    issued = await asyncio.to_thread(yibao, system, "credential", "--region", HY, "--role", "agency",
                                     "--holder", "怀远县医保中心")
    assert issued.returncode == 0, issued.stderr
    token = issued.stdout.strip()
    good, other = resident_id(HY), resident_id(SQ)
    book = openpyxl.Workbook()
    book.active.append(["怀远县户籍人口花名册"])
    book.active.append(["姓名", "公民身份号码", "乡镇", "村"])
    book.active.append(["赵六", good, "榴城镇", "城关村"])
    book.active.append(["钱七", 340321198001010000, "榴城镇", "城关村"])
    xlsx = tmp_path / "花名册.xlsx"
    book.save(xlsx)
    imported = await asyncio.to_thread(yibao, system, "import", str(xlsx), token=token)
    assert imported.returncode == 0, imported.stderr
    assert "2行，导入1行，退回1行" in imported.stdout and "第4行" in imported.stdout and "Excel" in imported.stdout

    listing = tmp_path / "register.csv"
    listing.write_text("id,year,kind,hukou_region,registered_on\n"
                       f"{good},2025,general,,2024-10-10\n{other},2025,general,{SQ},2024-10-10\n", encoding="utf-8")
    registered = await asyncio.to_thread(yibao, system, "register", str(listing), token=token)
    assert registered.returncode == 3, registered.stdout + registered.stderr
    assert "登记1" in registered.stdout and "拒绝1" in registered.stdout and "第2行" in registered.stdout
    assert good not in registered.stdout + imported.stdout and other not in registered.stdout
    registrations = await eventually(lambda: events_for(system, "enrollment.events", good))
    assert [(e["event_type"], e["township"]) for e in registrations] == [("enrollment.registered", "榴城镇")]
