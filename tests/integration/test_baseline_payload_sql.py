"""A household register's population.baseline events are written to the outbox by one SQL statement
(`events.baselined_sql`): each payload must be byte for byte the JSON the contract's model gives for the same
person (`events.baselined`), for any text a judged row can hold, whatever the source and the time."""
from __future__ import annotations

import json
from datetime import UTC, datetime
from uuid import UUID

import asyncpg
import pytest

from services.enrollment.domain.baseline import Household
from services.enrollment.events import baselined, baselined_sql
from shared.api_contract import visible
from tests.support.people import resident_id

pytestmark = pytest.mark.stack
REGION = "340321"


def _allowed(first: int, last: int) -> str:
    """Every character from `first` to `last` that a judged row can hold (no control character but tab and line
    breaks, no surrogate: those rows are refused)."""
    chars = (chr(c) for c in range(first, last + 1) if not 0xD800 <= c <= 0xDFFF)
    return "".join(c for c in chars if visible(c) == c)


CELLS = [
    ("榴城镇", "城关村", '张"三\\'),
    (None, None, None),
    ("a\tb\nc\rd", "/<>&'`\u2028\u2029", "é\u0080\u009f\u00a0\ufeff😀𠀀"),
    (_allowed(0, 0x2FFF), _allowed(0x3000, 0x9FFF), _allowed(0xA000, 0xFFFF)),
    ("", " ", "null"),
]


@pytest.mark.parametrize("source", ["public_security", '乡"镇\\上报 /x'])
@pytest.mark.parametrize("now", [datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
                                 datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)])
async def test_payload_built_by_postgresql_is_the_models_json(servers, source: str, now: datetime) -> None:
    expression, params = baselined_sql(REGION, source, now, first_param=5)
    conn = await asyncpg.connect(servers.pg_dsn)
    try:
        ids = set()
        for seq, (township, village, name) in enumerate(CELLS, start=1):
            person = resident_id(REGION, seq=seq)
            got = await conn.fetchval(
                f"SELECT convert_to({expression}, 'UTF8') FROM (SELECT $1::text AS person_id, $2::text AS township, "
                "$3::text AS village, $4::text AS name) s", person, township, village, name, *params)
            message_id = UUID(json.loads(got)["message_id"])
            ids.add(message_id)
            model = baselined(Household(person, township, village, name), REGION, source, now).message
            assert not isinstance(model, bytes)
            assert got == model.model_copy(update={"message_id": message_id}).model_dump_json().encode()
        assert len(ids) == len(CELLS)  # a fresh message id per event
    finally:
        await conn.close()
