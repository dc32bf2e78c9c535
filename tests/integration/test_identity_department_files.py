"""Files as departments really send them (issue 15), through `submit_file` on the real PostgreSQL: a list
without a 人员类别 column from a department that certifies one category (accepted, the assumption shown)
or several (refused with what to do), and 农业农村's 防返贫监测 list whose 监测类型 column is read as
poverty_monitoring with the kind kept on the status, its event, its row result and its audit line."""
from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path

import asyncpg
import pytest
from openpyxl import Workbook

from services.identity_certification.usecases import Upload, result_csv, submit_file
from shared.db import create_pool
from shared.uow import unit_of_work
from tests.support.people import resident_id
from tests.support.system import create_system, drop_system

pytestmark = pytest.mark.stack
NOW = datetime(2024, 12, 10, 9, 0, tzinfo=UTC)
HY = "340321"
NO_CATEGORY = "身份证号,认定时间,乡镇,村\r\n{}".format  # a list with every column but 人员类别


@pytest.fixture(scope="module")
async def pool(servers) -> AsyncIterator[asyncpg.Pool]:
    system = await create_system(servers, Path("/tmp") / "identity-department-files")
    pool = await create_pool(system.pg_dsn, "identity")
    try:
        yield pool
    finally:
        await pool.close()
        await drop_system(system)


async def upload(pool: asyncpg.Pool, department: str, data: bytes, *, period: str = "2024-11"):
    async with unit_of_work(pool, schema="identity", topic_prefix="it.", now=NOW) as uow:
        return await submit_file(uow, Upload(department, HY, period, "delta", io.BytesIO(data)), max_bytes=1 << 20)


async def downloaded(pool: asyncpg.Pool, submission_id) -> list[list[str]]:
    async with unit_of_work(pool, schema="identity", topic_prefix="it.", now=NOW) as uow:
        body = b"".join([chunk async for chunk in result_csv(uow, submission_id)])
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


async def events_of(pool: asyncpg.Pool, people: list[str]) -> dict[str, list[dict]]:
    rows = await pool.fetch("SELECT payload FROM outbox WHERE topic = 'it.identity.status-changed' ORDER BY id")
    events = [json.loads(bytes(r["payload"])) for r in rows]
    return {e["person_id"]: e["statuses"] for e in events if e["person_id"] in people}


async def test_a_veterans_list_without_category_column_is_read_as_its_one_category_and_says_so(pool):
    people = [resident_id(HY, seq=s) for s in (701, 703)]
    data = NO_CATEGORY("".join(f"{p},2024-11-0{i},榴城镇,城关村\r\n" for i, p in enumerate(people, 1))).encode("gb18030")
    result = await upload(pool, "veterans", data)
    assert (result.outcome, result.rows_accepted, result.rows_rejected, result.people_changed) == ("processed", 2, 0, 2)
    assert "退役军人事务部门只认定重点优抚对象一种人员类别" in result.notes[0]
    kept = await pool.fetch("SELECT person_id, category, department, subtype FROM status WHERE person_id = ANY($1) "
                            "ORDER BY person_id", people)
    assert [tuple(r) for r in kept] == [(p, "entitled_veteran", "veterans", None) for p in sorted(people)]
    stored = await pool.fetchrow("SELECT notes FROM submission WHERE id = $1", result.submission_id)
    assert json.loads(stored["notes"])[0] == result.notes[0]
    lines = await downloaded(pool, result.submission_id)
    assert lines[0][-2:] == ["监测类型", "说明"]
    assert [(r[2], r[3], r[7]) for r in lines[1:]] == [
        ("entitled_veteran", "通过", "文件无人员类别列，按本部门唯一可认定的类别“重点优抚对象”读取")] * 2
    assert {p: [s["category"] for s in sets] for p, sets in (await events_of(pool, people)).items()} == {
        p: ["entitled_veteran"] for p in people}


async def test_a_civil_affairs_list_without_category_column_is_refused_with_what_to_do(pool):
    person = resident_id(HY, seq=705)
    result = await upload(pool, "civil_affairs", NO_CATEGORY(f"{person},2024-11-01,榴城镇,城关村\r\n").encode())
    assert (result.outcome, result.refusal_code) == ("refused", "no_category")
    assert result.refusal == "文件没有“人员类别”列：请加上该列，或报送时指定人员类别（--category）"
    recorded = await pool.fetchrow("SELECT outcome, refusal FROM submission WHERE id = $1", result.submission_id)
    assert tuple(recorded) == ("refused", result.refusal)
    assert not await pool.fetchval("SELECT count(*) FROM status WHERE person_id = $1", person)


def monitoring_xlsx(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(["怀远县2024年11月防返贫监测对象名册"])
    sheet.append(["序号", "户主姓名", "身份证号", "监测对象类型", "纳入时间", "乡镇（街道）", "村(社区)"])
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


async def test_a_monitoring_list_keeps_each_kind_and_refuses_a_bad_kind_per_row(pool):
    a, b, c, d, e = (resident_id(HY, seq=s) for s in (711, 713, 715, 717, 719))
    data = monitoring_xlsx([
        [1, "张三", a, "脱贫不稳定户", date(2024, 11, 1), "榴城镇", "城关村"],
        [2, "李四", b, "边缘易致贫户", "2024/11/2", "榴城镇", "城关村"],
        [3, "王五", c, "一般农户", "2024-11-03", "榴城镇", "城关村"],
        [4, "赵六", d, "突发严重困难户", "20241104", "榴城镇", "城关村"],
        [5, "钱七", e, None, "2024-11-05", "榴城镇", "城关村"],
    ])
    result = await upload(pool, "agriculture", data)
    assert (result.outcome, result.rows_total, result.rows_accepted, result.rows_rejected) == ("processed", 5, 3, 2)
    assert [(r["line_no"], r["reason_code"]) for r in result.rejected] == [
        (5, "unknown_monitoring_type"), (7, "missing_monitoring_type")]
    assert "监测类型“一般农户”不是规定的类型" in result.rejected[0]["reason"]
    assert "监测类型：脱贫不稳定户1行、边缘易致贫户1行、突发严重困难户1行" in result.notes[1]
    kept = await pool.fetch("SELECT person_id, category, subtype FROM status WHERE person_id = ANY($1)", [a, b, c, d, e])
    assert {r["person_id"]: (r["category"], r["subtype"]) for r in kept} == {
        a: ("poverty_monitoring", "unstable_lifted"), b: ("poverty_monitoring", "marginal_at_risk"),
        d: ("poverty_monitoring", "sudden_hardship")}
    events = await events_of(pool, [a, b, c, d, e])
    assert {p: [(s["category"], s["subtype"]) for s in sets] for p, sets in events.items()} == {
        a: [("poverty_monitoring", "unstable_lifted")], b: [("poverty_monitoring", "marginal_at_risk")],
        d: [("poverty_monitoring", "sudden_hardship")]}
    lines = await downloaded(pool, result.submission_id)
    assert [(r[0], r[3], r[4], r[6]) for r in lines[1:]] == [
        ("3", "通过", "", "脱贫不稳定户"), ("4", "通过", "", "边缘易致贫户"), ("5", "退回", "unknown_monitoring_type", ""),
        ("6", "通过", "", "突发严重困难户"), ("7", "退回", "missing_monitoring_type", "")]
    audited = await pool.fetchval("SELECT detail->>'subtype' FROM audit_log WHERE action = 'status.certified' "
                                  "AND detail->>'category' = 'poverty_monitoring' AND subject = $1",
                                  a[:6] + "*" * 10 + a[-2:])
    assert audited == "unstable_lifted"

    # December: the township corrects b's kind on the same certification; only b changes, and is announced again
    fixed = monitoring_xlsx([[1, "李四", b, "突发严重困难户", "2024/11/2", "榴城镇", "城关村"]])
    again = await upload(pool, "agriculture", fixed, period="2024-12")
    assert (again.outcome, again.rows_accepted, again.people_changed) == ("processed", 1, 1)
    assert await pool.fetchval("SELECT subtype FROM status WHERE person_id = $1", b) == "sudden_hardship"
    latest = (await events_of(pool, [b]))[b]  # the person's last event: the region's full set after the change
    assert [(s["category"], s["certified_on"], s["subtype"]) for s in latest] == [
        ("poverty_monitoring", "2024-11-02", "sudden_hardship")]
