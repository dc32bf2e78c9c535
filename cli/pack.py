"""`yibao pack diff A B`: what differs between two policy packs, in Chinese, each side with the seed line it cites.

A and B name packs as REGION-YEAR: two years of a region (`340321-2024 340321-2025`) or two regions
(`341522-2025 610900-2025`); a county inside a city pack (`610924-2025`) is that pack as the county
sees it. Every amount, date, period and rule that differs is a row (shared/policy/diff.py); a setting
one pack does not have says so. `--xlsx FILE` also writes the table as a spreadsheet: money in yuan
and dates as real numbers and dates, with each side's default notes. Unknown pack: exit 2, one line.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from cli import show

if TYPE_CHECKING:
    from shared.policy.diff import PackDiff

app = typer.Typer(no_args_is_help=True, help="政策包: compare the policy packs (shared/policy/packs/*.yaml).")


@app.command("diff")
def diff_command(
    a: str = typer.Argument(..., help="pack A as REGION-YEAR, e.g. 340321-2024"),
    b: str = typer.Argument(..., help="pack B as REGION-YEAR, e.g. 340321-2025"),
    xlsx: Path | None = typer.Option(None, "--xlsx", help="also write the table to this XLSX file"),
    plain: bool = typer.Option(False, "--plain", help="plain aligned text, even where rich is installed"),
) -> None:
    """Every amount, date, period and rule that differs between packs A and B, with the seed line each cites."""
    from shared.policy import PolicyError
    from shared.policy.diff import diff_packs, diff_sheet, pack_named

    try:
        found = diff_packs(pack_named(a), pack_named(b))
    except PolicyError as err:
        typer.echo(err.one_line(), err=True)
        raise typer.Exit(2) from None
    show.table(f"A：{found.left}\nB：{found.right}\n共{len(found.rows)}项不同", *screen_rows(found), plain=plain)
    if xlsx is not None:
        from shared.sheets import workbook

        xlsx.write_bytes(workbook([diff_sheet(found)]))
        typer.echo(f"已写入 {xlsx}")


def screen_rows(found: PackDiff) -> tuple[list[str], list[list[str]]]:
    """The diff's columns for a terminal: the setting (in words, then its path), each side and what it cites."""
    from shared.policy.words import yuan

    header = ["项目（设置项）", "A", "A依据", "B", "B依据", "变化"]
    rows = []
    for r in found.rows:
        change = "" if r.change_fen is None else ("+" if r.change_fen > 0 else "") + yuan(r.change_fen)
        rows.append([f"{r.what}\n{r.setting}", r.left.text + _default(r.left.default), r.left.cites or "",
                     r.right.text + _default(r.right.default), r.right.cites or "", change])
    return header, rows


def _default(why: str | None) -> str:
    return "（默认值，文件未明确）" if why else ""
