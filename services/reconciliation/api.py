"""HTTP API of reconciliation: progress per township and village."""
from __future__ import annotations

from fastapi import APIRouter, Query

from shared.runtime import Runtime


def api(runtime: Runtime) -> APIRouter:
    router = APIRouter(tags=["reconciliation"])

    @router.get("/progress")
    async def progress(region: str = Query(pattern=r"^\d{6}$"), year: int = Query(ge=2000, le=2100)) -> dict:
        async with runtime.pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT township, village, count(*) FILTER (WHERE paid_total_fen > 0) AS paid_people, "
                "sum(paid_total_fen) AS paid_fen FROM paid_person WHERE region = $1 AND year = $2 "
                "GROUP BY township, village ORDER BY township NULLS LAST, village NULLS LAST",
                region, year,
            )
        return {"region": region, "year": year, "villages": [
            {"township": r["township"], "village": r["village"], "paid_people": r["paid_people"],
             "paid_fen": int(r["paid_fen"] or 0)} for r in rows]}

    return router
