"""HTTP API of enrollment: baseline and rosters, registration, ending, refunds, coverage, the person's record.

Every call carries `Authorization: Bearer <credential>`; a credential belongs to one
region and one role (agent: village agent 村代办; agency: the insurance office 医保经办).
Everything a call reads or writes is that region's: another region's data never
appears in an answer. Resident IDs travel in request bodies only, never in a URL,
and answers show them masked.
"""
# No `from __future__ import annotations` here: FastAPI resolves the dependency aliases
# (Caller, Agency) defined inside `api()` from the evaluated annotations.
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Form, HTTPException, UploadFile
from pydantic import BaseModel, Field

from services.enrollment import cases, events, imports, registrations, store
from services.enrollment.domain import lifecycle
from services.enrollment.sheets import SheetError
from shared.access import Authenticator
from shared.api_contract import IsoDate, PlainText, Year, problems, visible
from shared.codes import EnrollmentKind, RefundReason
from shared.messages.envelope import ResidentIdStr
from shared.outbox import add as add_to_outbox
from shared.resident_id import mask
from shared.runtime import Runtime
from shared.uow import utcnow


class BaselinePerson(BaseModel):
    id: str = Field(description="公民身份号码; checked per row so one bad ID does not refuse the list.")
    region: str | None = Field(None, description="Defaults to the credential's region; another region is refused.")
    township: str | None = Field(None, examples=["榴城镇"])
    village: str | None = Field(None, examples=["城关村"])
    name: str | None = None


class BaselineImport(BaseModel):
    source: PlainText = Field("public_security", description="Where the list comes from.")
    people: list[BaselinePerson] = Field(max_length=100_000)


class RosterPerson(BaseModel):
    id: str
    region: str | None = None
    employer: str | None = None
    # Text is judged per row (2024/11/5, 2024年11月5日 …); a bare number is no date and refuses the request.
    insured_from: str | IsoDate | None = Field(None, description="职工医保参保日期")
    insured_to: str | IsoDate | None = Field(None, description="停保日期; empty while insured")


class RosterImport(BaseModel):
    source: PlainText = Field("employee_insurance", description="Where the roster comes from.")
    people: list[RosterPerson] = Field(max_length=100_000)


class Registration(BaseModel):
    id: ResidentIdStr
    year: Year
    kind: EnrollmentKind = EnrollmentKind.GENERAL
    hukou_region: str | None = Field(None, pattern=r"^\d{6}$", description="户籍地; the baseline fills it in when known.")
    residence_region: str | None = Field(None, pattern=r"^\d{6}$", description="居住证所在地")
    school_region: str | None = Field(None, pattern=r"^\d{6}$", description="学校所在地 (students)")
    event_date: IsoDate | None = Field(None, description="Lapse, discharge, release, entry … as the kind needs.")
    registered_on: IsoDate | None = Field(None, description="Defaults to today (China).")


class BulkRegistration(BaseModel):
    registrations: list[Registration] = Field(max_length=20_000)


class Ending(BaseModel):
    id: ResidentIdStr
    year: Year
    reason: Literal["death", "employee_insurance", "other_region"]
    ended_on: IsoDate


class RefundRequest(BaseModel):
    id: ResidentIdStr
    year: Year
    reason: RefundReason
    requested_on: IsoDate | None = Field(None, description="The day the request was lodged; defaults to today (China).")


class Advance(BaseModel):
    as_of: IsoDate | None = Field(None, description="Defaults to today (China).")


class PersonLookup(BaseModel):
    id: ResidentIdStr


def api(runtime: Runtime) -> APIRouter:
    router = APIRouter(tags=["enrollment"])
    outbox_args = {"topic_prefix": runtime.settings.topic_prefix, "schema": runtime.schema}
    # shared.access: the Bearer token checked in PostgreSQL on every request (a revocation counts at once),
    # declared as the OpenAPI security scheme so clients (and schemathesis's ignored_auth check) know it
    caller = Authenticator(lambda: runtime.pool)

    async def agency(who: Annotated[store.Caller, Depends(caller)]) -> store.Caller:
        if who.role != "agency":
            raise HTTPException(403, "此操作需要医保经办机构凭证")
        return who

    Caller = Annotated[store.Caller, Depends(caller)]
    Agency = Annotated[store.Caller, Depends(agency)]

    async def run_import(who: store.Caller, list_name: str, rows: list[dict], source: str, file_name: str | None,
                         unknown: list[str], ignored: list[int] | None = None) -> dict:
        async with runtime.pool.acquire() as conn, conn.transaction():
            result, outgoing = await imports.run(conn, who, list_name, rows, source, file_name, unknown, utcnow())
            await add_to_outbox(conn, outgoing, **outbox_args)
        return {**result, "ignored_lines": ignored or []}

    @router.post("/baseline", responses=problems(400, 401, 403, 422))
    async def import_baseline(body: BaselineImport, who: Agency) -> dict:
        rows = [{"line_no": i, **p.model_dump()} for i, p in enumerate(body.people, start=1)]
        return await run_import(who, "household", rows, body.source, None, [])

    @router.post("/employee-roster", responses=problems(400, 401, 403, 422))
    async def import_roster(body: RosterImport, who: Agency) -> dict:
        rows = [{"line_no": i, **p.model_dump()} for i, p in enumerate(body.people, start=1)]
        return await run_import(who, "employee", rows, body.source, None, [])

    @router.post("/baseline/file", responses=problems(400, 401, 403, 422))
    async def import_file(who: Agency, file: UploadFile = File(...),
                          list_name: Literal["household", "employee"] = Form("household"),
                          source: Annotated[PlainText | None, Form()] = None) -> dict:
        from services.enrollment import sheets
        # The file's name and headers are kept with the import, not judged: made storable (a NUL is not).
        file_name = visible(file.filename or "upload")
        try:
            sheet = sheets.read(await file.read(), file_name)
        except SheetError as e:
            raise HTTPException(422, str(e)) from None
        default = "public_security" if list_name == "household" else "employee_insurance"
        return await run_import(who, list_name, sheet.rows, source or default, file_name,
                                [visible(h) for h in sheet.unknown_headers], sheet.ignored_lines)

    @router.post("/enrollments", responses=problems(400, 401, 422))
    async def register(body: Registration, who: Caller) -> dict:
        answers = await register_many([body], who)
        answer = answers[0]
        if answer["outcome"] == "refused":
            raise HTTPException(422, answer)
        return answer

    @router.post("/enrollments/bulk", responses=problems(400, 401, 422))
    async def register_bulk(body: BulkRegistration, who: Caller) -> dict:
        answers = await register_many(body.registrations, who)
        refused = sum(a["outcome"] == "refused" for a in answers)
        return {"total": len(answers), "registered": sum(a["outcome"] == "registered" for a in answers),
                "already": sum(a["outcome"] == "already" for a in answers), "refused": refused, "results": answers}

    async def register_many(items: list[Registration], who: store.Caller) -> list[dict]:
        now = utcnow()
        today = events.today_in(now)
        requests = [registrations.request_of(r.model_dump(), who.region, today) for r in items]
        async with runtime.pool.acquire() as conn, conn.transaction():
            answers, outgoing = await registrations.run(conn, requests, who, now)
            await add_to_outbox(conn, outgoing, **outbox_args)
        return answers

    @router.post("/enrollments/end", responses=problems(400, 401, 404, 409, 422))
    async def end_enrollment(body: Ending, who: Caller) -> dict:
        now = utcnow()
        async with runtime.pool.acquire() as conn, conn.transaction():
            row = await _one(conn, body.id, who.region, body.year)
            if row["state"] == "ended":
                raise HTTPException(409, f"{body.year}年度参保已于{row['ended_on']}终止")
            lifecycle.end(row, body.reason, body.ended_on)
            await store.save_enrollments(conn, [row], now)
            await add_to_outbox(conn, [events.ended(row, now)], **outbox_args)
        return {"person": mask(body.id), "year": body.year, "state": "ended", "ended_on": body.ended_on,
                "reason": body.reason}

    @router.post("/refunds", responses=problems(400, 401, 404, 409, 422))
    async def request_refund(body: RefundRequest, who: Caller) -> dict:
        now = utcnow()
        requested_on = body.requested_on or events.today_in(now)
        if requested_on > events.today_in(now):
            raise HTTPException(422, f"申请日期{requested_on}晚于今天")
        async with runtime.pool.acquire() as conn, conn.transaction():
            row = await _one(conn, body.id, who.region, body.year)
            if row["state"] not in lifecycle.PAID_STATES:
                raise HTTPException(409, f"{body.year}年度参保状态为{row['state']}，没有可退的缴费")
            refund, outgoing = await cases.request_refund(conn, row, body.reason.value, requested_on, who.holder, now)
            await store.save_enrollments(conn, [row], now)
            await add_to_outbox(conn, outgoing, **outbox_args)
        return {"person": mask(body.id), "year": body.year, "refund_id": str(refund["id"]),
                "approved": refund["approved"], "amount_fen": refund["amount_fen"],
                "explanation": refund["explanation"], "state": row["state"]}

    @router.post("/coverage/advance", responses=problems(400, 401, 403, 422))
    async def advance(body: Advance, who: Agency) -> dict:
        now = utcnow()
        as_of = body.as_of or events.today_in(now)
        async with runtime.pool.acquire() as conn, conn.transaction():
            rows = [r for r in await store.coverable(conn, who.region, as_of) if lifecycle.coverable(r, as_of)]
            for row in rows:
                row.update(state="covered", covered_on=as_of)
            await store.save_enrollments(conn, rows, now)
            await add_to_outbox(conn, [events.covered(r, now) for r in rows], **outbox_args)
        return {"region": who.region, "as_of": as_of, "covered": len(rows)}

    @router.post("/person-record", responses=problems(400, 401, 404, 422))
    async def person_record(body: PersonLookup, who: Caller) -> dict:
        async with runtime.pool.acquire() as conn:
            record = await store.person_record(conn, body.id, who.region)
        if not any(record.values()):
            raise HTTPException(404, f"本统筹区查无此人：{mask(body.id)}")
        return {"person": mask(body.id), "region": who.region, **record}

    async def _one(conn, person_id: str, region: str, year: int) -> dict:
        rows = await store.enrollments_of(conn, [person_id], [year], for_update=True)
        row = rows.get((person_id, region, year))
        if row is None:
            raise HTTPException(404, f"本统筹区没有{mask(person_id)}的{year}年度参保记录")
        return row

    return router
