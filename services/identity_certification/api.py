"""HTTP API of identity certification: departments post submissions (JSON or a file) with their credential,
and download the row-level result of each.

The credential (header `Authorization: Bearer …`, read by shared.access.Authenticator) says
who the department is and for which region — the department comes from it, never from the
body; every refusal — missing, unknown or revoked credential, a credential used for another
department or region, a category the department may not certify — is recorded. Every
answer, refusals included, is declared in the OpenAPI document (shared.api_contract).
"""
from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import AsyncIterator, Iterator
from typing import Annotated, Literal
from uuid import UUID, uuid4

import asyncpg
from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.responses import FileResponse, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import AfterValidator, BaseModel, Field
from starlette.background import BackgroundTask

from services.identity_certification import downloads, store
from services.identity_certification.domain.cells import category_code
from services.identity_certification.domain.rows import SubmittedRow
from services.identity_certification.intake import FileRefused, read_file, rows_from_records
from services.identity_certification.submissions import (
    Submission,
    SubmissionResult,
    content_hash,
    file_hash,
    in_batches,
    submit,
)
from shared.access import BEARER, Authenticator, Caller, bearer_token
from shared.api_contract import problems, visible
from shared.runtime import Runtime
from shared.uow import utcnow

# A month of this century: `\d{4}` let "0000-01" through, and a snapshot for it made a date in year 0 (a 500).
PERIOD = r"^20[0-9]{2}-(0[1-9]|1[0-2])$"
BATCH = 5000


def _period(value: str) -> str:
    if not re.fullmatch(PERIOD, value):  # fullmatch: `$` alone lets a trailing newline through
        raise ValueError("报送月份须写成 YYYY-MM（如 2024-11），年份在2000—2099之间")
    return value


# The pattern is declared for clients and fuzzers; the validator enforces it with a reason in Chinese.
Period = Annotated[str, AfterValidator(_period), Field(json_schema_extra={"pattern": PERIOD})]
RESULT_TYPES = {"csv": "text/csv", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


class SubmissionRow(BaseModel):
    id: str = Field(description="公民身份号码 (sent in the body, never in a URL).", examples=["34032119800101001X"])
    category: str = Field(description="Category code or its Chinese name (低保, 特困 …).", examples=["minimum_living"])
    certified_on: str | None = Field(None, description="认定时间: 2024-11-05, 2024/11/5, 2024年11月5日 or 20241105.")
    ended_on: str | None = Field(None, description="退出时间, same spellings.")
    township: str | None = None
    village: str | None = None


class SubmissionRequest(BaseModel):
    period: Period = Field(description="Month the list is for.", examples=["2024-11"])
    mode: Literal["delta", "snapshot"] = Field(
        "delta", description="delta: rows that add or end a status; snapshot: the full list, people missing are ended.")
    categories: list[str] = Field(default_factory=list, description="Snapshot scope (default: the categories listed).")
    rows: list[SubmissionRow] = Field(max_length=50_000)


class RejectedRow(BaseModel):
    line_no: int
    person: str = Field(description="Masked resident ID.")
    reason_code: str
    reason: str


class SubmissionResponse(BaseModel):
    submission_id: str
    outcome: Literal["processed", "refused", "duplicate"]
    message: str
    duplicate_of: str | None = None
    rows_total: int
    rows_accepted: int
    rows_rejected: int
    people_changed: int
    people_ended: int = 0
    notes: list[str] = Field(default_factory=list, description="Headers not understood, lines skipped …")
    rejected: list[RejectedRow] = Field(description="The first rejected rows; download the result for all.")


def message_of(result: SubmissionResult) -> str:
    if result.outcome == "processed":
        ended = f"，{result.people_ended}人因未在全量名单中而终止" if result.people_ended else ""
        return (f"已处理：共{result.rows_total}行，{result.rows_accepted}行通过，{result.rows_rejected}行退回，"
                f"{result.people_changed}人状态变更{ended}")
    if result.outcome == "duplicate":
        return f"该文件此前已报送并处理（报送编号 {result.duplicate_of}），本次未重复处理，没有任何变更"
    return result.refusal or ""


def response_of(result: SubmissionResult) -> SubmissionResponse:
    return SubmissionResponse(
        submission_id=str(result.submission_id), outcome=result.outcome, message=message_of(result),
        duplicate_of=str(result.duplicate_of) if result.duplicate_of else None,
        rows_total=result.rows_total, rows_accepted=result.rows_accepted, rows_rejected=result.rows_rejected,
        people_changed=result.people_changed, people_ended=result.people_ended, notes=result.notes,
        rejected=[RejectedRow(line_no=r["line_no"], person=r["person_masked"], reason_code=r["reason_code"],
                              reason=r["reason"]) for r in result.rejected],
    )


def answer(result: SubmissionResult) -> SubmissionResponse:
    response = response_of(result)
    if result.outcome == "refused":
        status = 413 if result.refusal_code == "file_too_large" else 422 if result.refusal_code in FILE_PROBLEMS else 403
        raise HTTPException(status, response.model_dump())
    return response


FILE_PROBLEMS = {"no_header", "no_category", "bad_encoding", "bad_xlsx", "xls_not_supported", "utf16_not_supported",
                 "empty_snapshot"}


async def thread_batches(rows: Iterator[SubmittedRow], size: int = BATCH) -> AsyncIterator[list[SubmittedRow]]:
    """Read and parse the file in a worker thread, a batch at a time, so /health keeps answering."""
    def take() -> list[SubmittedRow]:
        return list(itertools.islice(rows, size))

    while batch := await asyncio.to_thread(take):
        yield batch


def api(runtime: Runtime) -> APIRouter:
    router = APIRouter(tags=["identity"])
    settings = runtime.settings
    # Checked in PostgreSQL on every request (no cache): a revoked department credential counts at once.
    credentials = Authenticator(lambda: runtime.pool, lookup=store.caller)

    async def authenticated(request: Request, bearer: HTTPAuthorizationCredentials | None = BEARER) -> Caller:
        """The credential's department and region (role = department), or 401 — recorded either way."""
        try:
            return await credentials.of(request)
        except HTTPException as refused:
            code = "bad_credential" if bearer_token(request) else "no_credential"
            async with runtime.pool.acquire() as conn:
                await store.record_refusal(conn, "http", code, str(refused.detail))
            raise HTTPException(401, f"{refused.detail}。请向医保部门申领本部门的凭证",
                                headers=refused.headers) from None

    async def claimed(caller: Caller, department: str | None, region: str | None) -> None:
        """A file's form may name its department and region: they must be the credential's, else 403 (recorded)."""
        if (department and department != caller.role) or (region and region != caller.region):
            # kept in the refusal log: made storable (a NUL is not), not judged
            reason = visible(f"凭证属于{caller.holder}，与报送声明的{department or caller.role}/{region or caller.region}不符")
            async with runtime.pool.acquire() as conn:
                await store.record_refusal(conn, "http", "credential_mismatch", reason, caller.role, caller.region)
            raise HTTPException(403, reason)

    async def run(what: Submission, batches: AsyncIterator[list[SubmittedRow]], notes_of=lambda: []) -> SubmissionResult:
        try:
            async with runtime.pool.acquire() as conn, conn.transaction():
                result = await submit(conn, what, batches, now=utcnow(), topic_prefix=settings.topic_prefix,
                                      schema=runtime.schema, snapshot_end=settings.snapshot_end, notes=None)
                if result.outcome == "processed" and notes_of():
                    result.notes = notes_of()
                    await store.update_submission(conn, result.submission_id, notes=result.notes)
                return result
        except asyncpg.UniqueViolationError:
            # The same content was being processed concurrently and won: answer as a duplicate.
            async with runtime.pool.acquire() as conn, conn.transaction():
                return await submit(conn, what, in_batches([]), now=utcnow(), topic_prefix=settings.topic_prefix,
                                    schema=runtime.schema)

    @router.post("/submissions", response_model=SubmissionResponse, responses=problems(400, 401, 403, 422))
    async def post_submission(body: SubmissionRequest, caller: Caller = Depends(authenticated)) -> SubmissionResponse:
        department, region = caller.role, caller.region
        rows = rows_from_records(r.model_dump() for r in body.rows)
        categories = tuple(category_code(c) for c in body.categories)
        what = Submission(department, region, body.period, body.mode, "json",
                          content_hash(rows, body.mode, categories), categories)
        return answer(await run(what, in_batches(rows)))

    @router.post("/submissions/file", response_model=SubmissionResponse, responses=problems(400, 401, 403, 413, 422))
    async def post_file(
        file: Annotated[UploadFile, File(description="CSV (UTF-8 or GB18030/GBK) or XLSX: the department's list.")],
        period: Annotated[Period, Form(description="Month the list is for: 2024-11.")],
        mode: Annotated[Literal["delta", "snapshot"], Form()] = "delta",
        department: Annotated[str | None, Form(max_length=64, description="Checked against the credential.")] = None,
        region: Annotated[str | None, Form(max_length=64, description="Checked against the credential.")] = None,
        category: Annotated[str | None, Form(description="Category of every row, for files with no 人员类别 column.")] = None,
        categories: Annotated[str | None, Form(description="Snapshot scope, comma-separated.")] = None,
        caller: Caller = Depends(authenticated),
    ) -> SubmissionResponse:
        await claimed(caller, department, region)
        department, region = caller.role, caller.region
        default = category_code(category) if category else None
        scope = tuple(category_code(c) for c in re.split(r"[,，、\s]+", categories or "") if c)
        sha = await asyncio.to_thread(file_hash, iter(lambda: file.file.read(1 << 20), b""), mode, scope, default)
        size = file.file.tell()  # the hash read it to the end
        file.file.seek(0)
        fmt = "xlsx" if file.file.read(4) == b"PK\x03\x04" else "csv"
        file.file.seek(0)
        what = Submission(department, region, period, mode, fmt, sha, scope)
        if size > settings.upload_max_bytes:  # refused before parsing: a huge workbook would be read into memory
            return answer(await refuse_file(what, FileRefused(
                "file_too_large", f"文件过大（{size / 1048576:.1f} MB，上限{settings.upload_max_bytes / 1048576:.1f} MB）："
                "请按乡镇或人员类别分成几个文件报送")))
        try:
            report, rows = await asyncio.to_thread(read_file, file.file, default_category=default)
            return answer(await run(what, thread_batches(rows), lambda: report.notes))
        except FileRefused as refused:
            return answer(await refuse_file(what, refused))

    async def refuse_file(what: Submission, refused: FileRefused) -> SubmissionResult:
        """A file that cannot be read is refused as a whole, and recorded like any refusal."""
        submission_id = uuid4()
        async with runtime.pool.acquire() as conn:
            await store.insert_submission(
                conn, id=submission_id, department=what.department, region=what.region, period=what.period,
                mode=what.mode, content_sha256=what.sha, received_at=utcnow(), source=what.source,
                outcome="refused", refusal=refused.reason, rows_total=0, rows_accepted=0, rows_rejected=0,
                people_changed=0)
        return SubmissionResult(submission_id, "refused", refusal=refused.reason, refusal_code=refused.code)

    @router.get("/submissions/{submission_id}/result", response_class=StreamingResponse, responses={
        200: {"description": "Every row of the submission with its verdict, as CSV or Excel", "content": {
            RESULT_TYPES["csv"]: {"schema": {"type": "string"}},
            RESULT_TYPES["xlsx"]: {"schema": {"type": "string", "format": "binary"}}}},
        **problems(401, 404, 422)})
    async def get_result(
        submission_id: UUID,
        format: Annotated[Literal["csv", "xlsx"], Query(description="csv (UTF-8 with BOM) or xlsx")] = "csv",
        caller: Caller = Depends(authenticated),
    ):
        department, region = caller.role, caller.region
        async with runtime.pool.acquire() as conn:
            found = await store.get_submission(conn, submission_id)
            if found is None or (found["department"], found["region"]) != (department, region):
                await store.record_refusal(conn, "http", "not_your_submission",
                                           "下载他人或不存在的报送结果", department, region)
                raise HTTPException(404, "没有这个报送编号，或它不是本部门本地区的报送")
        source_id = found["duplicate_of"] or submission_id
        name = f"result-{submission_id}.{format}"
        if format == "csv":
            return StreamingResponse(downloads.csv_stream(runtime.pool, source_id),
                                     media_type=f"{RESULT_TYPES['csv']}; charset=utf-8", headers={"Content-Disposition": f'attachment; filename="{name}"'})
        path = await downloads.xlsx_file(runtime.pool, source_id)
        return FileResponse(path, filename=name, background=BackgroundTask(path.unlink, missing_ok=True),
                            media_type=RESULT_TYPES["xlsx"])

    return router
