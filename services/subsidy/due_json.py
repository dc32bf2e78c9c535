"""A due as JSON text, written directly: the subsidy.due-assessed event and the due cache's entry.

Every reassessment ends in both (the cache entry for every person-year decided, the event for
each new revision), and building a `DueAssessed` model per person only to serialise it was a fifth
of the service's time when a department's list of a million people reassesses everyone. The text
is what pydantic writes for the model, byte for byte — the model stays the one definition of the
contract, and tests/unit/subsidy/test_due_json.py checks the two writers agree by property —
and the money part (amounts, subsidy lines, reasons) is written once per distinct `Due`: a
region's people share a handful of them (domain/dues.py).
"""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple
from uuid import UUID

from services.subsidy.domain.dues import Due

if TYPE_CHECKING:
    from services.subsidy.store import DueRow

_text = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode  # pydantic's escapes, non-ASCII kept
_UTC = timedelta(0)


class CurrentDue(NamedTuple):
    """A person-year's current due as the cache keeps it: `cached` is the entry's JSON (cache.FIELDS)."""

    person_id: str
    year: int
    revision: int
    cached: str


@lru_cache(maxsize=4096)
def _money(due: Due) -> tuple[str, str]:
    """The amounts and lines (ending in `"lines":[…]`), and the reasons (`"reasons":[…]`): the two runs of
    fields of a due that depend on the `Due` alone, in the model's order (revision sits between them)."""
    lines = ",".join(f'{{"category":{_text(c)},"amount_fen":{a},"funding_source":{_text(f)},"mode":{_text(m)}}}'
                     for c, a, f, m in due.lines)
    return (f'"standard_fen":{due.standard_fen},"subsidy_fen":{due.subsidy_fen},"due_fen":{due.due_fen},'
            f'"refund_after_fen":{due.refund_after_fen},"lines":[{lines}]',
            f'"reasons":[{",".join(_text(r) for r in due.reasons)}]')


def _body(region: str, year: int, due: Due, revision: int, state: str) -> str:
    amounts, reasons = _money(due)
    return f'"region":{_text(region)},"year":{year},{amounts},"revision":{revision},{reasons},"state":{_text(state)}'


def cached(row: DueRow) -> CurrentDue:
    """The cache's entry of a due: `DueAssessed.model_dump_json(include=cache.FIELDS)`."""
    return CurrentDue(row.person_id, row.year, row.revision,
                      "{" + _body(row.region, row.year, row.due, row.revision, row.state) + "}")


def event(row: DueRow, message_id: UUID, now: datetime) -> bytes:
    """The subsidy.due-assessed event of a due: what `DueAssessed(...).model_dump_json()` gives. The row's
    `payer` is PayerFacts as JSON (dates as ISO text or None), as the due row keeps it."""
    return (f'{{"message_id":"{message_id}","occurred_at":"{_instant(now)}","schema_version":1,'
            f'"event_type":"subsidy.due-assessed","person_id":{_text(row.person_id)},'
            f'{_body(row.region, row.year, row.due, row.revision, row.state)},"payer":{_payer(row.payer)}}}').encode()


def _payer(payer: dict[str, Any]) -> str:
    statuses = ",".join(f'{{"category":{_text(s["category"])},"certified_on":{_day(s["certified_on"])},'
                        f'"ended_on":{_day(s["ended_on"])}}}' for s in payer["statuses"])
    return (f'{{"kind":{_text(payer["kind"])},"event_date":{_day(payer["event_date"])},"statuses":[{statuses}],'
            f'"enrolled_years":[{",".join(map(str, payer["enrolled_years"]))}],'
            f'"paid_back_years":[{",".join(map(str, payer["paid_back_years"]))}]}}')


def _day(value: str | date | None) -> str:
    if value is None:
        return "null"
    return f'"{value.isoformat() if isinstance(value, date) else date.fromisoformat(value).isoformat()}"'


def _instant(at: datetime) -> str:
    """As pydantic writes an aware datetime: ISO 8601, UTC as Z."""
    text = at.isoformat()
    return text[:-6] + "Z" if at.utcoffset() == _UTC else text
