"""`yibao reconcile ...`: imports, runs, resolutions, exports and credentials of reconciliation, from a terminal.

Each command opens one unit of work on the reconciliation schema (YIBAO_PG_DSN) and
calls the same use case the service runs; events a run finds go to the service's
outbox and are published by the running service's relay. Answers go to stdout (JSON
where there is one), logs to stderr; errors are one line, exit code 2. Only typer and
the standard library are imported up here, so that `--help` answers at once.
"""
from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import typer

if TYPE_CHECKING:
    from services.reconciliation.settings import Settings
    from shared.uow import UnitOfWork

T = TypeVar("T")

app = typer.Typer(no_args_is_help=True, help="对账与进度: bank files, agents' deposits, targets, runs, exports.")


def _in_unit_of_work(work: Callable[[UnitOfWork, Settings], Awaitable[T]]) -> T:
    """`work(uow, settings)` in one transaction of the reconciliation schema, committed when it returns."""
    from services.reconciliation.settings import Settings
    from shared.db import schema_connection
    from shared.logging import configure_logging
    from shared.uow import unit_of_work

    settings = Settings()
    configure_logging("reconciliation", settings.log_level)

    async def main() -> T:
        async with schema_connection(settings.pg_dsn, "reconciliation") as conn, \
                unit_of_work(conn, schema="reconciliation", topic_prefix=settings.topic_prefix) as uow:
            return await work(uow, settings)

    return asyncio.run(main())


def _fail(message: str) -> NoReturn:
    typer.echo(f"错误：{message}", err=True)
    raise typer.Exit(2)


def _echo_json(value: Any) -> None:
    typer.echo(json.dumps(value, ensure_ascii=False, indent=1))


def _region(region: str) -> str:
    if len(region) != 6 or not region.isdigit():
        _fail(f"统筹区“{region}”应为6位行政区划代码")
    return region


def _read(path: Path) -> str:
    from services.reconciliation.domain.files import decode

    if not path.is_file():
        _fail(f"找不到文件 {path}")
    text = decode(path.read_bytes())
    if text is None:
        _fail(f"{path} 不是 UTF-8 或 GBK 编码的文本")
    return text


def _import(path: Path, work: Callable[[UnitOfWork, str], Awaitable[dict[str, Any]]]) -> None:
    """Read the file, run the import use case on its text and print the summary."""
    from services.reconciliation.domain.files import LineError

    text = _read(path)
    try:
        summary = _in_unit_of_work(lambda uow, _settings: work(uow, text))
    except LineError as err:
        _fail(str(err))
    _echo_json(summary)


@app.command("import-bank")
def import_bank(path: Path = typer.Argument(..., help="CSV: settlement_ref, settled_on, region, channel, pay_date, "
                                            "receipt_no (empty for a channel's day total), amount (元)."),
                bank: str = typer.Option(..., help="The bank that sent the file, e.g. 农商行.")) -> None:
    """Import one bank's settlement file for a day."""
    from services.reconciliation import usecases

    _import(path, lambda uow, text: usecases.import_bank_file(uow, bank=bank, name=path.name, text=text))


@app.command("import-deposits")
def import_deposits(path: Path = typer.Argument(..., help="CSV: agent_id, line_ref, region, year, township, village, "
                                                "person_id, receipt_no, amount (元), collected_on, deposited_on, deposit_ref.")) -> None:
    """Import village agents' cash collections and deposits (代收资金缴存台账)."""
    from services.reconciliation import usecases

    _import(path, lambda uow, text: usecases.import_agent_deposits(uow, name=path.name, text=text))


@app.command("import-targets")
def import_targets(path: Path = typer.Argument(..., help="CSV: region, year, township, target_people.")) -> None:
    """Import each township's enrollment target (任务数)."""
    from services.reconciliation import usecases

    _import(path, lambda uow, text: usecases.import_targets(uow, name=path.name, text=text))


@app.command("import-last-year")
def import_last_year(path: Path = typer.Argument(..., help="Last year's enrollment as the county exports it: XLSX, or CSV "
                                                 "in UTF-8 or GB18030; 身份证号/公民身份号码, 姓名, 乡镇(街道), 村(社区), "
                                                 "参保年度, 缴费日期, 缴费金额, 人员类别."),
                     region: str = typer.Option(..., help="6-digit pooling region the list is of."),
                     year: int | None = typer.Option(None, help="Coverage year of the list; default the year before "
                                                     "the campaign year.")) -> None:
    """Import last year's enrollment (上年度参保名单), for the 未续保 list and last year's payment curve."""
    from services.reconciliation.domain.sheet_reader import SheetRefused
    from services.reconciliation.usecases import renewals

    _region(region)
    if not path.is_file():
        _fail(f"找不到文件 {path}")
    content = path.read_bytes()
    try:
        summary = _in_unit_of_work(lambda uow, settings: renewals.import_prior_enrollment(
            uow, name=path.name, content=content, region=region, year=year or settings.campaign_year - 1))
    except SheetRefused as err:
        _fail(f"{path.name}：{err}")
    _echo_json(summary)


@app.command("not-renewed")
def not_renewed(region: str = typer.Option(...), year: int | None = typer.Option(None),
                day: str | None = typer.Option(None, help="As of YYYY-MM-DD; default today."),
                out: Path = typer.Option(..., help="The .xlsx to write: one sheet per village.")) -> None:
    """Write the 未续保 and 应保未保 list, ranked per village, one sheet per village (IDs masked)."""
    from services.reconciliation.usecases import business_day, renewals

    _region(region)
    if out.suffix != ".xlsx":
        _fail("输出文件应以 .xlsx 结尾")
    try:
        as_of = date.fromisoformat(day) if day else None
    except ValueError:
        _fail(f"日期“{day}”应为 YYYY-MM-DD")
    found = _in_unit_of_work(lambda uow, settings: renewals.not_renewed(
        uow, region, year or settings.campaign_year, as_of or business_day(settings, uow.now)))
    out.write_bytes(found.workbook())
    typer.echo(f"{out}: {len(found.listed)} 人，{len(found.villages)} 个村", file=sys.stderr)


@app.command("run")
def run(region: str = typer.Option(..., help="6-digit pooling region."),
        day: str | None = typer.Option(None, help="Business day YYYY-MM-DD; default today."),
        year: int | None = typer.Option(None, help="Coverage year; default the campaign year.")) -> None:
    """Run reconciliation for one region and day now; print the summary."""
    from services.reconciliation import usecases

    _region(region)
    try:
        business_day = date.fromisoformat(day) if day else None
    except ValueError:
        _fail(f"日期“{day}”应为 YYYY-MM-DD")
    _echo_json(_in_unit_of_work(lambda uow, settings: usecases.run_reconciliation(
        uow, settings, region=region, year=year, day=business_day, trigger="cli")))


@app.command("export")
def export(table: str = typer.Argument(..., help="progress | townships | discrepancies | not-enrolled"),
           region: str = typer.Option(...), year: int | None = typer.Option(None),
           out: Path = typer.Option(..., help="File to write; .xlsx or .csv decides the format.")) -> None:
    """Write a table as XLSX or CSV."""
    from services.reconciliation import usecases
    from services.reconciliation.domain.errors import UnknownTable
    from services.reconciliation.domain.exports import check_table

    try:
        check_table(table)
    except UnknownTable as err:
        _fail(str(err))
    if out.suffix not in (".csv", ".xlsx"):
        _fail("输出文件应以 .csv 或 .xlsx 结尾")
    found = _in_unit_of_work(lambda uow, settings: usecases.export_table(
        uow, table, region, year or settings.campaign_year))
    out.write_bytes(found.as_file(out.suffix[1:]))
    typer.echo(f"{out}: {len(found.rows)} 行", file=sys.stderr)


@app.command("resolve")
def resolve(discrepancy_id: str = typer.Argument(...), note: str = typer.Option(..., help="处理说明."),
            by: str = typer.Option(..., help="Who resolved it.")) -> None:
    """Mark a discrepancy resolved with a note."""
    from uuid import UUID

    from services.reconciliation import usecases
    from services.reconciliation.domain.errors import DiscrepancyNotFound

    try:
        ident = UUID(discrepancy_id)
    except ValueError:
        _fail(f"“{discrepancy_id}”不是差异编号")
    try:
        _echo_json(_in_unit_of_work(lambda uow, _settings: usecases.resolve_discrepancy(uow, ident, note=note, by=by)))
    except DiscrepancyNotFound:
        _fail(f"没有编号为{discrepancy_id}的差异")


@app.command("grant")
def grant(region: str = typer.Option(..., help="6-digit pooling region the credential is for."),
          role: str = typer.Option("viewer", help="viewer (figures, lists, console) or clerk (also imports, runs, "
                                   "resolutions)."),
          holder: str = typer.Option(..., help="Who holds it, e.g. 县医保中心财务股.")) -> None:
    """Issue a credential for the reconciliation API and console; the token is printed once."""
    from services.reconciliation import usecases

    _region(region)
    if role not in ("viewer", "clerk"):
        _fail(f"权限“{role}”应为 viewer 或 clerk")
    typer.echo(_in_unit_of_work(lambda uow, _settings: usecases.grant_credential(
        uow, region=region, role=role, holder=holder)))  # type: ignore[arg-type]
