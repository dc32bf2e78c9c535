"""Reconciliation on the real stack: a generated season with every discrepancy kind planted.

The reconciliation service runs as a real process on Kafka and PostgreSQL; the
test plays the other services by publishing what they publish (baseline,
statuses, dues, accepted receipts, enrollment events) and hands in the bank
files, the agents' cash book and the targets over HTTP, as officials would.
"""
from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from openpyxl import load_workbook

from tests.e2e import reconciliation_season as gen
from tests.support.kafka import produce, read_all, wait_consumed
from tests.support.system import System, create_system, drop_system

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "e2e"
HEADERS: dict[str, str] = {}  # the clerk's credential, set by the module fixture
CONSUMERS = {"population.baseline": "baseline", "identity.status-changed": "statuses",
             "subsidy.due-assessed": "dues", "payment.receipt-accepted": "receipts", "enrollment.events": "enrollment"}


async def load_season(system: System, season: gen.Season, client: httpx.AsyncClient) -> dict:
    """Publish the season's events, wait until reconciliation consumed them, hand in the files."""
    bootstrap = system.servers.kafka_bootstrap
    for topic, records in season.messages.items():
        await produce(bootstrap, system.topic(topic), records)
    for topic, consumer in CONSUMERS.items():
        await wait_consumed(bootstrap, f"{system.tag}.reconciliation.{consumer}", system.topic(topic), timeout=60)
    imports = []
    for bank, name, text in season.bank_files:
        r = await client.post(system.url("reconciliation", "/api/imports/bank-settlement"),
                              params={"bank": bank, "name": name}, content=text.encode())
        assert r.status_code == 200, r.text
        imports.append(r.json())
    r = await client.post(system.url("reconciliation", "/api/imports/agent-deposits"), content=season.agent_file.encode())
    assert r.status_code == 200, r.text
    imports.append(r.json())
    r = await client.post(system.url("reconciliation", "/api/imports/targets"), content=season.targets_file.encode())
    assert r.status_code == 200, r.text
    imports.append(r.json())
    return {"imports": imports}


@pytest.fixture(scope="module")
async def recon(servers) -> AsyncIterator[tuple[System, gen.Season, dict]]:
    system = await create_system(servers, ARTIFACTS)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("YIBAO_SCHEDULE_ENABLED", "false")  # runs in this test are on demand only
        try:
            system.start("reconciliation")
            await system.wait_healthy(("reconciliation",))
            season = gen.generate(seed=7, people=240)
            HEADERS.update(await gen.credential(system.pg_dsn))
            async with httpx.AsyncClient(timeout=60, headers=HEADERS) as client:
                loaded = await load_season(system, season, client)
                first = await client.post(system.url("reconciliation", "/api/runs"),
                                          json={"region": gen.REGION, "day": gen.RUN_DAY.isoformat()})
                assert first.status_code == 200, first.text
            yield system, season, {**loaded, "run": first.json()}
        finally:
            await drop_system(system)


async def get(system: System, path: str, **params) -> dict:
    async with httpx.AsyncClient(timeout=30, headers=HEADERS) as client:
        r = await client.get(system.url("reconciliation", path), params={"region": gen.REGION, "year": gen.YEAR,
                                                                          **params})
        assert r.status_code == 200, r.text
        return r.json()


async def test_every_file_line_is_taken_or_refused_with_a_reason(recon):
    _, season, loaded = recon
    for summary in loaded["imports"]:
        assert summary["lines_in"] == summary["accepted"] + summary["rejected"]
    rejected = [x for s in loaded["imports"] for x in s["rejections"]]
    assert len(rejected) == season.bad_bank_lines
    assert "渠道" in rejected[0]["reason"] and "pigeon" in rejected[0]["reason"]


async def test_the_run_finds_exactly_the_planted_discrepancies(recon):
    system, season, loaded = recon
    expected = Counter(kind for kind, *_ in season.planted)
    assert loaded["run"]["counts"] == dict(sorted(expected.items()))
    assert len(expected) == 9  # every kind is planted at least once
    found = (await get(system, "/api/discrepancies"))["discrepancies"]
    assert Counter((d["kind"], d["person"], d["receipt_no"], d["amount_fen"]) for d in found) == \
        Counter(season.planted)
    for d in found:  # each names the person masked, the receipt and the amount
        assert d["amount_fen"] is not None and d["detail"]
        assert all(p.person_id not in json.dumps(d, ensure_ascii=False) for p in season.people)


async def test_a_repeated_run_gives_the_same_answer_and_publishes_nothing_new(recon):
    system, season, loaded = recon
    async with httpx.AsyncClient(timeout=60, headers=HEADERS) as client:
        again = (await client.post(system.url("reconciliation", "/api/runs"),
                                   json={"region": gen.REGION, "day": gen.RUN_DAY.isoformat()})).json()
    assert again["fingerprint"] == loaded["run"]["fingerprint"]
    assert (again["found"], again["new"]) == (loaded["run"]["found"], 0)
    runs = (await get(system, "/api/runs"))["runs"]
    assert [(r["counts"], r["fingerprint"]) for r in runs[:2]] == [(again["counts"], again["fingerprint"])] * 2

    async def published() -> list:
        return await read_all(system.servers.kafka_bootstrap, system.topic("reconciliation.discrepancy-found"))

    from tests.e2e.test_walking_skeleton import eventually
    records = await eventually(lambda: _when(published(), lambda rs: len(rs) >= len(season.planted)))
    events = [json.loads(r.value) for r in records]
    assert len(events) == len(season.planted)
    assert Counter(e["kind"] for e in events) == Counter(kind for kind, *_ in season.planted)
    assert len({e["discrepancy_id"] for e in events}) == len(events)


async def _when(awaitable, condition):
    value = await awaitable
    return value if condition(value) else None


async def test_a_resolved_discrepancy_keeps_its_note_through_later_runs(recon):
    system, _, _ = recon
    open_before = (await get(system, "/api/discrepancies"))["discrepancies"]
    target = next(d for d in open_before if d["kind"] == "receipt_not_settled")
    async with httpx.AsyncClient(timeout=60, headers=HEADERS) as client:
        r = await client.post(system.url("reconciliation", f"/api/discrepancies/{target['id']}/resolve"),
                              json={"note": "银行补发结算单，已核对"})
        assert r.status_code == 200, r.text
        await client.post(system.url("reconciliation", "/api/runs"),
                          json={"region": gen.REGION, "day": gen.RUN_DAY.isoformat()})
    open_after = (await get(system, "/api/discrepancies"))["discrepancies"]
    assert [d["id"] for d in open_after] == [d["id"] for d in open_before if d["id"] != target["id"]]
    resolved = (await get(system, "/api/discrepancies", status="resolved"))["discrepancies"]
    assert [(d["id"], d["resolved_note"], d["resolved_by"]) for d in resolved] == \
        [(target["id"], "银行补发结算单，已核对", "县医保中心对账员")]


async def test_progress_equals_a_count_straight_from_the_data(recon):
    system, season, _ = recon
    body = await get(system, "/api/progress")
    got = {(v["township"], v["village"]): (v["baseline_people"], v["enrolled_people"], v["paid_people"], v["paid_fen"])
           for v in body["progress"]["villages"]}
    assert got == gen.expected_progress(season)
    expected = gen.expected_progress(season)
    townships = {t["township"]: t for t in body["progress"]["townships"]}
    for name, target in (("榴城镇", 100), ("荆山镇", 60), ("唐集镇", 40)):
        enrolled = sum(v[1] for (t, _), v in expected.items() if t == name)
        assert townships[name]["enrolled_people"] == enrolled
        assert townships[name]["target_people"] == target
        assert townships[name]["target_completion"] == round(enrolled / target, 4)
    ranks = sorted(townships.values(), key=lambda t: t["rank"])
    assert [t["target_completion"] for t in ranks] == sorted((t["target_completion"] for t in ranks), reverse=True)
    assert body["progress"]["region"]["baseline_people"] == len(season.people)


async def test_vulnerable_groups_and_the_not_yet_enrolled_list(recon):
    system, season, _ = recon
    groups = {g["category"]: g for g in (await get(system, "/api/vulnerable"))["groups"]}
    for category in ("minimum_living", "extreme_poverty"):
        members = [p for p in season.people if p.category == category]
        enrolled = [p for p in members if (p.state == "paid") or (p.state == "registered" and p.due_fen == 0)]
        assert (groups[category]["people"], groups[category]["enrolled"]) == (len(members), len(enrolled))
        missing = sorted(gen.mask(p.person_id) for p in members if p not in enrolled)
        assert sorted(x["person"] for x in groups[category]["not_enrolled"]) == missing


async def test_transfers_and_refunds(recon):
    system, season, _ = recon
    transfers = await get(system, "/api/transfers")
    enrolled_subsidy = sum(gen.GROUPS[p.category][1].amount_fen for p in season.people if p.category and (
        (p.state == "paid" and p.paid_fen > 0) or (p.state == "registered" and p.due_fen == 0)))
    # the planted person whose due carries a 低保 line without a status is paid too: their line counts
    unbacked = next(p for p in season.people if p.category is None and p.due_fen == 6000)
    enrolled_subsidy += 34000 if unbacked.state == "paid" else 0
    assert [(s["funding_source"], s["amount_fen"]) for s in transfers["by_source"]] == \
        [("medical_assistance", enrolled_subsidy)]
    refunds = await get(system, "/api/refunds")
    assert [(r["origin"], r["amount_fen"], r["state"]) for r in refunds["refunds"]] == [("detected", 40000, "detected")]
    assert refunds["owed_fen"] == 40000


async def test_exports_match_the_api_and_neutralise_formulas(recon):
    system, _, _ = recon
    body = await get(system, "/api/progress")
    async with httpx.AsyncClient(timeout=30, headers=HEADERS) as client:
        url = system.url("reconciliation", "/api/exports/progress.csv")
        text = (await client.get(url, params={"region": gen.REGION, "year": gen.YEAR})).content.decode("utf-8-sig")
        xlsx = (await client.get(system.url("reconciliation", "/api/exports/discrepancies.xlsx"),
                                 params={"region": gen.REGION, "year": gen.YEAR})).content
        listed = (await client.get(system.url("reconciliation", "/api/exports/not-enrolled.csv"),
                                   params={"region": gen.REGION, "year": gen.YEAR})).content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert len(rows) - 1 == len(body["progress"]["villages"])
    villages = [r[1] for r in rows[1:]]
    assert "'=cmd|' /C calc'!A0村" in villages and not any(v.startswith("=") for v in villages)
    sheet = load_workbook(io.BytesIO(xlsx)).active
    found = (await get(system, "/api/discrepancies", status="all"))["discrepancies"]
    assert sheet.max_row - 1 == len(found)
    vulnerable = (await get(system, "/api/vulnerable"))["groups"]
    assert len(list(csv.reader(io.StringIO(listed)))) - 1 == sum(len(g["not_enrolled"]) for g in vulnerable)


async def test_weekly_snapshot_is_kept(recon):
    system, season, _ = recon
    weeks = (await get(system, "/api/progress/snapshots"))["weeks"]
    assert {w["week"] for w in weeks} == {"2024-12-16"}
    assert sum(w["baseline_people"] for w in weeks) == len(season.people)


async def test_person_lookup_takes_the_id_in_the_body_and_shows_it_masked(recon):
    system, season, _ = recon
    person = next(p for p in season.people if p.state == "paid" and p.receipts)
    async with httpx.AsyncClient(timeout=30, headers=HEADERS) as client:
        r = await client.post(system.url("reconciliation", "/api/person"), json={"id": person.person_id})
    assert r.status_code == 200, r.text
    assert r.json()["person"] == gen.mask(person.person_id)
    assert person.person_id not in r.text
    assert [x["receipt_no"] for x in r.json()["receipts"]] == [x.receipt_no for x in person.receipts]


async def test_each_route_checks_the_credential_region_and_role(recon):
    system, season, _ = recon
    viewer = await gen.credential(system.pg_dsn, role="viewer", holder="乡镇医保站")
    elsewhere = await gen.credential(system.pg_dsn, region="341522", holder="霍邱县")
    params = {"region": gen.REGION, "year": gen.YEAR}
    run = {"region": gen.REGION, "day": gen.RUN_DAY.isoformat()}
    async with httpx.AsyncClient(timeout=30) as client:
        url = lambda path: system.url("reconciliation", path)  # noqa: E731
        assert (await client.get(url("/api/discrepancies"), params=params)).status_code == 401
        bad = await client.get(url("/api/discrepancies"), params=params, headers={"Authorization": "Bearer nope"})
        assert bad.status_code == 401 and "凭证" in bad.json()["detail"]
        assert (await client.get(url("/api/discrepancies"), params=params, headers=viewer)).status_code == 200
        refused = await client.post(url("/api/runs"), json=run, headers=viewer)
        assert refused.status_code == 403 and "clerk" in refused.json()["detail"]
        assert (await client.post(url("/api/imports/targets"), content=season.targets_file.encode(),
                                  headers=viewer)).status_code == 403
        other = await client.get(url("/api/vulnerable"), params=params, headers=elsewhere)
        assert other.status_code == 403 and "341522" in other.json()["detail"]
        person = next(p for p in season.people if p.receipts)
        assert (await client.post(url("/api/person"), json={"id": person.person_id},
                                  headers=elsewhere)).status_code == 404
        # the aggregates stay open: counts per village, no person
        assert (await client.get(url("/api/progress"), params=params)).status_code == 200


async def test_lines_of_another_region_are_refused_and_the_rest_taken(recon):
    system, _, _ = recon
    text = ("region,year,township,target_people\n"
            f"{gen.REGION},{gen.YEAR},榴城镇,100\n341522,{gen.YEAR},城关镇,50\n")
    async with httpx.AsyncClient(timeout=30, headers=HEADERS) as client:
        r = await client.post(system.url("reconciliation", "/api/imports/targets"), content=text.encode())
    body = r.json()
    assert (body["lines_in"], body["accepted"], body["rejected"]) == (2, 1, 1)
    assert "341522" in body["rejections"][0]["reason"] and body["rejections"][0]["line"] == 3
