"""`yibao whatif`: what a change of amounts in a region's pack would cost, over the people the subsidy service knows.

    yibao whatif --region 340321 --year 2025 --set money.individual_contribution=420 \\
                 --set subsidies.minimum_living.amount=360 --xlsx whatif.xlsx

Each `--set PATH=YUAN` names an amount by its path in the pack file (shared/policy/packs/<region>-<year>.yaml;
shared/policy/amend.py). Every person is decided as the subsidy service would on `--on` (default: today in
China), under the stored pack and under the amended one (services/subsidy/whatif.py); the tables say the
totals by funding source and township before and after, and how many people bear more or less. Read-only:
nothing stored changes. Reads YIBAO_PG_DSN (the subsidy schema), as the services do. A bad `--set`: exit 2,
one line naming the setting.
"""
from __future__ import annotations

import asyncio
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from cli import show

if TYPE_CHECKING:
    from services.subsidy.whatif import WhatIf
    from shared.policy.amend import Change

SET_HELP = "an amount to change: PATH=YUAN (see above); repeat for several"


def whatif_command(
    region: str = typer.Option(..., help="6-digit pooling region (or a county of a city-wide one)"),
    year: int = typer.Option(..., help="coverage year"),
    changes: list[str] = typer.Option(..., "--set", help=SET_HELP),
    on: str | None = typer.Option(None, help="decide dues as on this day, YYYY-MM-DD (default: today in China)"),
    xlsx: Path | None = typer.Option(None, "--xlsx", help="also write the tables to this XLSX file"),
    chunk: int = typer.Option(5000, min=100, help="people read per page (memory holds one page)"),
    plain: bool = typer.Option(False, "--plain", help="plain aligned text, even where rich is installed"),
) -> None:
    """Dues of the region's people under its pack and under the pack with --set amounts: totals before and after.

    --set PATH=YUAN names an amount by its path in the pack file (shared/policy/packs/REGION-YEAR.yaml) and its
    new value in yuan (at most two decimals; `full` for a whole subsidy):

    money.individual_contribution=420 · subsidies.minimum_living.amount=360 · subsidies.orphan.amount=full ·
    counties.610924.subsidies.minimum_living.amount=260

    Any other path is refused, naming the amounts the pack has. Nothing stored changes.
    """
    from shared.policy import PolicyError
    from shared.policy.amend import parse_change

    try:
        asked = [parse_change(c) for c in changes]
        day = date.fromisoformat(on) if on else None
        answer = asyncio.run(_run(region, year, asked, day, chunk))
    except PolicyError as err:
        typer.echo(err.one_line(), err=True)
        raise typer.Exit(2) from None
    except ValueError as err:
        typer.echo(f"--on: {err}", err=True)
        raise typer.Exit(2) from None
    print_answer(answer, plain=plain)
    if xlsx is not None:
        from services.subsidy.whatif_tables import sheets
        from shared.sheets import workbook

        xlsx.write_bytes(workbook(sheets(answer)))
        typer.echo(f"已写入 {xlsx}")


async def _run(region: str, year: int, asked: list[Change], day: date | None, chunk: int) -> WhatIf:
    from datetime import UTC, datetime

    from services.subsidy.settings import Settings
    from services.subsidy.whatif import what_if
    from shared.db import schema_connection
    from shared.policy.dates import local_date

    def progress(people: int) -> None:  # on a terminal only: a region of a million takes a minute or two
        typer.echo(f"\r已核定 {people:,} 人", err=True, nl=False)

    settings = Settings()
    async with schema_connection(settings.pg_dsn, "subsidy") as conn:
        answer = await what_if(conn, region, year, asked, on=day or local_date(datetime.now(UTC)), chunk=chunk,
                               progress=progress if sys.stderr.isatty() else None)
    if sys.stderr.isatty():
        typer.echo("", err=True)
    return answer


def print_answer(answer: WhatIf, *, plain: bool = False) -> None:
    from services.subsidy.whatif_tables import headline, sheets
    from shared.sheets import cell_text

    typer.echo(headline(answer))
    for sheet in sheets(answer):
        show.table(sheet.title, list(sheet.header), [[cell_text(c) for c in row] for row in sheet.rows], plain=plain)
    typer.echo(f"用时 {answer.seconds:.1f} 秒（政策引擎实算 {answer.judged[0]:,} + {answer.judged[1]:,} 次，其余为相同情形复用）；"
               "未改动任何已存数据")
