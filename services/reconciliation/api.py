"""HTTP API of reconciliation: runs, discrepancies, imports, progress, exports, and the ops console.

Each route translates the request, calls one use case (`usecases`) in a unit of work and
translates the answer. Resident IDs travel only in request bodies (person lookup), never
in a URL, and every answer shows them masked. Every route but `/api/progress` needs a
credential of the region (see `access`); imports, runs and resolutions need the clerk role.
`/api/progress` answers paid people and fen per village (`villages`) and the full figures beside them.
"""

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from services.reconciliation import console, console_city, console_policy, console_season, season_api, usecases
from services.reconciliation.domain.errors import NotFound
from services.reconciliation.domain.exports import MEDIA_TYPES
from services.reconciliation.domain.files import LineError, decode
from services.reconciliation.scheduler import lifespan
from services.reconciliation.uploads import settings_of, upload
from shared.access import Caller
from shared.api_contract import CONTROL, IsoDate, PlainText, problems
from shared.api_contract import Year as YearNumber
from shared.http import CALLER, RUNTIME
from shared.messages.envelope import ResidentIdStr
from shared.resident_id import mask
from shared.runtime import Runtime
from shared.uow import UnitOfWork

Region = Query(pattern=r"^\d{6}$", description="6-digit pooling region code.", examples=["340321"])
Year = Query(ge=2000, le=2100, description="Coverage year.")
Who = Annotated[Caller, CALLER]


def csv_body(example: str) -> dict[str, Any]:
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


router = APIRouter(tags=["reconciliation"], lifespan=lifespan)


async def _csv_body(request: Request, max_bytes: int) -> str:
    text = decode(await upload(request, max_bytes, "文件过大：请按银行和日期分开上传"))
    if text is None:
        raise HTTPException(422, "文件不是 UTF-8 或 GBK 编码的文本")
    if not text.strip():  # an empty file would be recorded as an import of 0 lines
        raise HTTPException(422, "文件为空：请上传导出的 CSV 文件（第1行为列名）")
    # The file is kept as sent, and PostgreSQL text cannot hold a NUL.
    found = CONTROL.search(text)
    if found:
        line = text.count("\n", 0, found.start()) + 1
        raise HTTPException(422, f"文件第{line}行含有控制字符（U+{ord(found.group()):04X}），不是银行或代办点导出的文本："
                                 "请重新导出后上传")
    return text


@router.get("/progress", responses=problems(422))
async def progress(runtime: Runtime = RUNTIME, region: str = Region, year: int = Year) -> dict:
    async with runtime.unit_of_work() as uow:
        villages = await usecases.paid_per_village(uow, region, year)
        full = await usecases.progress(uow, region, year)
    return {"region": region, "year": year, "villages": villages, "progress": full}


@router.get("/progress/snapshots", responses=problems(401, 403, 422))
async def snapshots(who: Who, runtime: Runtime = RUNTIME, region: str = Region, year: int = Year) -> dict:
    who.check(region)
    async with runtime.unit_of_work() as uow:
        return {"region": region, "year": year, "weeks": await usecases.weekly_snapshots(uow, region, year)}


@router.post("/progress/snapshots", responses=problems(401, 403, 422))
async def snapshot(who: Who, runtime: Runtime = RUNTIME, region: str = Region, year: int = Year) -> dict:
    who.check(region, "clerk")
    async with runtime.unit_of_work() as uow:
        villages = await usecases.take_snapshot(uow, settings_of(runtime), region=region, year=year)
    return {"region": region, "year": year, "villages": len(villages)}


@router.get("/vulnerable", responses=problems(401, 403, 422))
async def vulnerable(who: Who, runtime: Runtime = RUNTIME, region: str = Region, year: int = Year) -> dict:
    who.check(region)
    async with runtime.unit_of_work() as uow:
        return {"region": region, "year": year, **await usecases.vulnerable(uow, region, year)}


@router.get("/transfers", responses=problems(401, 403, 422))
async def transfers(who: Who, runtime: Runtime = RUNTIME, region: str = Region, year: int = Year) -> dict:
    who.check(region)
    async with runtime.unit_of_work() as uow:
        return {"region": region, "year": year, **await usecases.transfers(uow, region, year)}


@router.get("/refunds", responses=problems(401, 403, 422))
async def refunds(who: Who, runtime: Runtime = RUNTIME, region: str = Region, year: int = Year) -> dict:
    who.check(region)
    async with runtime.unit_of_work() as uow:
        return {"region": region, "year": year, **await usecases.refunds_owed(uow, region, year)}


@router.post("/runs", responses=problems(400, 401, 403, 422))
async def run(who: Who, body: RunRequest, runtime: Runtime = RUNTIME) -> dict:
    who.check(body.region, "clerk")
    async with runtime.unit_of_work() as uow:
        return await usecases.run_reconciliation(uow, settings_of(runtime), region=body.region, year=body.year,
                                                 day=body.day, trigger=f"http:{who.holder}")


@router.get("/runs", responses=problems(401, 403, 422))
async def list_runs(who: Who, runtime: Runtime = RUNTIME, region: str = Region, year: int = Year) -> dict:
    who.check(region)
    async with runtime.unit_of_work() as uow:
        return {"runs": await usecases.list_runs(uow, region, year)}


@router.get("/discrepancies", responses=problems(401, 403, 422))
async def discrepancies(who: Who, runtime: Runtime = RUNTIME, region: str = Region, year: int = Year,
                        status: Literal["open", "resolved", "all"] = "open", kind: PlainText | None = None,
                        limit: int = Query(10_000, ge=1, le=100_000)) -> dict:
    who.check(region)
    async with runtime.unit_of_work() as uow:
        found = await usecases.list_discrepancies(uow, region, year, status=None if status == "all" else status,
                                                  kind=kind, limit=limit)
    return {"region": region, "year": year, "discrepancies": found}


@router.post("/discrepancies/{discrepancy_id}/resolve", responses=problems(400, 401, 403, 404, 422))
async def resolve(who: Who, discrepancy_id: UUID, body: Resolution, runtime: Runtime = RUNTIME) -> dict:
    try:
        async with runtime.unit_of_work() as uow:
            return await usecases.resolve_discrepancy(uow, discrepancy_id, note=body.note, by=body.by or who.holder,
                                                      authorize=lambda region: who.check(region, "clerk"))
    except NotFound as err:
        raise HTTPException(404, str(err)) from None


async def _import_csv(request: Request, runtime: Runtime, who: Caller,
                      importer: Callable[[UnitOfWork, str], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
    """What every file import does around its use case: a clerk only, the body read within the size bound,
    one unit of work, a bad line answered 422 with where and why."""
    who.check(who.region, "clerk")
    text = await _csv_body(request, settings_of(runtime).upload_max_bytes)
    try:
        async with runtime.unit_of_work() as uow:
            return await importer(uow, text)
    except LineError as err:
        raise HTTPException(422, str(err)) from None


@router.post("/imports/bank-settlement", responses=problems(401, 403, 413, 422), openapi_extra=csv_body(SETTLEMENT_EXAMPLE))
async def import_bank(who: Who, request: Request, bank: Annotated[PlainText, Query(min_length=1, max_length=60)],
                      name: Annotated[PlainText, Query(max_length=200)] = "settlement.csv",
                      runtime: Runtime = RUNTIME) -> dict:
    return await _import_csv(request, runtime, who, lambda uow, text: usecases.import_bank_file(
        uow, bank=bank, name=name, text=text, region=who.region))


@router.post("/imports/agent-deposits", responses=problems(401, 403, 413, 422), openapi_extra=csv_body(DEPOSITS_EXAMPLE))
async def import_deposits(who: Who, request: Request,
                          name: Annotated[PlainText, Query(max_length=200)] = "deposits.csv",
                          runtime: Runtime = RUNTIME) -> dict:
    return await _import_csv(request, runtime, who, lambda uow, text: usecases.import_agent_deposits(
        uow, name=name, text=text, region=who.region))


@router.post("/imports/targets", responses=problems(401, 403, 413, 422), openapi_extra=csv_body(TARGETS_EXAMPLE))
async def import_targets(who: Who, request: Request,
                         name: Annotated[PlainText, Query(max_length=200)] = "targets.csv",
                         runtime: Runtime = RUNTIME) -> dict:
    return await _import_csv(request, runtime, who, lambda uow, text: usecases.import_targets(
        uow, name=name, text=text, region=who.region))


@router.get("/exports/{name}.{fmt}", responses={
    200: {"description": "The table as CSV or Excel", "content": {
        "text/csv": {"schema": {"type": "string"}},
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":
            {"schema": {"type": "string", "format": "binary"}}}},
    **problems(401, 403, 404, 422)})
async def export(who: Who, name: str, fmt: Literal["csv", "xlsx"], runtime: Runtime = RUNTIME, region: str = Region,
                 year: int = Year) -> Response:
    who.check(region)
    try:
        async with runtime.unit_of_work() as uow:
            table = await usecases.export_table(uow, name, region, year)
    except NotFound as err:
        raise HTTPException(404, str(err)) from None
    return Response(table.as_file(fmt), media_type=MEDIA_TYPES[fmt],
                    headers={"Content-Disposition": f'attachment; filename="{name}-{region}-{year}.{fmt}"'})


@router.post("/person", responses=problems(400, 401, 404, 422))
async def person(who: Who, body: PersonLookup, runtime: Runtime = RUNTIME) -> dict:
    try:
        async with runtime.unit_of_work() as uow:
            view = await usecases.person_record(uow, body.id, who.region)
    except NotFound as err:
        raise HTTPException(404, str(err)) from None
    return {"person": mask(body.id), **view}


router.include_router(console.router)
router.include_router(console_policy.router)
router.include_router(season_api.router)
router.include_router(console_season.router)
router.include_router(console_city.router)
