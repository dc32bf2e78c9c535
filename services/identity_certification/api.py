"""HTTP API of identity certification: departments post submissions (JSON or a file) with their credential,
watch a file's progress while it is processed (rows read, validated, merged: GET /api/submissions and
/api/submissions/{id}/progress), and download the row-level result of each.

The credential (header `Authorization: Bearer …`, read by the service's Authenticator, built
in app.py) says who the department is and for which region — the department comes from it,
never from the body; every refusal — missing, unknown or revoked credential, a credential
used for another department or region, a category the department may not certify — is
recorded (by the use cases). Every answer, refusals included, is declared in the OpenAPI
document (shared.api_contract). The routes translate requests into use cases (usecases/)
and their results into answers.
"""
from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import suppress
from datetime import datetime
from typing import Annotated, Any, Literal, cast
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.responses import FileResponse, Response, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import AfterValidator, BaseModel, Field
from starlette.background import BackgroundTask

from services.identity_certification import store, usecases
from services.identity_certification.domain.cells import category_code
from services.identity_certification.intake import rows_from_records
from services.identity_certification.settings import Settings
from services.identity_certification.usecases import Submission, SubmissionResult, Upload
from shared.access import BEARER, Caller, bearer_token
from shared.api_contract import problems
from shared.http import RUNTIME, authenticator_of
from shared.logging import get_logger
from shared.runtime import Runtime
from shared.uow import utcnow

log = get_logger(__name__)

# A month of this century: a snapshot ends statuses on a day of its month, and year 0 has no days.
PERIOD = r"^20[0-9]{2}-(0[1-9]|1[0-2])$"


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


async def department(request: Request, runtime: Runtime = RUNTIME,
                     _bearer: HTTPAuthorizationCredentials | None = BEARER) -> Caller:
    """The credential's department and region (role = department), or 401, the refusal recorded: like
    shared.http's CALLER, which neither records nor says where to get a credential."""
    try:
        return await authenticator_of(request).of(request)
    except HTTPException as refused:
        code = "bad_credential" if bearer_token(request) else "no_credential"
        async with runtime.unit_of_work() as uow:
            await usecases.refuse_access(uow, "http", code, str(refused.detail))
        raise HTTPException(401, f"{refused.detail}。请向医保部门申领本部门的凭证",
                            headers=refused.headers) from None


DEPARTMENT: Any = Depends(department)


router = APIRouter(tags=["identity"])


def settings_of(runtime: Runtime) -> Settings:
    return cast(Settings, runtime.settings)


@router.post("/submissions", response_model=SubmissionResponse, responses=problems(400, 401, 403, 422))
async def post_submission(body: SubmissionRequest, caller: Caller = DEPARTMENT,
                          runtime: Runtime = RUNTIME) -> SubmissionResponse:
    rows = rows_from_records(r.model_dump() for r in body.rows)
    categories = tuple(category_code(c) for c in body.categories)
    what = Submission.of_rows(caller.role, caller.region, body.period, body.mode, "json", rows, categories)
    async with runtime.unit_of_work() as uow:
        result = await usecases.submit_list(uow, what, rows, snapshot_end=settings_of(runtime).snapshot_end)
    return answer(result)


@router.post("/submissions/file", response_model=SubmissionResponse, responses=problems(400, 401, 403, 413, 422))
async def post_file(
    file: Annotated[UploadFile, File(description="CSV (UTF-8 or GB18030/GBK) or XLSX: the department's list.")],
    period: Annotated[Period, Form(description="Month the list is for: 2024-11.")],
    mode: Annotated[Literal["delta", "snapshot"], Form()] = "delta",
    department: Annotated[str | None, Form(max_length=64, description="Checked against the credential.")] = None,
    region: Annotated[str | None, Form(max_length=64, description="Checked against the credential.")] = None,
    category: Annotated[str | None, Form(description=(
        "Category of every row, for files with no 人员类别 column. Not needed from a department that certifies one "
        "category (its one is read), nor for a 监测类型 list (read as poverty_monitoring)."))] = None,
    categories: Annotated[str | None, Form(description="Snapshot scope, comma-separated.")] = None,
    caller: Caller = DEPARTMENT,
    runtime: Runtime = RUNTIME,
) -> SubmissionResponse:
    async with runtime.unit_of_work() as uow:
        mismatch = await usecases.check_claim(uow, caller, department, region)
    if mismatch:
        raise HTTPException(403, mismatch)
    scope = tuple(category_code(c) for c in re.split(r"[,，、\s]+", categories or "") if c)
    upload = Upload(caller.role, caller.region, period, mode, file.file, category_code(category) if category else None,
                    scope)
    settings = settings_of(runtime)
    assert runtime.pool is not None, "runtime not started"
    board = usecases.Board(runtime.pool, utcnow())
    try:
        async with runtime.unit_of_work() as uow:
            result = await usecases.submit_file(uow, upload, max_bytes=settings.upload_max_bytes,
                                                snapshot_end=settings.snapshot_end, watch=board)
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as err:
        # Rolled back whole: nothing of the list applied. Said so, with what to do; the progress says it too.
        log.error("file submission failed; rolled back", error=repr(err), department=caller.role, region=caller.region)
        await _told(board.fail(f"{store.INTERRUPTED}（{type(err).__name__}）"))
        raise HTTPException(503, store.INTERRUPTED) from None
    except BaseException:
        await _told(board.fail(store.INTERRUPTED))
        raise
    await _told(board.finish(result))
    return answer(result)


async def _told(progress: Any) -> None:
    """Write a final progress; the list's outcome stands whether or not this write gets through."""
    with suppress(asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
        await progress


class SubmissionProgress(BaseModel):
    submission_id: str
    period: str
    source: str
    phase: Literal["reading", "merging", "announcing", "committing", "processed", "refused", "duplicate", "failed",
                   "interrupted"] = Field(description=(
        "reading → merging → announcing → committing while in flight; processed, refused, duplicate or failed at "
        "the end; interrupted: the service stopped mid-list, nothing of it applied (post the same file again)."))
    message: str
    rows_read: int = Field(description="Data lines read from the file so far.")
    rows_validated: int = Field(description="Rows checked and staged so far.")
    rows_merged: int = Field(description="Good rows merged into the status history so far (of rows_accepted).")
    events_written: int = Field(description="identity.status-changed events written to the outbox.")
    rows_total: int | None = Field(None, description="Once committed: the submission's own counts.")
    rows_accepted: int | None = None
    rows_rejected: int | None = None
    people_changed: int | None = None
    started_at: datetime
    updated_at: datetime


PHASE_WORDS = {"reading": "正在读取和校验", "merging": "正在合并", "announcing": "正在写入变更通知",
               "committing": "正在提交", "processed": "已处理", "refused": "已退回", "duplicate": "此前已处理，本次未重复处理",
               "failed": "处理失败，没有任何变更", "interrupted": store.INTERRUPTED}


def progress_answer(row: Any) -> SubmissionProgress:
    phase = row["phase"] if row["alive"] else "interrupted"
    counts = f"：已读{row['rows_read']}行，已校验{row['rows_validated']}行，已合并{row['rows_merged']}行"
    message = row["detail"] if phase == "failed" and row["detail"] else PHASE_WORDS[phase] + (
        counts if phase not in ("interrupted", "duplicate") else "")
    return SubmissionProgress(
        submission_id=str(row["submission_id"]), period=row["period"], source=row["source"], phase=phase,
        message=message, rows_read=row["rows_read"], rows_validated=row["rows_validated"],
        rows_merged=row["rows_merged"], events_written=row["events_written"],
        rows_total=row["rows_total"] if row["outcome"] else None,
        rows_accepted=row["rows_accepted"] if row["outcome"] else None,
        rows_rejected=row["rows_rejected"] if row["outcome"] else None,
        people_changed=row["people_changed"] if row["outcome"] else None,
        started_at=row["started_at"], updated_at=row["updated_at"])


@router.get("/submissions", response_model=list[SubmissionProgress], responses=problems(401, 422))
async def list_submissions(
    limit: Annotated[int, Query(ge=1, le=100, description="How many, newest first.")] = 20,
    caller: Caller = DEPARTMENT,
    runtime: Runtime = RUNTIME,
) -> list[SubmissionProgress]:
    """The department's latest file submissions with their progress: how it finds one still being processed."""
    async with runtime.reading() as uow:
        rows = await usecases.recent_progress(uow, caller.role, caller.region, limit)
    return [progress_answer(r) for r in rows]


@router.get("/submissions/{submission_id}/progress", response_model=SubmissionProgress,
            responses=problems(401, 404, 422))
async def get_progress(submission_id: UUID, caller: Caller = DEPARTMENT,
                       runtime: Runtime = RUNTIME) -> SubmissionProgress:
    """Rows read, validated and merged of one file submission, while it is processed and after."""
    async with runtime.reading() as uow:
        row = await usecases.progress_of(uow, caller.role, caller.region, submission_id)
    if row is None:
        raise HTTPException(404, "没有这个报送编号的进度，或它不是本部门本地区的报送")
    return progress_answer(row)


@router.get("/submissions/{submission_id}/result", response_class=StreamingResponse, responses={
    200: {"description": "Every row of the submission with its verdict, as CSV or Excel", "content": {
        RESULT_TYPES["csv"]: {"schema": {"type": "string"}},
        RESULT_TYPES["xlsx"]: {"schema": {"type": "string", "format": "binary"}}}},
    **problems(401, 404, 422)})
async def get_result(
    submission_id: UUID,
    format: Annotated[Literal["csv", "xlsx"], Query(description="csv (UTF-8 with BOM) or xlsx")] = "csv",
    caller: Caller = DEPARTMENT,
    runtime: Runtime = RUNTIME,
) -> Response:
    async with runtime.unit_of_work() as uow:
        source_id = await usecases.result_source(uow, caller, submission_id)
    if source_id is None:
        raise HTTPException(404, "没有这个报送编号，或它不是本部门本地区的报送")
    name = f"result-{submission_id}.{format}"
    if format == "csv":
        return StreamingResponse(_csv_body(runtime, source_id), media_type=f"{RESULT_TYPES['csv']}; charset=utf-8",
                                 headers={"Content-Disposition": f'attachment; filename="{name}"'})
    async with runtime.unit_of_work() as uow:
        path = await usecases.result_xlsx(uow, source_id)
    return FileResponse(path, filename=name, background=BackgroundTask(path.unlink, missing_ok=True),
                        media_type=RESULT_TYPES["xlsx"])


async def _csv_body(runtime: Runtime, submission_id: UUID) -> AsyncIterator[bytes]:
    """The CSV's lines as the response body: its unit of work lives as long as the body is being sent."""
    async with runtime.unit_of_work() as uow:
        async for chunk in usecases.result_csv(uow, submission_id):
            yield chunk
