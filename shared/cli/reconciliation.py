"""`yibao reconcile ...`: imports, runs, progress and exports of the reconciliation service, from a terminal.

The commands work on the reconciliation schema directly (YIBAO_PG_DSN), with the
same code the service runs; events a run finds go to the service's outbox and
are published by the running service's relay. Errors are one line, exit code 2.
"""
from __future__ import annotations

import asyncio
import json
import sys
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import typer

app = typer.Typer(no_args_is_help=True, help="对账与进度: bank files, agents' deposits, targets, runs, exports.")


def _settings():
    from services.reconciliation.settings import Settings
    return Settings()


async def _with_conn(work):
    from shared.db import create_pool
    settings = _settings()
    pool = await create_pool(settings.pg_dsn, "reconciliation", max_size=2)
    try:
        async with pool.acquire() as conn:
            return await work(conn, settings)
    finally:
        await pool.close()


def _fail(message: str) -> None:
    typer.echo(f"错误：{message}", err=True)
    raise typer.Exit(2)


def _read(path: Path) -> str:
    if not path.is_file():
        _fail(f"找不到文件 {path}")
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    _fail(f"{path} 不是 UTF-8 或 GBK 编码的文本")
    return ""


def _import(kind: str, path: Path, bank: str | None = None) -> None:
    from services.reconciliation import store
    from services.reconciliation.domain import files
    from shared.uow import utcnow

    text = _read(path)
    reader = {"bank": files.read_settlement, "deposits": files.read_agent_deposits, "targets": files.read_targets}[kind]
    try:
        parsed = reader(text)
    except files.LineError as err:
        _fail(str(err))

    async def work(conn, _settings):
        async with conn.transaction():
            if kind == "bank":
                return await store.import_settlement(conn, bank or "", path.name, text, parsed, utcnow())
            if kind == "deposits":
                return await store.import_agent_deposits(conn, path.name, text, parsed, utcnow())
            return await store.import_targets(conn, path.name, text, parsed, utcnow())

    summary = asyncio.run(_with_conn(work))
    typer.echo(json.dumps(summary, ensure_ascii=False, indent=1))


@app.command("import-bank")
def import_bank(path: Path = typer.Argument(..., help="CSV: settlement_ref, settled_on, region, channel, pay_date, "
                                            "receipt_no (empty for a channel's day total), amount (元)."),
                bank: str = typer.Option(..., help="The bank that sent the file, e.g. 农商行.")) -> None:
    """Import one bank's settlement file for a day."""
    _import("bank", path, bank)


@app.command("import-deposits")
def import_deposits(path: Path = typer.Argument(..., help="CSV: agent_id, line_ref, region, year, township, village, "
                                                "person_id, receipt_no, amount (元), collected_on, deposited_on, deposit_ref.")) -> None:
    """Import village agents' cash collections and deposits (代收资金缴存台账)."""
    _import("deposits", path)


@app.command("import-targets")
def import_targets(path: Path = typer.Argument(..., help="CSV: region, year, township, target_people.")) -> None:
    """Import each township's enrollment target (任务数)."""
    _import("targets", path)


@app.command("run")
def run(region: str = typer.Option(..., help="6-digit pooling region."),
        day: str | None = typer.Option(None, help="Business day YYYY-MM-DD; default today."),
        year: int | None = typer.Option(None, help="Coverage year; default the campaign year.")) -> None:
    """Run reconciliation for one region and day now; print the summary."""
    from services.reconciliation.runs import run_reconciliation
    from shared.uow import utcnow

    if len(region) != 6 or not region.isdigit():
        _fail(f"统筹区“{region}”应为6位行政区划代码")
    try:
        business_day = date.fromisoformat(day) if day else None
    except ValueError:
        _fail(f"日期“{day}”应为 YYYY-MM-DD")

    async def work(conn, settings):
        when = business_day or utcnow().astimezone(ZoneInfo(settings.timezone)).date()
        return await run_reconciliation(conn, settings, region=region, year=year or settings.campaign_year, day=when,
                                        trigger="cli", now=utcnow())

    typer.echo(json.dumps(asyncio.run(_with_conn(work)), ensure_ascii=False, indent=1))


@app.command("export")
def export(table: str = typer.Argument(..., help="progress | townships | discrepancies | not-enrolled"),
           region: str = typer.Option(...), year: int | None = typer.Option(None),
           out: Path = typer.Option(..., help="File to write; .xlsx or .csv decides the format.")) -> None:
    """Write a table as XLSX or CSV."""
    from services.reconciliation import tables
    from services.reconciliation.domain.exports import to_csv, to_xlsx

    if table not in tables.TABLES:
        _fail(f"没有“{table}”这张表（可用：{'、'.join(tables.TABLES)}）")
    if out.suffix not in (".csv", ".xlsx"):
        _fail("输出文件应以 .csv 或 .xlsx 结尾")

    async def work(conn, settings):
        return await tables.table(conn, table, region, year or settings.campaign_year)

    title, header, rows = asyncio.run(_with_conn(work))
    out.write_bytes(to_csv(header, rows) if out.suffix == ".csv" else to_xlsx(title, header, rows))
    typer.echo(f"{out}: {len(rows)} 行", file=sys.stderr)


@app.command("resolve")
def resolve(discrepancy_id: str = typer.Argument(...), note: str = typer.Option(..., help="处理说明."),
            by: str = typer.Option(..., help="Who resolved it.")) -> None:
    """Mark a discrepancy resolved with a note."""
    from uuid import UUID

    from services.reconciliation import reports, store
    from shared.uow import utcnow

    try:
        ident = UUID(discrepancy_id)
    except ValueError:
        _fail(f"“{discrepancy_id}”不是差异编号")

    async def work(conn, _settings):
        return await store.resolve(conn, ident, note, by, utcnow())

    row = asyncio.run(_with_conn(work))
    if row is None:
        _fail(f"没有编号为{discrepancy_id}的差异")
    typer.echo(json.dumps(reports.discrepancy_json(row), ensure_ascii=False, indent=1))


@app.command("grant")
def grant(region: str = typer.Option(..., help="6-digit pooling region the credential is for."),
          role: str = typer.Option("viewer", help="viewer (figures, lists, console) or clerk (also imports, runs, "
                                   "resolutions)."),
          holder: str = typer.Option(..., help="Who holds it, e.g. 县医保中心财务股.")) -> None:
    """Issue a credential for the reconciliation API and console; the token is printed once."""
    from services.reconciliation import access

    if len(region) != 6 or not region.isdigit():
        _fail(f"统筹区“{region}”应为6位行政区划代码")
    if role not in ("viewer", "clerk"):
        _fail(f"权限“{role}”应为 viewer 或 clerk")

    async def work(conn, _settings):
        return await access.grant(conn, region, role, holder)  # type: ignore[arg-type]

    typer.echo(asyncio.run(_with_conn(work)))
