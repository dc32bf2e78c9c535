"""The row-level result a department downloads: CSV streamed from a cursor, XLSX written in openpyxl's
write-only mode. Neither holds the whole result in memory; cells are made formula-safe
(`domain.results.safe_cell`), IDs were masked when the rows were stored.
"""
from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from uuid import UUID

from services.identity_certification import store
from services.identity_certification.domain.results import HEADER, result_line
from shared.uow import UnitOfWork


async def result_csv(uow: UnitOfWork, submission_id: UUID) -> AsyncIterator[bytes]:
    """The result as CSV, a line at a time: UTF-8 with a BOM, so that Excel on Windows opens the Chinese
    text correctly. The unit of work must stay open until the last line is sent."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    yield ("\ufeff" + buffer.getvalue()).encode()
    async for row in store.result_rows(uow.conn, submission_id):
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(result_line(row))
        yield buffer.getvalue().encode()


async def result_xlsx(uow: UnitOfWork, submission_id: UUID) -> Path:
    """The result as a temporary .xlsx; the caller deletes it once sent."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    sheet = book.create_sheet("报送结果")
    sheet.append(list(HEADER))
    async for row in store.result_rows(uow.conn, submission_id):
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
