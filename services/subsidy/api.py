"""HTTP API of the subsidy service: quotes for the tax gateway, the subsidy ledger, refund orders.

Resident IDs travel only in request bodies (never in URLs) and come back masked.
The quote is answered from Redis; a cold cache falls back to PostgreSQL and warms
the cache for the next ask.
"""
from __future__ import annotations

import json
from typing import Literal
from uuid import UUID

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field, ValidationError

from services.subsidy import cache, store
from services.subsidy.domain.refunds import LABEL as STATE_LABEL
from services.subsidy.domain.refunds import RefundStepRefused, advance
from shared.messages.envelope import RegionCode, ResidentIdStr
from shared.resident_id import mask
from shared.runtime import Runtime, utcnow


class QuoteRequest(BaseModel):
    id: ResidentIdStr
    year: int = Field(ge=2000, le=2100, examples=[2025])


class RefundSearch(BaseModel):
    id: ResidentIdStr | None = None
    region: RegionCode | None = None
    year: int | None = Field(None, ge=2000, le=2100)
    township: str | None = None
    state: Literal["ordered", "paid", "confirmed"] | None = None


class RefundStep(BaseModel):
    to: str = Field(description="paid (the township paid the person) or confirmed (the agency checked it).",
                    examples=["paid"])
    actor: str = Field(min_length=1, max_length=80, description="Who records the step (name or office).")
    township: str | None = Field(None, description="The paying township: must be the order's own.")
    note: str | None = Field(None, max_length=500)


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


def api(runtime: Runtime) -> APIRouter:
    router = APIRouter(tags=["subsidy"])
    prefix = runtime.settings.topic_prefix

    @router.post("/quote", openapi_extra={"requestBody": {"required": True, "content": {
        "application/json": {"schema": QuoteRequest.model_json_schema()}}}})
    async def quote(request: Request) -> Response:
        """How much this person owes for the year, and why.

        The hot path of the tax gateway: the body is validated by pydantic-core directly and the
        cached JSON object is spliced into the answer as it is, not parsed and re-encoded."""
        try:
            body = QuoteRequest.model_validate_json(await request.body())
        except ValidationError as err:
            raise RequestValidationError(err.errors(include_url=False, include_input=False)) from None
        cached = await cache.get_raw(runtime.redis, prefix, body.id, body.year)
        if cached is not None:
            head = json.dumps({"person": mask(body.id), "source": "cache"}, ensure_ascii=False)[:-1]
            return Response(f"{head}, {cached[1:]}", media_type="application/json")
        async with runtime.pool.acquire() as conn:
            row = await store.current_due(conn, body.id, body.year)
            problem = None if row else await store.unassessed(conn, body.id, body.year)
        if problem is not None:
            raise HTTPException(422, f"{mask(body.id)} {body.year}年度无法核定应缴额：{problem['reason']}")
        if row is None:
            raise HTTPException(404, f"{mask(body.id)} 尚无{body.year}年度核定应缴额（未收到参保登记或身份认定）")
        answer = due_body(row)
        await cache.put(runtime.redis, prefix, body.id, body.year, answer)
        return JSONResponse({"person": mask(body.id), "source": "database", **answer})

    @router.post("/ledger/person")
    async def person_ledger(body: QuoteRequest) -> dict:
        """The subsidy lines of one person and year (status, funding source, mode, amount)."""
        async with runtime.pool.acquire() as conn:
            lines = await store.person_lines(conn, body.id, body.year)
        return {"person": mask(body.id), "year": body.year, "lines": [
            {"category": r["category"], "funding_source": r["funding_source"], "mode": r["mode"],
             "amount_fen": r["amount_fen"], "township": r["township"]} for r in lines]}

    @router.get("/ledger/totals")
    async def ledger_totals(region: str = Query(pattern=r"^\d{6}$"), year: int = Query(ge=2000, le=2100)) -> dict:
        """Subsidy totals per township, funding source and mode: what each fund owes the pool."""
        async with runtime.pool.acquire() as conn:
            rows = await store.line_totals(conn, region, year)
        return {"region": region, "year": year, "totals": [dict(r) for r in rows]}

    @router.post("/refunds/search")
    async def refunds(body: RefundSearch) -> dict:
        async with runtime.pool.acquire() as conn:
            rows = await store.refund_orders(conn, person_id=body.id, region=body.region, year=body.year,
                                             township=body.township, state=body.state)
        return {"refunds": [refund_body(r) for r in rows]}

    @router.get("/refunds/{refund_id}")
    async def refund(refund_id: UUID) -> dict:
        async with runtime.pool.acquire() as conn:
            row = await store.refund_order(conn, refund_id)
            if row is None:
                raise HTTPException(404, f"没有编号为{refund_id}的退费单")
            history = await store.refund_history(conn, refund_id)
        return {**refund_body(row), "history": [
            {"from": h["from_state"], "to": h["to_state"], "actor": h["actor"], "note": h["note"],
             "at": h["at"].isoformat()} for h in history]}

    @router.post("/refunds/{refund_id}/transitions")
    async def move(refund_id: UUID, body: RefundStep) -> dict:
        """ordered → paid (by the order's township) → confirmed; each step kept with who and when."""
        async with runtime.pool.acquire() as conn, conn.transaction():
            row = await store.refund_order(conn, refund_id, for_update=True)
            if row is None:
                raise HTTPException(404, f"没有编号为{refund_id}的退费单")
            try:
                step = advance(row["state"], body.to, order_township=row["township"], actor_township=body.township)
            except RefundStepRefused as err:
                raise HTTPException(err.status, err.message) from None
            await store.move_refund(conn, refund_id, step.from_state, step.to_state, body.actor, body.note, utcnow())
            row = await store.refund_order(conn, refund_id)
        return refund_body(row)

    return router
