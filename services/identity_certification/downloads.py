"""The row-level result as a file: CSV streamed from a cursor, XLSX written in openpyxl's write-only mode.

Neither holds the whole result in memory; cells are made formula-safe
(`domain.results.safe_cell`), IDs were masked when the rows were stored.
"""
from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from uuid import UUID

import asyncpg

from services.identity_certification import store
from services.identity_certification.domain.results import HEADER, result_line


async def csv_stream(pool: asyncpg.Pool, submission_id: UUID) -> AsyncIterator[bytes]:
    """UTF-8 with a BOM, so that Excel on Windows opens the Chinese text correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    yield ("\ufeff" + buffer.getvalue()).encode()
    async with pool.acquire() as conn, conn.transaction():
        async for row in conn.cursor(store.row_results_query(), submission_id, prefetch=5000):
            buffer.seek(0)
            buffer.truncate()
            writer.writerow(result_line(row))
            yield buffer.getvalue().encode()


async def xlsx_file(pool: asyncpg.Pool, submission_id: UUID) -> Path:
    """A temporary .xlsx of the result; the caller deletes it once sent."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    sheet = book.create_sheet("报送结果")
    sheet.append(list(HEADER))
    async with pool.acquire() as conn, conn.transaction():
        async for row in conn.cursor(store.row_results_query(), submission_id, prefetch=5000):
            cells = []
            for value in result_line(row):
                cell = WriteOnlyCell(sheet, value=value)
                cell.data_type = "s"  # text, never a formula, whatever it starts with
                cells.append(cell)
            sheet.append(cells)
    handle = tempfile.NamedTemporaryFile(suffix=".xlsx", delete=False)
    handle.close()
    book.save(handle.name)
    return Path(handle.name)
