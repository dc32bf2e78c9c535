"""Valid resident IDs and records for tests: built with the real check character."""
from __future__ import annotations

import itertools
import json
import uuid
from datetime import UTC, date, datetime

from shared.resident_id import check_character

_sequence = itertools.count(101)


def resident_id(region: str = "340321", born: date = date(1980, 1, 1), seq: int | None = None) -> str:
    seq = next(_sequence) % 1000 if seq is None else seq
    first17 = f"{region}{born:%Y%m%d}{seq:03d}"
    return first17 + check_character(first17)


def receipt(person_id: str, amount_fen: int, *, receipt_no: str | None = None, region: str = "340321",
            year: int = 2025, channel: str = "wechat", paid_at: datetime | None = None, **extra) -> dict:
    return {
        "message_id": str(uuid.uuid4()),
        "occurred_at": datetime.now(UTC).isoformat(),
        "receipt_no": receipt_no or f"3340{uuid.uuid4().int % 10**14:014d}",
        "person_id": person_id,
        "region": region,
        "year": year,
        "amount_fen": amount_fen,
        "channel": channel,
        "paid_at": (paid_at or datetime(2024, 10, 15, 9, 30, tzinfo=UTC)).isoformat(),
        **extra,
    }


def encode(message: dict) -> bytes:
    return json.dumps(message, ensure_ascii=False).encode()
