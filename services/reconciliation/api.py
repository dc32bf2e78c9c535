"""HTTP API of reconciliation: runs, discrepancies, imports, progress, exports, and the ops console.

Resident IDs travel only in request bodies (person lookup), never in a URL, and
every answer shows them masked. Every route but `/api/progress` needs a credential
of the region (see `access`); imports, runs and resolutions need the clerk role.
`/api/progress` keeps the walking skeleton's `villages` (paid people and fen per
village) and adds the full figures beside it.
"""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from typing import Annotated, Literal
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from services.reconciliation import access, console, reports, store, tables
from services.reconciliation.domain import files
from services.reconciliation.domain.exports import to_csv, to_xlsx
from services.reconciliation.runs import run_reconciliation, take_snapshot
from services.reconciliation.scheduler import daily
from shared.access import Authenticator
from shared.api_contract import CONTROL, IsoDate, PlainText, problems
from shared.api_contract import Year as YearNumber
from shared.messages.envelope import ResidentIdStr
from shared.resident_id import mask
from shared.runtime import Runtime
from shared.uow import utcnow

Region = Query(pattern=r"^\d{6}$", description="6-digit pooling region code.", examples=["340321"])
Year = Query(ge=2000, le=2100, description="Coverage year.")


def csv_body(example: str) -> dict:
    """The imports read the raw body (CSV, UTF-8 or GBK) themselves: declared so clients and fuzzers send one."""
    return {"requestBody": {"required": True, "description": "The file as exported: CSV text, UTF-8 or GBK.",
                            "content": {"text/csv": {"schema": {"type": "string"}, "example": example}}}}


SETTLEMENT_EXAMPLE = ("settlement_ref,settled_on,region,channel,pay_date,receipt_no,amount\n"
                      "S20241002,2024-10-02,340321,wechat,2024-10-01,R0001,400.00\n")
DEPOSITS_EXAMPLE = ("agent_id,line_ref,region,year,person_id,amount,collected_on,deposited_on\n"
                    "A001,L1,340321,2025,34032119800101001X,400,2024-10-01,2024-10-02\n")
TARGETS_EXAMPLE = "region,year,township,target_people\n340321,2025,榴城镇,1200\n"


class RunRequest(BaseModel):
    region: str = Field(pattern=r"^\d{6}$", examples=["340321"])
    year: YearNumber | None = Field(None, description="Default: the campaign year.")
    day: IsoDate | None = Field(None, description="Business day; default: today in the service's time zone.")


class Resolution(BaseModel):
    note: PlainText = Field(min_length=1, max_length=2000, description="What was done (处理说明).")
    by: PlainText | None = Field(None, max_length=100, description="Who resolved it; default: the credential's holder.")


class PersonLookup(BaseModel):
    id: ResidentIdStr


async def _csv_body(request: Request, max_bytes: int) -> str:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:  # refused before the body is read into memory
        raise HTTPException(413, "文件过大：请按银行和日期分开上传")
    raw = await request.body()
    if len(raw) > max_bytes:
        raise HTTPException(413, "文件过大：请按银行和日期分开上传")
    for encoding in ("utf-8-sig", "gb18030"):  # banks' exports are often GBK
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise HTTPException(422, "文件不是 UTF-8 或 GBK 编码的文本")
    if not text.strip():  # was recorded as an import of 0 lines, then "already imported" (found by schemathesis)
        raise HTTPException(422, "文件为空：请上传导出的 CSV 文件（第1行为列名）")
    # The file is kept as sent, and PostgreSQL text cannot hold a NUL (one made the import a 500).
    found = CONTROL.search(text)
    if found:
        line = text.count("\n", 0, found.start()) + 1
        raise HTTPException(422, f"文件第{line}行含有控制字符（U+{ord(found.group()):04X}），不是银行或代办点导出的文本："
                                 "请重新导出后上传")
    return text


def _parse(reader, text: str, region: str) -> files.Parsed:
    try:
        return files.keep_region(reader(text), region)
    except files.LineError as err:
        raise HTTPException(422, str(err)) from None


def api(runtime: Runtime) -> APIRouter:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(daily(runtime), name="reconciliation-daily") \
            if runtime.settings.schedule_enabled else None
        try:
            yield
        finally:
            if task:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

    router = APIRouter(tags=["reconciliation"], lifespan=lifespan)
    settings = runtime.settings
    # shared.access: the token from the Bearer header or the console's cookie, checked in PostgreSQL on every
    # request (no cache: a revoked credential stops at once); the scheme is declared in the OpenAPI document.
    caller = Authenticator(lambda: runtime.pool, cookie=access.COOKIE)

    # (No `from __future__ import annotations` in this module: FastAPI must see this local alias itself.)
    Who = Annotated[access.Caller, Depends(caller)]

    def today() -> date:
        return utcnow().astimezone(ZoneInfo(settings.timezone)).date()

    @router.get("/progress", responses=problems(422))
    async def progress(region: str = Region, year: int = Year) -> dict:
        async with runtime.pool.acquire() as conn:
            legacy = await store.legacy_paid_villages(conn, region, year)
            full = await reports.progress(conn, region, year)
        return {"region": region, "year": year,
                "villages": [{"township": r["township"], "village": r["village"], "paid_people": r["paid_people"],
                              "paid_fen": int(r["paid_fen"] or 0)} for r in legacy],
                "progress": full}

    @router.get("/progress/snapshots", responses=problems(401, 403, 422))
    async def snapshots(who: Who, region: str = Region, year: int = Year) -> dict:
        who.check(region)
        async with runtime.pool.acquire() as conn:
            rows = await store.snapshots(conn, region, year)
        return {"region": region, "year": year, "weeks": [
            {**dict(r), "week": r["week"].isoformat(), "paid_fen": int(r["paid_fen"])} for r in rows]}

    @router.post("/progress/snapshots", responses=problems(401, 403, 422))
    async def snapshot(who: Who, region: str = Region, year: int = Year) -> dict:
        who.check(region, "clerk")
        async with runtime.pool.acquire() as conn, conn.transaction():
            rows = await take_snapshot(conn, region, year, today(), utcnow())
        return {"region": region, "year": year, "villages": len(rows)}

    @router.get("/vulnerable", responses=problems(401, 403, 422))
    async def vulnerable(who: Who, region: str = Region, year: int = Year) -> dict:
        who.check(region)
        async with runtime.pool.acquire() as conn:
            return {"region": region, "year": year, **await reports.vulnerable(conn, region, year)}

    @router.get("/transfers", responses=problems(401, 403, 422))
    async def transfers(who: Who, region: str = Region, year: int = Year) -> dict:
        who.check(region)
        async with runtime.pool.acquire() as conn:
            return {"region": region, "year": year, **await reports.transfers(conn, region, year)}

    @router.get("/refunds", responses=problems(401, 403, 422))
    async def refunds(who: Who, region: str = Region, year: int = Year) -> dict:
        who.check(region)
        async with runtime.pool.acquire() as conn:
            return {"region": region, "year": year, **await reports.refunds(conn, region, year)}

    @router.post("/runs", responses=problems(400, 401, 403, 422))
    async def run(who: Who, body: RunRequest) -> dict:
        who.check(body.region, "clerk")
        async with runtime.pool.acquire() as conn:
            return await run_reconciliation(conn, settings, region=body.region, year=body.year or settings.campaign_year,
                                            day=body.day or today(), trigger=f"http:{who.holder}", now=utcnow())

    @router.get("/runs", responses=problems(401, 403, 422))
    async def list_runs(who: Who, region: str = Region, year: int = Year) -> dict:
        who.check(region)
        async with runtime.pool.acquire() as conn:
            rows = await store.runs(conn, region, year)
        return {"runs": [{"run_id": r["id"], "day": r["day"].isoformat(), "trigger": r["trigger"], "found": r["found"],
                          "new": r["new"], "counts": r["counts"], "fingerprint": r["fingerprint"],
                          "finished_at": r["finished_at"].isoformat()} for r in rows]}

    @router.get("/discrepancies", responses=problems(401, 403, 422))
    async def discrepancies(who: Who, region: str = Region, year: int = Year,
                            status: Literal["open", "resolved", "all"] = "open", kind: PlainText | None = None,
                            limit: int = Query(10_000, ge=1, le=100_000)) -> dict:
        who.check(region)
        async with runtime.pool.acquire() as conn:
            rows = await store.discrepancies(conn, region, year, status=None if status == "all" else status,
                                             kind=kind, limit=limit)
        return {"region": region, "year": year, "discrepancies": [reports.discrepancy_json(r) for r in rows]}

    @router.post("/discrepancies/{discrepancy_id}/resolve", responses=problems(400, 401, 403, 404, 422))
    async def resolve(who: Who, discrepancy_id: UUID, body: Resolution) -> dict:
        async with runtime.pool.acquire() as conn:
            region = await conn.fetchval("SELECT region FROM discrepancy WHERE id = $1", discrepancy_id)
            if region is None:
                raise HTTPException(404, f"没有编号为{discrepancy_id}的差异")
            who.check(region, "clerk")
            row = await store.resolve(conn, discrepancy_id, body.note, body.by or who.holder, utcnow())
        return reports.discrepancy_json(row)

    @router.post("/imports/bank-settlement", responses=problems(401, 403, 413, 422), openapi_extra=csv_body(SETTLEMENT_EXAMPLE))
    async def import_bank(who: Who, request: Request, bank: Annotated[PlainText, Query(min_length=1, max_length=60)],
                          name: Annotated[PlainText, Query(max_length=200)] = "settlement.csv") -> dict:
        who.check(who.region, "clerk")
        text = await _csv_body(request, settings.upload_max_bytes)
        parsed = _parse(files.read_settlement, text, who.region)
        async with runtime.pool.acquire() as conn, conn.transaction():
            return await store.import_settlement(conn, bank, name, text, parsed, utcnow())

    @router.post("/imports/agent-deposits", responses=problems(401, 403, 413, 422), openapi_extra=csv_body(DEPOSITS_EXAMPLE))
    async def import_deposits(who: Who, request: Request,
                              name: Annotated[PlainText, Query(max_length=200)] = "deposits.csv") -> dict:
        who.check(who.region, "clerk")
        text = await _csv_body(request, settings.upload_max_bytes)
        parsed = _parse(files.read_agent_deposits, text, who.region)
        async with runtime.pool.acquire() as conn, conn.transaction():
            return await store.import_agent_deposits(conn, name, text, parsed, utcnow())

    @router.post("/imports/targets", responses=problems(401, 403, 413, 422), openapi_extra=csv_body(TARGETS_EXAMPLE))
    async def import_targets(who: Who, request: Request,
                             name: Annotated[PlainText, Query(max_length=200)] = "targets.csv") -> dict:
        who.check(who.region, "clerk")
        text = await _csv_body(request, settings.upload_max_bytes)
        parsed = _parse(files.read_targets, text, who.region)
        async with runtime.pool.acquire() as conn, conn.transaction():
            return await store.import_targets(conn, name, text, parsed, utcnow())

    @router.get("/exports/{name}.{fmt}", responses={
        200: {"description": "The table as CSV or Excel", "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":
                {"schema": {"type": "string", "format": "binary"}}}},
        **problems(401, 403, 404, 422)})
    async def export(who: Who, name: str, fmt: Literal["csv", "xlsx"], region: str = Region,
                     year: int = Year) -> Response:
        who.check(region)
        if name not in tables.TABLES:
            raise HTTPException(404, f"没有“{name}”这张表（可用：{'、'.join(tables.TABLES)}）")
        async with runtime.pool.acquire() as conn:
            title, header, rows = await tables.table(conn, name, region, year)
        filename = f"{name}-{region}-{year}.{fmt}"
        if fmt == "csv":
            return Response(to_csv(header, rows), media_type="text/csv; charset=utf-8",
                            headers={"Content-Disposition": f'attachment; filename="{filename}"'})
        return Response(to_xlsx(title, header, rows),
                        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"Content-Disposition": f'attachment; filename="{filename}"'})

    @router.post("/person", responses=problems(400, 401, 404, 422))
    async def person(who: Who, body: PersonLookup) -> dict:
        async with runtime.pool.acquire() as conn:
            view = await store.person_view(conn, body.id, who.region)
        if view is None:
            raise HTTPException(404, f"本统筹区查无此人：{mask(body.id)}")
        return {"person": mask(body.id), **view}  # the view holds no full ID: details are masked

    router.include_router(console.router(runtime, today))
    return router
