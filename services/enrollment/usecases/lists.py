"""Importing a region's household register (the coverage denominator) or employee-insurance roster.

One transaction per list: accepted rows upserted in one statement, refused rows kept
with their reason, the counts recorded (in = accepted + refused). Household rows
are announced on population.baseline for reconciliation's coverage rates; a roster
that overlaps a paid resident enrollment opens duplicate cases at once.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from uuid import UUID, uuid4

from services.enrollment import events, sheets, store
from services.enrollment.domain import baseline
from services.enrollment.domain.baseline import Rejection, Row
from services.enrollment.domain.errors import Invalid
from services.enrollment.usecases import duplicate_cases
from shared.access import Caller
from shared.api_contract import visible
from shared.uow import UnitOfWork

ListName = Literal["household", "employee"]
DEFAULT_SOURCE: dict[str, str] = {"household": "public_security", "employee": "employee_insurance"}


@dataclass(frozen=True, slots=True)
class Upload:
    """A list as uploaded, read: its rows, the headers not understood and the lines that hold no data."""

    file_name: str | None
    rows: Sequence[Row]
    unknown_headers: list[str] = field(default_factory=list)
    ignored_lines: list[int] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Imported:
    import_id: UUID
    list_name: ListName
    region: str
    accepted: int
    rejected: list[Rejection]
    unknown_headers: list[str]
    ignored_lines: list[int]
    duplicate_cases: int = 0

    @property
    def total(self) -> int:
        return self.accepted + len(self.rejected)


def read_file(content: bytes, file_name: str) -> Upload:
    """An uploaded .xlsx, .csv or .json list, read (not yet judged); its name and headers made storable.
    Raises `Invalid` when the file as a whole cannot be read. Done before the transaction: a large
    workbook takes seconds to read."""
    name = visible(file_name)
    try:
        sheet = sheets.read(content, name)
    except sheets.SheetError as err:
        raise Invalid(str(err)) from None
    return Upload(name, sheet.rows, [visible(h) for h in sheet.unknown_headers], sheet.ignored_lines)


def rows_of(people: Sequence[dict[str, Any]]) -> Upload:
    """A list sent as records (field -> value): numbered from line 1."""
    return Upload(None, [{"line_no": i, **p} for i, p in enumerate(people, start=1)])


async def import_baseline(uow: UnitOfWork, caller: Caller, upload: Upload, source: str) -> Imported:
    """Import the caller's region's household register and announce each person on it."""
    judged = baseline.households(upload.rows, caller.region)
    await store.import_baseline(uow.conn, caller.region, judged.accepted, source, uow.now)
    uow.publish_all([events.baselined(h, caller.region, source, uow.now) for h in judged.accepted])
    return await _record(uow, caller, "household", upload, source, len(judged.accepted), judged.rejected)


async def import_roster(uow: UnitOfWork, caller: Caller, upload: Upload, source: str) -> Imported:
    """Import the caller's region's employee-insurance roster; overlapping paid resident enrollments end."""
    judged = baseline.employees(upload.rows, caller.region)
    await store.import_employees(uow.conn, caller.region, judged.accepted, source, uow.now)
    cases = await duplicate_cases.after_roster(uow, [e.person_id for e in judged.accepted]) if judged.accepted else []
    return await _record(uow, caller, "employee", upload, source, len(judged.accepted), judged.rejected, len(cases))


async def import_list(uow: UnitOfWork, caller: Caller, list_name: ListName, upload: Upload,
                      source: str | None = None) -> Imported:
    """Import an uploaded list of either kind; the source defaults to the list's usual one."""
    importer = import_baseline if list_name == "household" else import_roster
    return await importer(uow, caller, upload, source or DEFAULT_SOURCE[list_name])


async def _record(uow: UnitOfWork, caller: Caller, list_name: ListName, upload: Upload, source: str,
                  accepted: int, rejected: list[Rejection], duplicates: int = 0) -> Imported:
    result = Imported(uuid4(), list_name, caller.region, accepted, rejected, upload.unknown_headers,
                      upload.ignored_lines, duplicates)
    await store.record_import(uow.conn, import_id=result.import_id, region=caller.region, list_name=list_name,
                              source=source, file_name=upload.file_name, accepted=accepted, rejected=rejected,
                              unknown_headers=upload.unknown_headers, by=caller.holder, now=uow.now)
    return result
