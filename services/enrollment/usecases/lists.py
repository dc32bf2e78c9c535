"""Importing a region's household register (the coverage denominator) or employee-insurance roster.

One transaction per list: accepted rows upserted, refused rows kept with their reason,
the counts recorded (in = accepted + refused). Household rows are announced on
population.baseline for reconciliation's coverage rates; a roster that overlaps a paid
resident enrollment opens duplicate cases at once.

A household register may hold millions of people: it is read as a stream (`open_file`),
judged row by row as one COPY into a staging table takes it in (PostgreSQL works on the rows
already sent while the next are read), then merged into the population in one statement (a
person repeated in the file found there too), and announced by one statement that writes each
person's population.baseline event to the outbox, its JSON built by PostgreSQL in the model's
exact bytes (`events.baselined_sql`). Memory holds the COPY's buffer and the refused rows, not
the register.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Literal
from uuid import UUID, uuid4

from services.enrollment import events, sheets, store
from services.enrollment.domain import baseline
from services.enrollment.domain.baseline import Household, Judged, Rejection, Row
from services.enrollment.domain.errors import Invalid
from services.enrollment.usecases import duplicate_cases
from shared.access import Caller
from shared.api_contract import visible
from shared.outbox import notify_channel
from shared.resident_id import mask
from shared.topics import POPULATION_BASELINE
from shared.uow import UnitOfWork

ListName = Literal["household", "employee"]
DEFAULT_SOURCE: dict[str, str] = {"household": "public_security", "employee": "employee_insurance"}


@dataclass(frozen=True, slots=True)
class Upload:
    """A list as uploaded: its rows (a list, or read as they are taken), the headers not understood and the
    lines that hold no data (filled as the rows are read)."""

    file_name: str | None
    rows: Iterable[Row]
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


def open_file(file: BinaryIO, file_name: str) -> Upload:
    """An uploaded .xlsx, .csv or .json list, its header read and its rows to be read as they are imported.
    Raises `Invalid` when the file as a whole cannot be read (and, while importing, when its rows cannot)."""
    name = visible(file_name)
    try:
        sheet = sheets.stream(file, name)
    except sheets.SheetError as err:
        raise Invalid(str(err)) from None
    return Upload(name, sheet.rows, [visible(h) for h in sheet.unknown_headers], sheet.ignored_lines)


def rows_of(people: Sequence[dict[str, Any]]) -> Upload:
    """A list sent as records (field -> value): numbered from line 1."""
    return Upload(None, [{"line_no": i, **p} for i, p in enumerate(people, start=1)])


async def import_baseline(uow: UnitOfWork, caller: Caller, upload: Upload, source: str) -> Imported:
    """Import the caller's region's household register and announce each person on it."""
    judged: Judged[Household] = Judged()  # only the refusals: the accepted rows go to the staging table
    await store.stage_baseline(uow.conn)
    try:
        await store.copy_staged(uow.conn, _staged(upload.rows, caller.region, judged))
    except sheets.SheetError as err:
        raise Invalid(str(err)) from None
    repeated = await store.merge_baseline(uow.conn, caller.region, source, uow.now)
    rejected = sorted(judged.rejected + [(line, mask(person), "duplicate_row", "同一身份证号在本文件中重复出现")
                                         for line, person in repeated])
    payload, params = events.baselined_sql(caller.region, source, uow.now, first_param=2)
    accepted = await store.announce_staged(uow.conn, uow.topic_prefix + POPULATION_BASELINE.name, payload, params,
                                           notify_channel(uow.schema))
    return await _record(uow, caller, "household", upload, source, accepted, rejected)


def _staged(rows: Iterable[Row], region: str,
            judged: Judged[Household]) -> Iterator[tuple[int, str, str, str | None, str | None, str | None]]:
    """The accepted rows as staged (line, ID, Kafka key, township, village, name), judged as they are read;
    the refused ones added to `judged`."""
    for row in rows:
        h = baseline.household(row, region, judged)
        if h is not None:
            yield row["line_no"], h.person_id, events.baseline_key(h.person_id, region), h.township, h.village, h.name


async def import_roster(uow: UnitOfWork, caller: Caller, upload: Upload, source: str) -> Imported:
    """Import the caller's region's employee-insurance roster; overlapping paid resident enrollments end."""
    judged = baseline.employees(list(upload.rows), caller.region)
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
