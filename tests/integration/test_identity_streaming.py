"""A department's file streamed to PostgreSQL (issue 15), on the real PostgreSQL: all of it or none of it when
the database connection dies between two chunks, then a re-post applied exactly once with its events once;
the progress a department watches (read beside the list's open transaction); the row results of a file with
bad rows beside good ones, exactly as the code before streaming gave them; and the identity.status-changed
events written by SQL, byte for byte what pydantic writes for the same statuses."""
from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path
from uuid import UUID

import asyncpg
import pytest

from services.identity_certification import store
from services.identity_certification.usecases import Board, Upload, result_csv, submit_file
from services.identity_certification.usecases import submissions as submitting
from shared.db import create_pool
from shared.messages import CertifiedStatus, StatusChanged
from shared.resident_id import check_character, person_key
from shared.uow import unit_of_work
from tests.support.people import resident_id
from tests.support.system import create_system, drop_system

pytestmark = pytest.mark.stack
NOW = datetime(2024, 12, 10, 9, 0, tzinfo=UTC)
HY = "340321"
TOPIC = "st.identity.status-changed"


@pytest.fixture(scope="module")
async def pool(servers) -> AsyncIterator[asyncpg.Pool]:
    system = await create_system(servers, Path("/tmp") / "identity-streaming", create_topics=False)
    pool = await create_pool(system.pg_dsn, "identity")
    try:
        yield pool
    finally:
        await pool.close()
        await drop_system(system, delete_topics=False)


async def upload(pool: asyncpg.Pool, data: bytes, *, department: str = "civil_affairs", watch=None,
                 period: str = "2024-11"):
    async with unit_of_work(pool, schema="identity", topic_prefix="st.", now=NOW) as uow:
        kw = {"watch": watch} if watch is not None else {}
        return await submit_file(uow, Upload(department, HY, period, "delta", io.BytesIO(data)),
                                 max_bytes=1 << 24, **kw)


def big_file(first_seq: int, rows: int) -> tuple[bytes, list[str]]:
    people = [resident_id(HY, born=date(1960, 1, 1 + i // 999), seq=i % 999 + 1) for i in range(first_seq, first_seq + rows)]
    body = "".join(f"{p},低保,2024-11-01,榴城镇,城关村\r\n" for p in people)
    return ("身份证号,人员类别,认定时间,乡镇,村\r\n" + body).encode("gb18030"), people


async def applied(pool: asyncpg.Pool, people: list[str], attempt: UUID) -> dict:
    """What the file `attempt` tried to apply is in the database: its submissions, statuses and events."""
    return {
        "submissions": [tuple(r) for r in await pool.fetch(
            "SELECT outcome, rows_total FROM submission WHERE content_sha256 = "
            "(SELECT content_sha256 FROM submission_progress WHERE submission_id = $1) ORDER BY outcome", attempt)],
        "statuses": await pool.fetchval("SELECT count(*) FROM status WHERE person_id = ANY($1::text[])", people),
        "events": await pool.fetchval("SELECT count(*) FROM outbox WHERE topic = $1 AND key = ANY($2::bytea[])",
                                      TOPIC, [person_key(p).encode() for p in people]),
    }


async def test_a_connection_lost_between_chunks_applies_nothing_and_the_repost_applies_once(pool, monkeypatch):
    monkeypatch.setattr(submitting, "BATCH", 1000)
    monkeypatch.setattr("services.identity_certification.usecases.progress.EVERY_S", 0.0)  # every chunk told
    data, people = big_file(0, 3000)
    real_stage, calls = store.stage, []

    async def stage_then_lose_the_connection(conn, verdicts):
        calls.append(len(verdicts))
        if len(calls) == 3:  # two chunks COPYed; the database connection dies before the third
            await pool.execute("SELECT pg_terminate_backend($1)", conn.get_server_pid())
        await real_stage(conn, verdicts)

    monkeypatch.setattr(store, "stage", stage_then_lose_the_connection)
    board = Board(pool, NOW)  # no fail() told, as when the service itself is killed: its session tells
    with pytest.raises((asyncpg.PostgresError, asyncpg.InterfaceError, OSError)):
        await upload(pool, data, watch=board)
    assert calls == [1000, 1000, 1000]
    assert await applied(pool, people, board.submission_id) == {"submissions": [], "statuses": 0, "events": 0}
    async with pool.acquire() as conn:
        lost = await store.progress_of(conn, board.submission_id, "civil_affairs", HY)
    assert (lost["phase"], lost["rows_read"], lost["alive"]) == ("reading", 2000, False)  # shown as interrupted

    monkeypatch.setattr(store, "stage", real_stage)
    again = Board(pool, NOW)
    result = await upload(pool, data, watch=again)
    await again.finish(result)
    assert (result.outcome, result.rows_accepted, result.people_changed) == ("processed", 3000, 3000)
    assert await applied(pool, people, board.submission_id) == {
        "submissions": [("processed", 3000)], "statuses": 3000, "events": 3000}
    async with pool.acquire() as conn:
        superseded = await store.progress_of(conn, board.submission_id, "civil_affairs", HY)
        done = await store.progress_of(conn, again.submission_id, "civil_affairs", HY)
    assert superseded["phase"] == "failed" and str(again.submission_id) in superseded["detail"]
    assert (done["phase"], done["rows_read"], done["rows_merged"], done["events_written"]) == (
        "processed", 3000, 3000, 3000)
    assert (await upload(pool, data)).outcome == "duplicate"  # and a third post changes nothing
    assert (await applied(pool, people, board.submission_id))["events"] == 3000


async def test_progress_is_seen_beside_the_open_transaction(pool, monkeypatch):
    monkeypatch.setattr(submitting, "BATCH", 500)
    monkeypatch.setattr("services.identity_certification.usecases.progress.EVERY_S", 0.0)
    data, people = big_file(5000, 1500)
    real_stage, seen = store.stage, []

    async def stage_and_look(conn, verdicts):
        await real_stage(conn, verdicts)
        async with pool.acquire() as side:  # what GET /api/submissions shows meanwhile
            row = (await store.recent_progress(side, "civil_affairs", HY, 1))[0]
            seen.append((row["phase"], row["rows_read"], row["alive"], row["outcome"]))

    monkeypatch.setattr(store, "stage", stage_and_look)
    result = await upload(pool, data, watch=Board(pool, NOW))
    assert result.outcome == "processed"
    # each chunk's count is written after it is staged: the look after a chunk sees the chunk before
    assert seen == [("reading", 0, True, None), ("reading", 500, True, None), ("reading", 1000, True, None)]


MASK = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")


def mixed_file() -> bytes:
    """Bad rows of every kind beside good ones, as a county's clerk might send them."""
    p = [resident_id(HY, seq=s) for s in range(811, 830, 2)]
    bad_check = p[1][:17] + ("0" if p[1][17] != "0" else "1")
    unknown_region = "99999919800101001" + check_character("99999919800101001")
    born_later = "34032120300101001" + check_character("34032120300101001")
    lines = [
        "城乡居民医保特殊人员名单（2024年11月）,,,,,,",
        "序号,身份证号,人员类别,认定时间,退出时间,乡镇,村",
        f"1,{p[0]},低保,2024-11-01,,榴城镇,城关村",
        f"2,{bad_check},特困,2024-11-01,,榴城镇,城关村",
        f"3,{p[2]},特困,上个月,,榴城镇,城关村",
        f"4,{p[3]},低保,2025-01-05,,榴城镇,城关村",
        f"5,{p[4]},困难户,2024-11-01,,榴城镇,城关村",
        f"6,{p[0]},低保对象,2024/11/1,,榴城镇,城关村",
        "7,3.40321E+17,低保,2024-11-01,,榴城镇,城关村",
        f"8,{p[5]},,2024-11-02,,榴城镇,城关村",
        f"9,{p[6]},低保,2024-11-05,2024-11-01,榴城镇,城关村",
        f"10,{p[7].translate(MASK)},孤儿,2024年11月3日,,榴城镇,城关村",
        "11,12345,低保,2024-11-01,,榴城镇,城关村",
        f"12,{p[8]},孤儿,20241103,,榴城镇,",
        f"13,{unknown_region},低保,2024-11-01,,榴城镇,城关村",
        f"14,{born_later},低保,2024-11-01,,榴城镇,城关村",
        ",,,,,,",
        f"15,{p[9].lower()},低保边缘,45600,,榴城镇,城关村",
        f"16,{p[2]},特困,2024-11-04,2024-11-30,榴城镇,城关村",
        "合计,16人,,,,,",
        "填表人：张三,,审核：李四,,,,",
    ]
    return ("\r\n".join(lines) + "\r\n").encode("gb18030")


# The row results the code before streaming gave this file (run on it at commit c2767b9), line for line.
BEFORE = [
    ["3", "340321**********18", "minimum_living", "通过", "", ""],
    ["4", "340321**********30", "extreme_poverty", "退回", "id_check_character", "身份证号校验位错误：请核对号码是否抄错"],
    ["5", "340321**********50", "extreme_poverty", "退回", "bad_date",
     "认定时间“上个月”无法识别，请写成2024-11-05、2024/11/5、2024年11月5日或20241105"],
    ["6", "340321**********77", "minimum_living", "退回", "certified_in_future", "认定时间2025-01-05晚于报送日期2024-12-10"],
    ["7", "340321**********93", "困难户", "退回", "unknown_category", "人员类别“困难户”不是规定的类别"],
    ["8", "340321**********18", "minimum_living", "退回", "duplicate_row", "与第3行重复（同一人、同一类别、同一认定时间）"],
    ["9", "3.4032***17", "minimum_living", "退回", "id_excel_number",
     "身份证号被 Excel 存成了数字，后三位已丢失（变成000或科学计数法）：请把该列设为文本后重新导出，不要手工补位"],
    ["10", "340321**********14", "", "退回", "missing_category", "缺少人员类别"],
    ["11", "340321**********30", "minimum_living", "退回", "ended_before_certified", "退出时间2024-11-01早于认定时间2024-11-05"],
    ["12", "340321**********57", "orphan", "通过", "", ""],
    ["13", "*****", "minimum_living", "退回", "id_length", "身份证号应为18位，实为5位"],
    ["14", "340321**********73", "orphan", "通过", "", ""],
    ["15", "999999**********11", "minimum_living", "退回", "id_region_unknown",
     "身份证号前6位999999不是任何时期的行政区划代码：请核对号码"],
    ["16", "340321**********13", "minimum_living", "退回", "id_birth_date", "身份证号中的出生日期20300101不可能"],
    ["18", "340321**********9X", "low_income_marginal", "通过", "", ""],
    ["19", "340321**********50", "extreme_poverty", "通过", "", ""],
]


@pytest.mark.parametrize("chunk", [None, 2], ids=["one-chunk", "chunks-of-2-lines"])
async def test_a_file_with_bad_rows_beside_good_rows_gives_the_row_results_it_always_gave(pool, monkeypatch, chunk):
    if chunk:  # merged two lines at a time as they are staged: duplicates are found across chunks all the same
        monkeypatch.setattr(submitting, "BATCH", chunk)
        monkeypatch.setattr(submitting, "MERGE_CHUNK", chunk)
        # the same people again, as new: the one-chunk run's statuses go, and this is another month's list
        await pool.execute("DELETE FROM status WHERE submission_id IN (SELECT id FROM submission WHERE rows_total = 16)")
    result = await upload(pool, mixed_file(), period="2024-10" if chunk else "2024-11")
    assert (result.outcome, result.rows_total, result.rows_accepted, result.rows_rejected, result.people_changed) == (
        "processed", 16, 5, 11, 5)
    assert result.notes == ["第1—1行在表头之上（标题等），未作为数据读取", "第20行是合计或签字行，未作为人员读取",
                            "第21行是合计或签字行，未作为人员读取"]
    async with unit_of_work(pool, schema="identity", topic_prefix="st.", now=NOW) as uow:
        body = b"".join([chunk async for chunk in result_csv(uow, result.submission_id)])
    header, *lines = csv.reader(io.StringIO(body.decode("utf-8-sig")))
    assert [line[:6] for line in lines] == BEFORE


async def test_the_event_sql_writes_is_the_event_pydantic_writes(pool):
    person = resident_id(HY, seq=951)
    data = ("身份证号,人员类别,监测类型,认定时间,退出时间,乡镇,村\r\n"
            f"{person},防返贫监测对象,突发严重困难户,2024-10-02,,\"榴城镇\"\"东\\\",\r\n"
            f"{person},监测对象,边缘易致贫户,2024-09-01,2024-10-01,老乡镇,新村\r\n").encode("gb18030")
    head = await pool.fetchval("SELECT coalesce(max(id), 0) FROM outbox")
    result = await upload(pool, data, department="agriculture")
    assert (result.outcome, result.rows_accepted, result.people_changed) == ("processed", 2, 1)
    [row] = await pool.fetch("SELECT key, payload FROM outbox WHERE topic = $1 AND id > $2", TOPIC, head)
    written = bytes(row["payload"])
    held = await pool.fetch("SELECT * FROM status WHERE person_id = $1 ORDER BY certified_on, category", person)
    expected = StatusChanged(
        message_id=UUID(json.loads(written)["message_id"]), occurred_at=NOW, person_id=person, region=HY,
        township=held[-1]["township"], village=held[-1]["village"],
        statuses=[CertifiedStatus(category=s["category"], department=s["department"], certified_on=s["certified_on"],
                                  ended_on=s["ended_on"], submission_id=s["submission_id"], subtype=s["subtype"])
                  for s in held])
    assert bytes(row["key"]) == person_key(person).encode()
    assert written == expected.model_dump_json().encode()
    assert [s["subtype"] for s in json.loads(written)["statuses"]] == ["marginal_at_risk", "sudden_hardship"]
    assert json.loads(written)["township"] == '榴城镇"东\\'


async def test_a_list_refused_after_chunks_were_merged_leaves_nothing_of_them(pool, monkeypatch):
    monkeypatch.setattr(submitting, "BATCH", 2)
    monkeypatch.setattr(submitting, "MERGE_CHUNK", 2)
    people = [resident_id(HY, born=date(1970, 3, 3), seq=s) for s in range(1, 6)]
    rows = [f"{p},低保,2024-11-01\r\n" for p in people[:4]] + [f"{people[4]},防返贫监测对象,2024-11-01\r\n"]
    result = await upload(pool, ("身份证号,人员类别,认定时间\r\n" + "".join(rows)).encode("gb18030"))
    assert (result.outcome, result.refusal_code, result.rows_total, result.rows_rejected) == (
        "refused", "category_not_owned", 5, 5)
    assert await pool.fetchval("SELECT count(*) FROM status WHERE person_id = ANY($1::text[])", people) == 0
    assert await pool.fetchval("SELECT count(*) FROM row_result WHERE submission_id = $1", result.submission_id) == 0
