"""Tables on the terminal: with rich where it is installed (it comes with typer) and the table fits, else plain
aligned text.

Plain text counts a Chinese character as two columns (east-asian width), so columns line up; a table
wider than the terminal is written as one block per row instead ("header: value" lines), which stays
readable however long the citations are. Only the standard library is imported up here.
"""
from __future__ import annotations

import shutil
import unicodedata
from collections.abc import Sequence

import typer


def rich_available() -> bool:
    try:
        import rich  # noqa: F401
    except ImportError:
        return False
    return True


def table(title: str, header: Sequence[str], rows: Sequence[Sequence[str]], *, plain: bool = False) -> None:
    """Print one table of texts: a rich table where it fits the terminal, else plain text (aligned, or blocks)."""
    columns = shutil.get_terminal_size((120, 40)).columns
    if not plain and rich_available() and _rich(title, header, rows, columns):
        return
    typer.echo(plain_table(title, header, rows, width=columns))


def _rich(title: str, header: Sequence[str], rows: Sequence[Sequence[str]], columns: int) -> bool:
    """Print the table with rich if it fits: unwrapped, or with at least 20 columns of screen per column
    (narrower, a wrapped cell reads worse than a block). False when it printed nothing."""
    from rich import box
    from rich.console import Console
    from rich.measure import Measurement
    from rich.table import Table

    out = Table(title=title, box=box.SIMPLE_HEAVY, show_lines=True, title_justify="left")
    for name in header:
        out.add_column(name, overflow="fold")
    for row in rows:
        out.add_row(*row)
    console = Console(width=columns)
    widest = Measurement.get(console, console.options.update_width(10**6), out).maximum
    if widest > columns and columns < 20 * len(header):
        return False
    console.print(out)
    return True


def text_width(text: str) -> int:
    """Columns `text` takes on a terminal: a Chinese character takes two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def plain_table(title: str, header: Sequence[str], rows: Sequence[Sequence[str]], *, width: int = 120) -> str:
    """The table as aligned text, or as blocks when it would be wider than `width` columns."""
    widths = [max([text_width(h), *(text_width(r[i]) for r in rows if i < len(r))]) for i, h in enumerate(header)]
    lines = [title]
    if sum(widths) + 2 * (len(widths) - 1) <= width:
        lined: list[list[str]] = [list(header), ["-" * w for w in widths], *map(list, rows)]
        for row in lined:
            cells = [c + " " * (w - text_width(c)) for c, w in zip(row, widths)]
            lines.append("  ".join(cells).rstrip())
        return "\n".join(lines)
    for block in rows:
        lines.append("")
        lines.append(block[0])
        lines += [f"  {h}：{v}" for h, v in zip(header[1:], block[1:]) if v]
    return "\n".join(lines)

