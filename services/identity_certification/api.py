"""HTTP API of identity certification: departments post submissions with their credential."""
from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Header, HTTPException
from pydantic import BaseModel, Field

from services.identity_certification import store
from services.identity_certification.domain.rows import SubmittedRow
from services.identity_certification.submissions import content_hash, submit
from shared.runtime import Runtime, utcnow


class SubmissionRow(BaseModel):
    id: str = Field(description="公民身份号码 (sent in the body, never in a URL).", examples=["34032119800101001X"])
    category: str = Field(examples=["minimum_living"])
    certified_on: date | None = Field(None, description="认定时间")
    ended_on: date | None = Field(None, description="退出时间")
    township: str | None = None
    village: str | None = None


class SubmissionRequest(BaseModel):
    period: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="Month the list is for.", examples=["2024-11"])
    mode: Literal["delta"] = Field("delta", description="delta: rows that add or end a status.")
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
    rows_total: int
    rows_accepted: int
    rows_rejected: int
    people_changed: int
    rejected: list[RejectedRow]


def api(runtime: Runtime) -> APIRouter:
    router = APIRouter(tags=["identity"])

    @router.post("/submissions", response_model=SubmissionResponse)
    async def post_submission(
        body: SubmissionRequest, authorization: Annotated[str, Header(description="Bearer <department credential>")]
    ) -> SubmissionResponse:
        token = authorization.removeprefix("Bearer ").strip()
        rows = [
            SubmittedRow(i + 1, r.id, r.category, r.certified_on, r.ended_on, r.township, r.village)
            for i, r in enumerate(body.rows)
        ]
        async with runtime.pool.acquire() as conn, conn.transaction():
            who = await store.authenticate(conn, token)
            if who is None:
                raise HTTPException(401, "凭证无效或已吊销")
            department, region = who
            result = await submit(
                conn, department=department, region=region, period=body.period, rows=rows,
                sha=content_hash(rows), now=utcnow(), topic_prefix=runtime.settings.topic_prefix,
                schema=runtime.schema,
            )
        message = {
            "processed": f"已处理：{result.rows_accepted}行通过，{result.rows_rejected}行退回，{result.people_changed}人状态变更",
            "duplicate": "该文件此前已报送并处理，本次不重复处理",
            "refused": result.refusal or "",
        }[result.outcome]
        response = SubmissionResponse(
            submission_id=str(result.submission_id), outcome=result.outcome, message=message,
            rows_total=result.rows_total, rows_accepted=result.rows_accepted, rows_rejected=result.rows_rejected,
            people_changed=result.people_changed,
            rejected=[RejectedRow(line_no=v.line_no, person=v.person_masked, reason_code=v.reason_code,
                                  reason=v.reason) for v in result.rejected],
        )
        if result.outcome == "refused":
            raise HTTPException(403, response.model_dump())
        return response

    return router
