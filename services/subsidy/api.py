"""HTTP API of the subsidy service: the quote the tax gateway asks for ("how much, and why").

Answered from Redis; a cold cache falls back to PostgreSQL. The resident ID is in
the request body, never in the URL."""
from __future__ import annotations

import json

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from services.subsidy import store
from services.subsidy.handlers import due_key
from shared.messages.envelope import ResidentIdStr
from shared.resident_id import mask
from shared.runtime import Runtime


class QuoteRequest(BaseModel):
    id: ResidentIdStr
    year: int = Field(ge=2000, le=2100, examples=[2025])


def api(runtime: Runtime) -> APIRouter:
    router = APIRouter(tags=["subsidy"])

    @router.post("/quote")
    async def quote(body: QuoteRequest) -> dict:
        cache_key = f"{runtime.settings.topic_prefix}due:{due_key(body.id, body.year)}"
        cached = await _cached(runtime, cache_key)
        if cached is not None:
            return {"person": mask(body.id), "source": "cache", **cached}
        async with runtime.pool.acquire() as conn:
            row = await store.current_due(conn, body.id, body.year)
        if row is None:
            raise HTTPException(404, f"{mask(body.id)} 尚无{body.year}年度核定应缴额")
        return {"person": mask(body.id), "source": "database", "region": row["region"], "year": row["year"],
                "standard_fen": row["standard_fen"], "subsidy_fen": row["subsidy_fen"], "due_fen": row["due_fen"],
                "refund_after_fen": row["refund_after_fen"], "reasons": row["reasons"], "revision": row["revision"]}

    return router


async def _cached(runtime: Runtime, key: str) -> dict | None:
    try:
        value = await runtime.redis.get(key)
    except Exception:
        return None
    return json.loads(value) if value else None
