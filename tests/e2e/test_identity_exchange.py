"""Identity certification's monthly exchange on the real stack: files in, statuses and events out.

Only the identity certification process runs (it is all these tests need); the
subsidy consumer's view is read straight from the system's identity.status-changed topic.
Tests run in order and build on each other (one department's month after another). The
last one runs a second system, to show that a list uploaded over HTTP and the same list
posted on the department's topic (identity.records-submitted.<department>) go through one use case
to the same statuses and events.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from openpyxl import Workbook, load_workbook

from shared.resident_id import person_key
from tests.e2e.conftest import ARTIFACTS
from tests.e2e.security_support import issue as credential
from tests.support.kafka import produce, read_all, wait_consumed
from tests.support.people import resident_id
from tests.support.system import ROOT, System, running
from tests.support.waiting import eventually

REGION = "340321"
A, B, C, D = (resident_id(REGION, seq=s) for s in (201, 203, 205, 207))
BAD_CHECK = A[:17] + ("1" if A[17] != "1" else "2")
FOREIGN = resident_id("990000", seq=209)  # check character right, region code never existed


@pytest.fixture(scope="module")
async def system(servers) -> AsyncIterator[System]:
    async with running(servers, ARTIFACTS, ("identity_certification",)) as system:
        yield system


@pytest.fixture(scope="module")
async def tokens(system) -> dict[str, str]:
    return {d: await credential(system, d, REGION) for d in ("civil_affairs", "agriculture")}


async def upload(system: System, token: str, name: str, data: bytes, **form) -> httpx.Response:
    async with httpx.AsyncClient(timeout=60) as client:
        return await client.post(system.url("identity_certification", "/api/submissions/file"),
                                 headers={"Authorization": f"Bearer {token}"},
                                 files={"file": (name, data)}, data={"period": "2024-11", **form})


async def query(system: System, sql: str, *args):
    conn = await asyncpg.connect(system.pg_dsn, server_settings={"search_path": "identity"})
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


async def status_events(system: System) -> list[dict]:
    return [json.loads(r.value) for r in await read_all(system.servers.kafka_bootstrap,
                                                         system.topic("identity.status-changed"))]


NOVEMBER = [
    ["榴城镇2024年11月低保对象花名册"],
    ["序号", "姓名", "身份证号码", "救助类别", "纳入时间", "退出时间", "乡镇（街道）", "村(社区)", "手机号"],
    ["1", "甲", A, "低保", "2024/11/5", "", "榴城镇", "城关村", ""],            # line 3: good
    ["2", "乙", B, "特困供养人员", "45601", "", "榴城镇", "城关村", ""],        # line 4: good (Excel serial)
    ["3", "丙", BAD_CHECK, "低保", "2024-11-05", "", "", "", ""],              # 5: check character
    ["4", "丁", "340321198001010000", "低保", "2024-11-05", "", "", "", ""],  # 6: Excel ate the last digits
    ["5", "戊", FOREIGN, "低保", "2024-11-05", "", "", "", ""],                # 7: region code unknown
    ["6", "己", C, "=HYPERLINK(\"http://x\")", "2024-11-05", "", "", "", ""],  # 8: unknown category
    ["7", "庚", C, "低保", "", "", "", "", ""],                                # 9: no certification date
    ["8", "辛", C, "低保", "2099-01-01", "", "", "", ""],                      # 10: in the future
    ["9", "壬", C, "低保", "2024-11-05", "2024-10-01", "", "", ""],            # 11: ended before certified
    ["10", "癸", C, "低保", "上个月", "", "", "", ""],                          # 12: date not readable
    ["11", "甲", A, "低保", "2024年11月5日", "", "", "", ""],                   # 13: duplicate of line 3
    [],
    ["合计", "", "11人"],
]
EXPECTED = {5: "id_check_character", 6: "id_excel_number", 7: "id_region_unknown", 8: "unknown_category",
            9: "missing_certified_on", 10: "certified_in_future", 11: "ended_before_certified", 12: "bad_date",
            13: "duplicate_row"}


def gbk_csv(rows) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode("gb18030")


async def test_each_validation_error_is_rejected_with_its_reason_while_good_rows_pass(system, tokens):
    response = await upload(system, tokens["civil_affairs"], "十一月.csv", gbk_csv(NOVEMBER),
                            department="civil_affairs", region=REGION)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["outcome"] == "processed"
    assert (body["rows_total"], body["rows_accepted"], body["rows_rejected"]) == (11, 2, 9)
    assert {r["line_no"]: r["reason_code"] for r in body["rejected"]} == EXPECTED
    assert all(r["reason"] for r in body["rejected"]) and A not in response.text and C not in response.text
    assert any("手机号" in n for n in body["notes"]) and body["people_changed"] == 2
    kept = await query(system, "SELECT person_id, category, certified_on::text, submission_id::text FROM status "
                               "ORDER BY category")
    assert [(r["person_id"], r["category"], r["certified_on"]) for r in kept] == [
        (B, "extreme_poverty", "2024-11-05"), (A, "minimum_living", "2024-11-05")]
    assert {r["submission_id"] for r in kept} == {body["submission_id"]}


async def test_the_row_level_result_downloads_with_line_numbers_masked_ids_and_no_formulas(system, tokens):
    [submission] = await query(system, "SELECT id::text FROM submission WHERE outcome = 'processed'")
    url = system.url("identity_certification", f"/api/submissions/{submission['id']}/result")
    async with httpx.AsyncClient(timeout=30) as client:
        as_csv = await client.get(url, headers={"Authorization": f"Bearer {tokens['civil_affairs']}"})
        as_xlsx = await client.get(url, params={"format": "xlsx"},
                                   headers={"Authorization": f"Bearer {tokens['civil_affairs']}"})
        other = await client.get(url, headers={"Authorization": f"Bearer {tokens['agriculture']}"})
    assert as_csv.status_code == 200 and as_xlsx.status_code == 200
    lines = list(csv.reader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    assert lines[0][0] == "行号" and [int(r[0]) for r in lines[1:]] == list(range(3, 14))
    assert {int(r[0]): r[4] for r in lines[1:] if r[3] == "退回"} == EXPECTED
    assert lines[6][2].startswith("'=HYPERLINK")  # line 8's category, defused
    assert all(p not in as_csv.text for p in (A, B, C))
    sheet = load_workbook(io.BytesIO(as_xlsx.content), read_only=True).worksheets[0]
    cells = [[c or "" for c in r] for r in sheet.iter_rows(values_only=True)]
    assert cells[1:] == lines[1:]
    assert other.status_code == 404  # another department does not see it


async def test_a_department_is_refused_another_departments_category_and_it_is_recorded(system, tokens):
    rows = [["身份证号", "人员类别", "认定时间"], [D, "低保", "2024-11-06"], [D, "脱贫不稳定户", "2024-11-06"]]
    response = await upload(system, tokens["civil_affairs"], "混报.csv", gbk_csv(rows))
    assert response.status_code == 403
    detail = response.json()["detail"]
    assert detail["outcome"] == "refused" and "防止返贫监测对象" in detail["message"] and "农业农村" in detail["message"]
    [refused] = await query(system, "SELECT refusal, rows_total FROM submission WHERE outcome = 'refused'")
    assert refused["rows_total"] == 2 and "整批退回" in refused["refusal"]
    assert not await query(system, "SELECT 1 FROM status WHERE person_id = $1", D)  # not even the 低保 row
    wrong = await upload(system, "not-a-token", "x.csv", gbk_csv(rows))
    claimed = await upload(system, tokens["civil_affairs"], "x.csv", gbk_csv(rows), region="341522")
    assert (wrong.status_code, claimed.status_code) == (401, 403)
    kinds = [r["reason_code"] for r in await query(system, "SELECT reason_code FROM access_refusal ORDER BY id")]
    assert kinds == ["not_your_submission", "bad_credential", "credential_mismatch"]


async def test_a_reposted_file_has_no_effect_and_says_so(system, tokens):
    before = len(await status_events(system))
    assert before == 2  # the first upload's two people
    response = await upload(system, tokens["civil_affairs"], "十一月-副本.csv", gbk_csv(NOVEMBER))
    body = response.json()
    assert response.status_code == 200 and body["outcome"] == "duplicate"
    assert "此前已报送" in body["message"] and body["people_changed"] == 0 and body["duplicate_of"]
    outcomes = [r["outcome"] for r in await query(system, "SELECT outcome FROM submission ORDER BY received_at")]
    assert outcomes == ["processed", "refused", "duplicate"]
    assert len(await status_events(system)) == before
    assert len(await query(system, "SELECT 1 FROM row_result")) == 11


async def test_a_department_system_streams_its_list_on_the_topic(system, tokens):
    message_id = str(uuid.uuid4())
    message = {"message_id": message_id, "occurred_at": "2024-11-20T08:00:00Z", "department": "agriculture",
               "region": REGION, "period": "2024-11", "mode": "delta", "rows": [
                   {"id": A, "category": "脱贫不稳定户", "certified_on": "2024-11-10", "township": "榴城镇"},
                   {"id": BAD_CHECK, "category": "poverty_monitoring", "certified_on": "2024-11-10"}]}
    bootstrap = system.servers.kafka_bootstrap
    await produce(bootstrap, system.topic("identity.records-submitted.agriculture"),
                  [(REGION.encode(), json.dumps(message, ensure_ascii=False).encode())] * 2)
    await wait_consumed(bootstrap, f"{system.tag}.identity_certification.records.agriculture",
                        system.topic("identity.records-submitted.agriculture"))
    [done] = await query(system, "SELECT outcome, rows_accepted, rows_rejected, source FROM submission "
                                 "WHERE id = $1::uuid", message_id)
    assert dict(done) == {"outcome": "processed", "rows_accepted": 1, "rows_rejected": 1, "source": "kafka"}
    async with httpx.AsyncClient(timeout=30) as client:
        result = await client.get(system.url("identity_certification", f"/api/submissions/{message_id}/result"),
                                  headers={"Authorization": f"Bearer {tokens['agriculture']}"})
    assert [r[4] for r in csv.reader(io.StringIO(result.content.decode("utf-8-sig")))][1:] == ["", "id_check_character"]


async def test_a_streamed_list_for_an_impossible_month_is_dead_lettered_and_the_next_goes_through(system, tokens):
    # A snapshot for 0000-01 would need a date in year 0: the message is refused by its schema and kept as a
    # dead letter with its reason, and the lists behind it in the partition go through.
    bad, good = str(uuid.uuid4()), str(uuid.uuid4())
    base = {"occurred_at": "2024-11-21T08:00:00Z", "department": "agriculture", "region": REGION, "rows": [
        {"id": A, "category": "脱贫不稳定户", "certified_on": "2024-11-10"}]}
    messages = [{**base, "message_id": bad, "period": "0000-01", "mode": "snapshot"},
                {**base, "message_id": good, "period": "2024-11", "mode": "delta"}]
    bootstrap = system.servers.kafka_bootstrap
    await produce(bootstrap, system.topic("identity.records-submitted.agriculture"),
                  [(REGION.encode(), json.dumps(m, ensure_ascii=False).encode()) for m in messages])
    await wait_consumed(bootstrap, f"{system.tag}.identity_certification.records.agriculture",
                        system.topic("identity.records-submitted.agriculture"))
    taken = await query(system, "SELECT id::text, outcome FROM submission WHERE id = ANY($1::uuid[])", [bad, good])
    assert [tuple(r) for r in taken] == [(good, "processed")]
    [kept] = await query(system, "SELECT reason FROM dead_letter WHERE raw_sha256 = $1",
                         hashlib.sha256(json.dumps(messages[0], ensure_ascii=False).encode()).hexdigest())
    assert "period" in kept["reason"], kept["reason"]


def snapshot_xlsx(rows) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


async def test_a_snapshot_ends_the_people_it_no_longer_lists(system, tokens):
    # December's full 低保/特困 list from civil affairs no longer lists B (特困); A stays, D is new.
    data = snapshot_xlsx([["2024年12月低保、特困人员全量名单"], ["公民身份号码", "人员类别", "认定时间"],
                          [A, "低保对象", "2024-11-05"], [D, "低保对象", "2024-12-02"]])
    response = await upload(system, tokens["civil_affairs"], "十二月全量.xlsx", data, period="2024-12",
                            mode="snapshot", categories="低保,特困")
    body = response.json()
    assert response.status_code == 200, response.text
    assert (body["rows_accepted"], body["people_ended"], body["people_changed"]) == (2, 1, 2)  # B ended, D added
    ended = await query(system, "SELECT person_id, ended_on::text FROM status WHERE ended_on IS NOT NULL")
    assert [tuple(r) for r in ended] == [(B, "2024-12-31")]  # the period's last day (setting snapshot_end)
    again = await upload(system, tokens["civil_affairs"], "十二月全量.xlsx", data, period="2024-12",
                         mode="snapshot", categories="低保,特困")
    assert again.json()["outcome"] == "duplicate"


async def test_the_events_a_subsidy_consumer_receives_carry_each_persons_full_current_set(system):
    async def settled():
        events = await status_events(system)
        return events if len(events) == 5 else None  # A, B (Nov) + A (agriculture) + B, D (Dec snapshot)

    events = await eventually(settled)
    last = {}
    for event in events:
        last[event["person_id"]] = event
    assert set(last) == {A, B, D}
    stored = await query(system, "SELECT person_id, category, department, certified_on::text, ended_on::text "
                                 "FROM status ORDER BY person_id, certified_on, category")
    for person, event in last.items():
        expected = [(r["category"], r["department"], r["certified_on"], r["ended_on"]) for r in stored
                    if r["person_id"] == person]
        assert [(s["category"], s["department"], s["certified_on"], s["ended_on"]) for s in event["statuses"]] \
            == expected, person
    assert [s["category"] for s in last[A]["statuses"]] == ["minimum_living", "poverty_monitoring"]
    assert last[B]["statuses"][0]["ended_on"] == "2024-12-31"
    records = await read_all(system.servers.kafka_bootstrap, system.topic("identity.status-changed"))
    assert {r.key.decode() for r in records} == {person_key(p) for p in (A, B, D)}  # keyed by person, no raw ID


def yibao(system: System, *args: str, token: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, **system.env("identity_certification"),
           "YIBAO_IDENTITY_URL": system.url("identity_certification", "")}
    if token:
        env["YIBAO_IDENTITY_TOKEN"] = token
    return subprocess.run([str(Path(sys.executable).parent / "yibao"), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


async def test_the_command_line_issues_a_credential_and_submits_a_file(system, tmp_path: Path):
    refused = yibao(system, "identity", "credential", "--department", "education", "--region", REGION)
    assert refused.returncode == 2 and "没有可认定的人员类别" in refused.stderr
    issued = yibao(system, "identity", "credential", "--department", "veterans", "--region", REGION)
    assert issued.returncode == 0, issued.stderr
    token = issued.stdout.strip()
    path = tmp_path / "优抚.csv"
    path.write_bytes(("\ufeff身份证号,人员类别,认定时间\n" + f"{C},重点优抚对象,2024-11-01\n").encode())
    done = yibao(system, "identity", "submit", str(path), "--department", "veterans", "--region", REGION,
                 "--period", "2024-11", token=token)
    assert done.returncode == 0, done.stderr
    assert "1行通过" in done.stdout and "上传" in done.stderr  # the tqdm bar writes to stderr
    wrong = yibao(system, "identity", "submit", str(path), "--department", "civil_affairs", "--region", REGION,
                  "--period", "2024-11", token=token)
    assert wrong.returncode == 1
    kinds = [r["reason_code"] for r in await query(system, "SELECT reason_code FROM access_refusal ORDER BY id")]
    assert kinds[-2:] == ["credential_refused", "credential_mismatch"]


async def stored(system: System, people: list[str]) -> dict:
    """What a list left behind for these people: statuses, the submission's counts and its row results."""
    statuses = await query(system, "SELECT person_id, category, department, region, certified_on, ended_on, township, "
                                   "village FROM status WHERE person_id = ANY($1) ORDER BY 1, 2, 5", people)
    [submission] = await query(system, "SELECT id, outcome, rows_total, rows_accepted, rows_rejected, people_changed, "
                                       "people_ended FROM submission WHERE source <> 'json' ORDER BY received_at DESC LIMIT 1")
    results = await query(system, "SELECT line_no, person_masked, category, accepted, reason_code, reason FROM row_result "
                                  "WHERE submission_id = $1 ORDER BY line_no", submission["id"])
    return {"statuses": [tuple(r) for r in statuses], "submission": tuple(submission)[1:],
            "results": [tuple(r) for r in results]}


async def announced(system: System, people: list[str], count: int) -> list[dict]:
    """The identity.status-changed events about these people, without what differs by nature (ids, times)."""
    async def settled():
        events = [e for e in await status_events(system) if e["person_id"] in people]
        return events if len(events) == count else None

    events = await eventually(settled)
    for event in events:
        del event["message_id"], event["occurred_at"]
        for one in event["statuses"]:
            del one["submission_id"]
    return sorted(events, key=lambda e: e["person_id"])


async def test_the_same_list_over_http_and_on_the_topic_gives_the_same_statuses_and_events(system, tokens, servers):
    people = [resident_id(REGION, seq=s) for s in (211, 213, 215)]
    listed = [
        {"id": people[0], "category": "低保", "certified_on": "2024-11-12", "township": "榴城镇", "village": "城关村"},
        {"id": people[1], "category": "特困供养人员", "certified_on": "2024/11/12"},
        {"id": people[2], "category": "minimum_living", "certified_on": "20241112", "ended_on": "2024-11-30"},
        {"id": BAD_CHECK, "category": "低保", "certified_on": "2024-11-12"},
        {"id": people[0], "category": "低保", "certified_on": "2024年11月12日"},  # a duplicate of the first row
        {"id": people[1], "category": "低保", "certified_on": "上个月"},
    ]
    columns = ("id", "category", "certified_on", "ended_on", "township", "village")
    data = gbk_csv([["身份证号", "人员类别", "认定时间", "退出时间", "乡镇（街道）", "村(社区)"],
                    *[[row.get(c, "") for c in columns] for row in listed]])
    response = await upload(system, tokens["civil_affairs"], "十一月补报.csv", data)
    assert response.status_code == 200, response.text
    over_http = await stored(system, people)
    assert over_http["submission"] == ("processed", 6, 3, 3, 3, 0)
    async with running(servers, ARTIFACTS, ("identity_certification",)) as twin:
        await credential(twin, "civil_affairs", REGION)
        message = {"message_id": str(uuid.uuid4()), "occurred_at": "2024-11-20T08:00:00Z", "department": "civil_affairs",
                   "region": REGION, "period": "2024-11", "mode": "delta", "rows": listed}
        bootstrap = twin.servers.kafka_bootstrap
        await produce(bootstrap, twin.topic("identity.records-submitted.civil_affairs"),
                      [(REGION.encode(), json.dumps(message, ensure_ascii=False).encode())])
        await wait_consumed(bootstrap, f"{twin.tag}.identity_certification.records.civil_affairs",
                            twin.topic("identity.records-submitted.civil_affairs"))
        on_the_topic = await stored(twin, people)
        # The file's lines count its header (line 1), the message's rows do not: one line apart, reasons included.
        on_the_topic["results"] = [(n + 1, *rest[:-1], re.sub(r"与第(\d+)行", lambda m: f"与第{int(m[1]) + 1}行", rest[-1] or "")
                                    or None) for n, *rest in on_the_topic["results"]]
        assert on_the_topic == over_http
        assert [r[4] for r in over_http["results"]] == [None, None, None, "id_check_character", "duplicate_row", "bad_date"]
        assert await announced(twin, people, 3) == await announced(system, people, 3)


async def test_a_department_watches_its_files_progress_and_no_one_elses(system, tokens):
    people = [resident_id(REGION, seq=s) for s in (611, 613, 615)]
    data = gbk_csv([["身份证号", "人员类别", "认定时间"], *[[p, "低保", "2024-11-15"] for p in people], ["123", "低保", ""]])
    posted = (await upload(system, tokens["civil_affairs"], "十一月进度.csv", data)).json()
    assert posted["outcome"] == "processed", posted
    async with httpx.AsyncClient(timeout=30) as client:
        mine = await client.get(system.url("identity_certification", "/api/submissions"), params={"limit": 1},
                                headers={"Authorization": f"Bearer {tokens['civil_affairs']}"})
        url = system.url("identity_certification", f"/api/submissions/{posted['submission_id']}/progress")
        one = await client.get(url, headers={"Authorization": f"Bearer {tokens['civil_affairs']}"})
        theirs = await client.get(url, headers={"Authorization": f"Bearer {tokens['agriculture']}"})
    assert mine.status_code == one.status_code == 200 and mine.json() == [one.json()]
    seen = one.json()
    assert (seen["submission_id"], seen["phase"], seen["source"]) == (posted["submission_id"], "processed", "csv")
    assert (seen["rows_read"], seen["rows_validated"], seen["rows_merged"], seen["events_written"]) == (4, 4, 3, 3)
    assert (seen["rows_total"], seen["rows_accepted"], seen["rows_rejected"], seen["people_changed"]) == (4, 3, 1, 3)
    assert "已读4行" in seen["message"] and people[0] not in one.text
    assert theirs.status_code == 404
