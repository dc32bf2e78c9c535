"""What the system scenarios read of a person's record (一人一档), and the local moment a gateway stamps."""
from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

YEAR = 2025
SHANGHAI = ZoneInfo("Asia/Shanghai")


def beijing(day: str, hour: int = 10, minute: int = 0) -> datetime:
    """A moment of the local day (Asia/Shanghai), as the gateway stamps it, sent in UTC."""
    d = date.fromisoformat(day)
    return datetime(d.year, d.month, d.day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


def enrollment_of(record: dict[str, Any], year: int = YEAR) -> dict[str, Any] | None:
    """The record's enrollment of `year` (the record holds the caller's region only)."""
    return next((e for e in record["enrollments"] if e["year"] == year), None)


def in_state(*states: str, year: int = YEAR) -> Callable[[dict[str, Any]], bool]:
    """A predicate on a record: its enrollment of `year` is in one of `states`."""
    def holds(record: dict[str, Any]) -> bool:
        e = enrollment_of(record, year)
        return e is not None and e["state"] in states
    return holds
