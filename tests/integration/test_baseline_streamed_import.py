"""A household register imported as a stream (one COPY into staging, merged and announced in SQL) on the real
PostgreSQL: every line accepted or refused with its reason (in = accepted + refused), one population.baseline
event per accepted person with the contract's key, and a file that turns unreadable mid-way leaves nothing."""
from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator

import asyncpg
import pytest

from services.enrollment import usecases
from services.enrollment.domain.errors import Invalid
from services.enrollment.events import baseline_key
from shared.access import Caller
from shared.migrate import ServiceSchema
from shared.outbox import notify_channel
from shared.uow import unit_of_work
from tests.support.people import resident_id
from tests.support.system import fresh_database

pytestmark = pytest.mark.stack
REGION = "340321"
CALLER = Caller(REGION, "agency", "县医保中心")


@pytest.fixture
async def conn(servers) -> AsyncIterator[asyncpg.Connection]:
    async with fresh_database(servers, "bls", ServiceSchema("enrollment", "enrollment")) as dsn:
        connection = await asyncpg.connect(dsn, server_settings={"search_path": "enrollment"})
        try:
            yield connection
        finally:
            await connection.close()


async def _import(conn: asyncpg.Connection, content: bytes, name: str) -> usecases.Imported:
    upload = usecases.open_file(io.BytesIO(content), name)
    async with unit_of_work(conn, schema="enrollment", topic_prefix="t.") as uow:
        return await usecases.import_baseline(uow, CALLER, upload, "public_security")


async def test_every_line_is_accepted_or_refused_and_each_person_announced_once(conn) -> None:
    people = [resident_id(REGION, seq=n) for n in range(1, 6)]
    lines = ["怀远县户籍人口花名册", "序号,公民身份号码,姓名,乡镇(街道),村(社区)",
             f"1,{people[0]},张三,榴城镇,城关村", f"2,{people[1]},李四,榴城镇,", f"3,{people[0]},张三,榴城镇,城关村",
             "4,123,王五,,", f"5,{people[2][:-1]}{'0' if people[2][-1] != '0' else '1'},赵六,,", ",,,,",
             f"6,{people[3]},钱\t七,双龙镇,沿河村", f"7,{people[4]},孙\x01八,双龙镇,沿河村", "合计,,,,"]
    content = "\r\n".join(lines).encode("gb18030")
    woken: list[str] = []  # the outbox relay is woken once the rows are committed
    await conn.add_listener(notify_channel("enrollment"), lambda *args: woken.append(args[2]))
    result = await _import(conn, content, "花名册.csv")
    await conn.fetchval("SELECT 1")  # the notification arrives with the next answer
    assert woken == [notify_channel("enrollment")]

    assert (result.accepted, result.total) == (3, 7)  # 7 data lines: 3 accepted, 4 refused
    assert [(line, code) for line, _masked, code, _reason in result.rejected] == [
        (5, "duplicate_row"), (6, "id_length"), (7, "id_check_character"), (10, "control_character")]
    assert all("*" in masked for _line, masked, _code, _reason in result.rejected)
    assert result.ignored_lines == [8, 11]
    population = await conn.fetch("SELECT person_id, township, village, name FROM population ORDER BY person_id")
    assert [tuple(r) for r in population] == [(people[0], "榴城镇", "城关村", "张三"), (people[1], "榴城镇", None, "李四"),
                                              (people[3], "双龙镇", "沿河村", "钱\t七")]
    outbox = await conn.fetch("SELECT topic, key, payload FROM outbox ORDER BY id")
    assert {r["topic"] for r in outbox} == {"t.population.baseline"}
    payloads = [json.loads(bytes(r["payload"])) for r in outbox]
    assert sorted(p["person_id"] for p in payloads) == [people[0], people[1], people[3]]
    assert all(bytes(r["key"]).decode() == baseline_key(p["person_id"], REGION) for r, p in zip(outbox, payloads, strict=True))
    recorded = await conn.fetchrow("SELECT rows_total, rows_accepted FROM baseline_import")
    assert tuple(recorded) == (7, 3)


async def test_a_file_unreadable_past_its_first_megabyte_leaves_nothing(conn) -> None:
    header = "序号,公民身份号码,姓名\n"
    good = "".join(f"{n},{resident_id(REGION, seq=n % 1000)},张三\n" for n in range(1, 40_000))
    assert len(good.encode()) > 1 << 20  # the encoding is judged on the first megabyte
    content = (header + good).encode() + b"40,\xff\xfe,x\n"
    with pytest.raises(Invalid, match="编码与文件开头不同"):
        await _import(conn, content, "花名册.csv")
    for table in ("population", "outbox", "baseline_import", "baseline_rejected_row"):
        assert await conn.fetchval(f"SELECT count(*) FROM {table}") == 0, table
