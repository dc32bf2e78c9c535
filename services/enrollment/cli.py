"""`yibao enrollment …`: bulk work of the enrollment service (imports, registration, coverage) and its credentials.

Each command runs one of enrollment's use cases in a unit of work on the service's own
schema (YIBAO_PG_DSN, events to the outbox under YIBAO_TOPIC_PREFIX), as the holder of a
region credential (`--token` or YIBAO_ENROLLMENT_TOKEN): the same per-region access check,
the same row-level refusals and the same events as the HTTP API a village agent's screen
uses; a refusal is printed as the API would answer it. Resident IDs are printed masked.

Only typer and the standard library are imported here: each command imports what it needs.
"""
from __future__ import annotations

import asyncio
import csv
import io
import json
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any, Literal, NoReturn

import typer

app = typer.Typer(no_args_is_help=True, help="参保登记: baseline and roster imports, bulk registration, coverage.")

TOKEN = typer.Option(..., "--token", envvar="YIBAO_ENROLLMENT_TOKEN", help="region credential (Bearer token)")
AGENCY_ONLY = "此操作需要医保经办机构凭证"


def _fail(line: str, code: int = 2) -> NoReturn:
    typer.echo(line.replace("\n", " "), err=True)
    raise typer.Exit(code=code)


def _refused(status: int, detail: Any) -> NoReturn:
    """A refusal worded as the HTTP API answers it: a 422 body as such (exit 2), other statuses with their code."""
    if status == 422:
        _fail(json.dumps({"detail": detail}, ensure_ascii=False))
    _fail(f"{status}: {json.dumps({'detail': detail}, ensure_ascii=False, separators=(',', ':'))}", code=1)


async def _invalid(err: Any, *where: str) -> NoReturn:
    """Input that fails the API's request schema (a pydantic ValidationError; `where`: the field validated on its
    own), answered as the API's 422 (shared.http.validation_error)."""
    from fastapi.exceptions import RequestValidationError

    from shared.http import validation_error

    errors = [{**e, "loc": ("body", *where, *e["loc"])} for e in err.errors()]
    answer = await validation_error(None, RequestValidationError(errors))  # type: ignore[arg-type]
    _fail(json.dumps(json.loads(bytes(answer.body)), ensure_ascii=False))


Session = tuple[Any, Callable[[], AbstractAsyncContextManager[Any]]]


@asynccontextmanager
async def _session(token: str, *roles: str) -> AsyncIterator[Session]:
    """The token's caller (401 when unknown or revoked; 403 unless its role is one of `roles`, when given),
    and a factory of units of work on enrollment's schema for it."""
    import asyncpg

    from shared.access import authenticate
    from shared.db import schema_connection
    from shared.settings import ServiceSettings
    from shared.uow import unit_of_work

    settings = ServiceSettings()
    async with AsyncExitStack() as stack:
        try:
            conn = await stack.enter_async_context(schema_connection(settings.pg_dsn, "enrollment"))
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as err:
            _fail(f"PostgreSQL: {type(err).__name__}: {err}", code=1)
        caller = await authenticate(conn, token)
        if caller is None:
            _refused(401, "凭证无效或已吊销")
        if roles and caller.role not in roles:
            _refused(403, AGENCY_ONLY)
        yield caller, lambda: unit_of_work(conn, schema="enrollment", topic_prefix=settings.topic_prefix)


@app.command("import")
def import_command(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help=".xlsx, .csv or .json"),
    roster: str = typer.Option("household", "--list", help="household (户籍底册) or employee (职工医保名单)"),
    source: str = typer.Option(None, "--source", help="where the list comes from"),
    token: str = TOKEN,
) -> None:
    """Import a region's household register or employee-insurance roster; print accepted and refused rows."""
    if roster not in ("household", "employee"):
        _fail("--list: household 或 employee")
    from pydantic import TypeAdapter, ValidationError

    from services.enrollment import usecases
    from services.enrollment.domain.errors import Refusal
    from shared.api_contract import PlainText

    list_name: Literal["household", "employee"] = "household" if roster == "household" else "employee"

    async def run() -> Any:
        async with _session(token, "agency") as (caller, unit_of_work):
            try:
                TypeAdapter(PlainText | None).validate_python(source)
            except ValidationError as err:
                await _invalid(err, "source")
            with file.open("rb") as stream:  # read as it is imported, never held whole
                try:
                    upload = usecases.open_file(stream, file.name)
                    async with unit_of_work() as uow:
                        return await usecases.import_list(uow, caller, list_name, upload, source)
                except Refusal as refusal:
                    _refused(422, refusal.message)

    result = asyncio.run(run())
    typer.echo(f"{file.name}: {result.total}行，导入{result.accepted}行，退回{len(result.rejected)}行"
               + (f"，未识别表头：{'、'.join(result.unknown_headers)}" if result.unknown_headers else ""))
    for line, person, _code, reason in result.rejected:
        typer.echo(f"  第{line}行 {person}：{reason}")


@app.command("register")
def register_command(
    file: Path = typer.Argument(..., exists=True, dir_okay=False,
                                help="JSON list or CSV with id, year, kind, hukou_region, residence_region, "
                                     "school_region, event_date, registered_on"),
    token: str = TOKEN,
) -> None:
    """Register many people at once; one line per refusal with its reason, exit 3 if any was refused."""
    items = _registrations(file)
    from pydantic import ValidationError

    from services.enrollment import usecases
    from services.enrollment.schemas import BulkRegistration
    from shared.resident_id import mask

    async def run() -> Any:
        async with _session(token) as (caller, unit_of_work):
            try:
                body = BulkRegistration.model_validate({"registrations": items})
            except ValidationError as err:
                await _invalid(err)
            async with unit_of_work() as uow:
                return await usecases.register(uow, caller, [r.application() for r in body.registrations])

    answers = asyncio.run(run())
    refused = [a for a in answers if a.decision.outcome == "refused"]
    count = {o: sum(a.decision.outcome == o for a in answers) for o in ("registered", "already")}
    typer.echo(f"{len(answers)}人：登记{count['registered']}，已登记{count['already']}，拒绝{len(refused)}")
    for a in refused:
        typer.echo(f"  第{a.line_no}行 {mask(a.request.person_id)}：{'；'.join(a.decision.reasons)}")
    if refused:
        raise typer.Exit(code=3)


def _registrations(file: Path) -> list[dict[str, Any]]:
    text = file.read_bytes().decode("utf-8-sig")
    if file.suffix.lower() == ".json":
        data = json.loads(text)
        items: list[dict[str, Any]] = data["registrations"] if isinstance(data, dict) else data
        return items
    rows = list(csv.DictReader(io.StringIO(text)))
    items = [{k: v for k, v in row.items() if v not in (None, "")} for row in rows]
    for item in items:  # every CSV cell is text, but a year is a number ("2025" is refused as text)
        if isinstance(item.get("year"), str) and item["year"].strip().isascii() and item["year"].strip().isdigit():
            item["year"] = int(item["year"])
    return items


@app.command("advance")
def advance_command(as_of: str = typer.Option(None, "--as-of", help="YYYY-MM-DD; default today in China"),
                    token: str = TOKEN) -> None:
    """Mark paid enrollments whose benefit window has begun as covered (run daily by the scheduler)."""
    from pydantic import ValidationError

    from services.enrollment import usecases
    from services.enrollment.schemas import Advance

    async def run() -> Any:
        async with _session(token, "agency") as (caller, unit_of_work):
            try:
                body = Advance.model_validate({"as_of": as_of})
            except ValidationError as err:
                await _invalid(err)
            async with unit_of_work() as uow:
                return await usecases.advance_coverage(uow, caller, body.as_of)

    coverage = asyncio.run(run())
    typer.echo(json.dumps({"region": coverage.region, "as_of": coverage.as_of.isoformat(),
                           "covered": coverage.covered}, ensure_ascii=False))


@app.command("credential")
def credential_command(
    region: str = typer.Option(..., "--region"), role: str = typer.Option("agent", "--role", help="agent or agency"),
    holder: str = typer.Option(..., "--holder", help="who holds it, e.g. 榴城镇城关村代办员"),
) -> None:
    """Issue a credential for one region and role (needs YIBAO_PG_DSN); prints the token once."""
    if role not in ("agent", "agency"):
        _fail("--role: agent 或 agency")
    from services.enrollment import usecases
    from shared.db import schema_connection
    from shared.settings import ServiceSettings
    from shared.uow import unit_of_work

    async def issue() -> str:
        settings = ServiceSettings()
        async with (schema_connection(settings.pg_dsn, "enrollment") as conn,
                    unit_of_work(conn, schema="enrollment", topic_prefix=settings.topic_prefix) as uow):
            return await usecases.grant_credential(uow, region, role, holder)

    try:
        token = asyncio.run(issue())
    except ValueError as err:  # a malformed region
        _fail(f"错误：{err}")
    typer.echo(token)
    sys.stdout.flush()
