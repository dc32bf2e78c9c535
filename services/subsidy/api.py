"""HTTP API of the subsidy service: quotes for the tax gateway, the subsidy ledger, refund orders.

Every call carries `Authorization: Bearer <credential>` (shared.access); a credential
belongs to one region and one role, named after who holds it:

- tax_gateway  (税务征收端): the quote only — "how much does this person owe for 2025 and why";
- viewer       (县乡医保、乡镇查看): the quote, a person's subsidy lines, ledger totals, refund
  search and detail;
- refund_clerk (乡镇财政所、医保经办退费经办): all a viewer may, and moving refunds
  (ordered → paid by the township → confirmed by the agency).

Everything a call reads is its region's: a person's answer comes only from rows of the
caller's region (a person of another region is 403 when the ID's own region is not the
caller's, else 404 as if unknown), another region's totals or refund search are 403, and
another region's refund is 404, exactly as one that does not exist. Resident IDs travel
only in request bodies (never in URLs) and come back masked.
The quote is answered from Redis; a cold cache falls back to PostgreSQL and warms
the cache for the next ask. Verified credentials are cached in process
(`credential_cache_s`), so authentication adds no database round trip to a quote.
"""
from __future__ import annotations

import json
from typing import Literal
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field, ValidationError

from services.subsidy import cache, store
from services.subsidy.domain.refunds import LABEL as STATE_LABEL
from services.subsidy.domain.refunds import RefundStepRefused, advance
from shared import audit
from shared.access import Authenticator, Caller, Roles
from shared.api_contract import PlainText, Year, problems
from shared.messages.envelope import RegionCode, ResidentIdStr
from shared.resident_id import mask
from shared.runtime import Runtime
from shared.uow import utcnow

TAX_GATEWAY, VIEWER, REFUND_CLERK = "tax_gateway", "viewer", "refund_clerk"
ROLES = Roles({TAX_GATEWAY: "税务征收端：只查询应缴额",
               VIEWER: "查看（县乡医保、乡镇）：应缴额、资助台账、合计、退费单",
               REFUND_CLERK: "退费经办（乡镇财政所、医保经办）：另可登记支付、确认退费"})


class QuoteRequest(BaseModel):
    id: ResidentIdStr
    year: Year = Field(examples=[2025])


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


def due_body(row) -> dict:
    return {"region": row["region"], "year": row["year"], "state": row["state"],
            "standard_fen": row["standard_fen"], "subsidy_fen": row["subsidy_fen"], "due_fen": row["due_fen"],
            "refund_after_fen": row["refund_after_fen"], "lines": row["lines"], "reasons": row["reasons"],
            "revision": row["revision"]}


def refund_body(row) -> dict:
    return {"refund_id": str(row["refund_id"]), "person": mask(row["person_id"]), "region": row["region"],
            "year": row["year"], "township": row["township"], "funding_source": row["funding_source"],
            "amount_fen": row["amount_fen"], "reason": row["reason"], "state": row["state"],
            "state_label": STATE_LABEL[row["state"]], "ordered_at": row["ordered_at"].isoformat(),
            "updated_at": row["updated_at"].isoformat()}


def not_in_region(person_id: str, year: int, who: Caller) -> HTTPException:
    """The answer for a person with no row of the caller's region: it says nothing of other regions' rows."""
    if person_id[:6] != who.region:
        return HTTPException(403, f"无权查询：{mask(person_id)} 的身份证号不属于统筹区{who.region}，"
                                  f"本统筹区也没有此人{year}年度的记录")
    return HTTPException(404, f"{mask(person_id)} 在统筹区{who.region}尚无{year}年度核定应缴额（未收到参保登记或身份认定）")


def cached_region(cached: str) -> str | None:
    """The region of a cached due (whose region the answer belongs to), None if the entry is unreadable."""
    try:
        return json.loads(cached).get("region")
    except (ValueError, AttributeError):  # not a JSON object: a miss, answered from PostgreSQL
        return None


def api(runtime: Runtime) -> APIRouter:
    router = APIRouter(tags=["subsidy"])
    prefix = runtime.settings.topic_prefix
    authenticate = Authenticator(lambda: runtime.pool, cache_s=runtime.settings.credential_cache_s)

    def role(*roles: str, refused: str):
        async def dependency(who: Caller = Depends(authenticate)) -> Caller:
            who.require(*roles, refused=refused)
            return who
        return Depends(dependency)

    reader = role(VIEWER, REFUND_CLERK, refused="税务征收端（tax_gateway）凭证只能查询应缴额；台账和退费单需要查看或退费经办凭证")
    clerk = role(REFUND_CLERK, refused="变更退费单需要退费经办（refund_clerk）凭证：查看和税务征收端凭证不能办理")

    @router.post("/quote", responses=problems(400, 401, 403, 404, 422), openapi_extra={
        "security": [{"HTTPBearer": []}],
        "requestBody": {"required": True, "content": {"application/json": {"schema": QuoteRequest.model_json_schema()}}}})
    async def quote(request: Request) -> Response:
        """How much this person owes for the year, and why (a person of the caller's region only; any role).

        The hot path of the tax gateway: no dependency injection (the credential is checked by a direct
        call, from the in-process cache), the body is validated by pydantic-core directly and the
        cached JSON object is spliced into the answer as it is, not re-encoded."""
        who = await authenticate.of(request)
        try:
            body = QuoteRequest.model_validate_json(await request.body())
        except ValidationError as err:
            raise RequestValidationError([{**e, "loc": ("body", *e["loc"])}  # where, as for the other routes
                                          for e in err.errors(include_url=False, include_input=False)]) from None
        cached = await cache.get_raw(runtime.redis, prefix, body.id, body.year)
        region = cached_region(cached) if cached is not None else None
        if region is not None:
            if region != who.region:
                raise not_in_region(body.id, body.year, who)
            head = json.dumps({"person": mask(body.id), "source": "cache"}, ensure_ascii=False)[:-1]
            return Response(f"{head}, {cached[1:]}", media_type="application/json")
        async with runtime.pool.acquire() as conn:
            row = await store.current_due(conn, body.id, body.year)
            problem = None if row else await store.unassessed(conn, body.id, body.year)
        found = row or problem
        if found is None or found["region"] != who.region:
            raise not_in_region(body.id, body.year, who)
        if problem is not None:
            raise HTTPException(422, f"{mask(body.id)} {body.year}年度无法核定应缴额：{problem['reason']}")
        answer = due_body(row)
        await cache.put(runtime.redis, prefix, body.id, body.year, answer)
        return JSONResponse({"person": mask(body.id), "source": "database", **answer})

    @router.post("/ledger/person", responses=problems(400, 401, 403, 422))
    async def person_ledger(body: QuoteRequest, who: Caller = reader) -> dict:
        """The subsidy lines of one person and year (status, funding source, mode, amount) in the caller's region."""
        async with runtime.pool.acquire() as conn:
            lines = await store.person_lines(conn, body.id, body.year, who.region)
        if not lines and body.id[:6] != who.region:
            raise not_in_region(body.id, body.year, who)
        return {"person": mask(body.id), "year": body.year, "lines": [
            {"category": r["category"], "funding_source": r["funding_source"], "mode": r["mode"],
             "amount_fen": r["amount_fen"], "township": r["township"]} for r in lines]}

    @router.get("/ledger/totals", responses=problems(401, 403, 422))
    async def ledger_totals(region: str = Query(pattern=r"^\d{6}$", examples=["340321"]), year: int = Query(ge=2000, le=2100),
                            who: Caller = reader) -> dict:
        """Subsidy totals per township, funding source and mode: what each fund owes the pool."""
        who.check(region)
        async with runtime.pool.acquire() as conn:
            rows = await store.line_totals(conn, region, year)
        return {"region": region, "year": year, "totals": [dict(r) for r in rows]}

    @router.post("/refunds/search", responses=problems(400, 401, 403, 422))
    async def refunds(body: RefundSearch, who: Caller = reader) -> dict:
        """Refund orders of the caller's region (a body naming another region is refused)."""
        who.check(body.region or who.region)
        async with runtime.pool.acquire() as conn:
            rows = await store.refund_orders(conn, person_id=body.id, region=who.region, year=body.year,
                                             township=body.township, state=body.state)
        return {"refunds": [refund_body(r) for r in rows]}

    def unknown_refund(refund_id: UUID) -> HTTPException:
        return HTTPException(404, f"本统筹区没有编号为{refund_id}的退费单")

    @router.get("/refunds/{refund_id:uuid}", responses=problems(401, 403, 404, 422))
    async def refund(refund_id: UUID, who: Caller = reader) -> dict:
        async with runtime.pool.acquire() as conn:
            row = await store.refund_order(conn, refund_id)
            if row is None or row["region"] != who.region:
                raise unknown_refund(refund_id)
            history = await store.refund_history(conn, refund_id)
        return {**refund_body(row), "history": [
            {"from": h["from_state"], "to": h["to_state"], "actor": h["actor"], "recorded_by": h["recorded_by"],
             "note": h["note"], "at": h["at"].isoformat()} for h in history]}

    @router.post("/refunds/{refund_id:uuid}/transitions", responses=problems(400, 401, 403, 404, 409, 422))
    async def move(refund_id: UUID, body: RefundStep, who: Caller = clerk) -> dict:
        """ordered → paid (by the order's township) → confirmed; each step kept with who and when, and audited."""
        async with runtime.pool.acquire() as conn, conn.transaction():
            row = await store.refund_order(conn, refund_id, for_update=True)
            if row is None or row["region"] != who.region:
                raise unknown_refund(refund_id)
            try:
                step = advance(row["state"], body.to, order_township=row["township"], actor_township=body.township)
            except RefundStepRefused as err:
                raise HTTPException(err.status, err.message) from None
            await store.move_refund(conn, refund_id, step.from_state, step.to_state, body.actor, body.note, utcnow(),
                                    recorded_by=who.holder)
            await audit.record(conn, actor=f"{who.role}/{who.region}/{who.holder}", action="refund.moved",
                               subject=f"refund:{refund_id}",
                               detail={"from": step.from_state, "to": step.to_state, "actor": body.actor})
            row = await store.refund_order(conn, refund_id)
        return refund_body(row)

    return router
