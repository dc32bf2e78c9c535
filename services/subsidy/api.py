"""HTTP API of the subsidy service: quotes for the tax gateway, the subsidy ledger, refund orders.

Every call carries `Authorization: Bearer <credential>` (shared.access); a credential
belongs to one region and one role (access.py): tax_gateway may only quote; viewer may
also read the ledger, totals and refunds; refund_clerk may also move refunds.

Everything a call reads is its region's: a person's answer comes only from rows of the
caller's region (a person of another region is 403 when the ID's own region is not the
caller's, else 404 as if unknown), another region's totals or refund search are 403, and
another region's refund is 404, exactly as one that does not exist. Resident IDs travel
only in request bodies (never in URLs) and come back masked.
The quote is answered from Redis; a cold cache falls back to PostgreSQL and warms
the cache for the next ask. Verified credentials are cached in process
(`credential_cache_s`), so authentication adds no database round trip to a quote.

The routes only translate: body and caller in, one use case (usecases.py) called, its
answer or its error (`http_errors`) out.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal
from uuid import UUID

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field, ValidationError

from services.subsidy import console, usecases
from services.subsidy.access import REFUND_CLERK, ROLES, TAX_GATEWAY, VIEWER
from services.subsidy.cache import DueCache
from services.subsidy.domain.refunds import RefundStepRefused, Refusal
from services.subsidy.views import line_body, refund_body, step_body
from shared.access import Caller
from shared.api_contract import IsoDate, PlainText, Year, problems
from shared.http import RUNTIME, authenticator_of, role, runtime_of
from shared.messages.envelope import RegionCode, ResidentIdStr
from shared.resident_id import mask
from shared.runtime import Runtime

__all__ = ["REFUND_CLERK", "ROLES", "TAX_GATEWAY", "VIEWER", "router"]

REFUSAL_STATUS = {Refusal.UNKNOWN_STATE: 422, Refusal.CONFLICT: 409, Refusal.NOT_YOURS: 403}

router = APIRouter(tags=["subsidy"])
READER = role(VIEWER, REFUND_CLERK, refused="税务征收端（tax_gateway）凭证只能查询应缴额；台账和退费单需要查看或退费经办凭证")
CLERK = role(REFUND_CLERK, refused="变更退费单需要退费经办（refund_clerk）凭证：查看和税务征收端凭证不能办理")


class QuoteRequest(BaseModel):
    id: ResidentIdStr
    year: Year = Field(examples=[2025])
    paid_on: IsoDate | None = Field(None, description="Quote for a payment on this day (China): the rules of that "
                                    "day with everything known of the person — a later path, a surcharge, a subsidy "
                                    "lost after the period. Without it: the assessed due (cached).")


class RefundSearch(BaseModel):
    id: ResidentIdStr | None = None
    region: RegionCode | None = None
    year: Year | None = None
    township: PlainText | None = Field(None, max_length=60)
    state: Literal["ordered", "paid", "confirmed"] | None = None


class RefundStep(BaseModel):
    to: str = Field(description="paid (the township paid the person) or confirmed (the agency checked it).",
                    examples=["paid"])
    actor: PlainText = Field(min_length=1, max_length=80, description="Who records the step (name or office).")
    township: PlainText | None = Field(None, max_length=60, description="The paying township: must be the order's own.")
    note: PlainText | None = Field(None, max_length=500)


@contextmanager
def http_errors(who: Caller) -> Iterator[None]:
    """The use cases' errors as HTTP answers (what is said of a person never tells of other regions' rows)."""
    try:
        yield
    except usecases.NotInRegion as err:
        if err.foreign:
            raise HTTPException(403, f"无权查询：{mask(err.person_id)} 的身份证号不属于统筹区{who.region}，"
                                     f"本统筹区也没有此人{err.year}年度的记录") from None
        raise HTTPException(404, f"{mask(err.person_id)} 在统筹区{who.region}尚无{err.year}年度核定应缴额"
                                 f"（未收到参保登记或身份认定）") from None
    except usecases.Unassessable as err:
        raise HTTPException(422, f"{mask(err.person_id)} {err.year}年度无法核定应缴额：{err.reason}") from None
    except usecases.UnknownRefund as err:
        raise HTTPException(404, f"本统筹区没有编号为{err.refund_id}的退费单") from None
    except RefundStepRefused as err:
        raise HTTPException(REFUSAL_STATUS[err.kind], err.message) from None


@router.post("/quote", responses=problems(400, 401, 403, 404, 422), openapi_extra={
    "security": [{"HTTPBearer": []}],
    "requestBody": {"required": True, "content": {"application/json": {"schema": QuoteRequest.model_json_schema()}}}})
async def quote(request: Request) -> Response:
    """How much this person owes for the year, and why (a person of the caller's region only; any role).

    The hot path of the tax gateway: no dependency injection (the credential is checked by a direct
    call, from the in-process cache), the body is validated by pydantic-core directly and the
    cached JSON object is spliced into the answer as it is, not re-encoded."""
    who = await authenticator_of(request).of(request)
    try:
        body = QuoteRequest.model_validate_json(await request.body())
    except ValidationError as err:
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])}  # where, as for the other routes
                                      for e in err.errors(include_url=False, include_input=False)]) from None
    runtime = runtime_of(request)
    if body.paid_on is not None:
        with http_errors(who):
            dated = await usecases.quote_on(runtime.reading_replica, body.id, body.year, who.region, body.paid_on)
        return JSONResponse({"person": mask(body.id), "source": "rules", **dated})
    with http_errors(who):
        found = await usecases.quote(runtime.reading_replica, DueCache.of(runtime), body.id, body.year, who.region)
    if found.cached is not None:
        head = json.dumps({"person": mask(body.id), "source": "cache"}, ensure_ascii=False)[:-1]
        return Response(f"{head}, {found.cached[1:]}", media_type="application/json")
    return JSONResponse({"person": mask(body.id), "source": "database", **(found.due or {})})


@router.post("/ledger/person", responses=problems(400, 401, 403, 422))
async def person_ledger(body: QuoteRequest, runtime: Runtime = RUNTIME, who: Caller = READER) -> dict:
    """The subsidy lines of one person and year (status, funding source, mode, amount) in the caller's region."""
    with http_errors(who):
        async with runtime.reading_replica() as uow:
            lines = await usecases.person_lines(uow, body.id, body.year, who.region)
    return {"person": mask(body.id), "year": body.year, "lines": [line_body(r) for r in lines]}


@router.get("/ledger/totals", responses=problems(401, 403, 422))
async def ledger_totals(region: str = Query(pattern=r"^\d{6}$", examples=["340321"]), year: int = Query(ge=2000, le=2100),
                        runtime: Runtime = RUNTIME, who: Caller = READER) -> dict:
    """Subsidy totals per township, funding source and mode: what each fund owes the pool."""
    who.check(region)
    async with runtime.reading() as uow:
        rows = await usecases.ledger_totals(uow, region, year)
    return {"region": region, "year": year, "totals": [dict(r) for r in rows]}


@router.post("/refunds/search", responses=problems(400, 401, 403, 422))
async def refunds(body: RefundSearch, runtime: Runtime = RUNTIME, who: Caller = READER) -> dict:
    """Refund orders of the caller's region (a body naming another region is refused)."""
    who.check(body.region or who.region)
    async with runtime.reading() as uow:
        rows = await usecases.find_refunds(uow, person_id=body.id, region=who.region, year=body.year,
                                           township=body.township, state=body.state)
    return {"refunds": [refund_body(r) for r in rows]}


@router.get("/refunds/{refund_id:uuid}", responses=problems(401, 403, 404, 422))
async def refund(refund_id: UUID, runtime: Runtime = RUNTIME, who: Caller = READER) -> dict:
    with http_errors(who):
        async with runtime.reading() as uow:
            row, history = await usecases.refund(uow, who.region, refund_id)
    return {**refund_body(row), "history": [step_body(h) for h in history]}


@router.post("/refunds/{refund_id:uuid}/transitions", responses=problems(400, 401, 403, 404, 409, 422))
async def move(refund_id: UUID, body: RefundStep, runtime: Runtime = RUNTIME, who: Caller = CLERK) -> dict:
    """ordered → paid (by the order's township) → confirmed; each step kept with who and when, and audited."""
    step = usecases.RefundMove(to=body.to, actor=body.actor, township=body.township, note=body.note)
    with http_errors(who):
        async with runtime.unit_of_work() as uow:
            row = await usecases.move_refund(uow, who, refund_id, step)
    return refund_body(row)


router.include_router(console.router)  # 政策测算 (console.py): its own cookie, HTML, not in the OpenAPI document
