"""HTTP API of enrollment: the population baseline and the one-record-per-person view (一人一档).

Resident IDs travel in request bodies only, never in a URL."""
from __future__ import annotations

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from services.enrollment import store
from shared.messages.envelope import RegionCode, ResidentIdStr
from shared.resident_id import mask
from shared.runtime import Runtime, utcnow


class BaselinePerson(BaseModel):
    id: ResidentIdStr
    region: RegionCode
    township: str | None = Field(None, examples=["榴城镇"])
    village: str | None = Field(None, examples=["城关村"])
    name: str | None = None


class BaselineImport(BaseModel):
    source: str = Field("public_security", description="Where the list comes from.")
    people: list[BaselinePerson] = Field(max_length=100_000)


class PersonLookup(BaseModel):
    id: ResidentIdStr


def api(runtime: Runtime) -> APIRouter:
    router = APIRouter(tags=["enrollment"])

    @router.post("/baseline")
    async def import_baseline(body: BaselineImport) -> dict:
        rows = [(p.id, p.region, p.township, p.village, p.name) for p in body.people]
        async with runtime.pool.acquire() as conn, conn.transaction():
            count = await store.import_baseline(conn, rows, body.source, utcnow())
        return {"imported": count}

    @router.post("/person-record")
    async def person_record(body: PersonLookup) -> dict:
        async with runtime.pool.acquire() as conn:
            record = await store.person_record(conn, body.id)
        if not record["baseline"] and not record["enrollments"] and not record["statuses"]:
            raise HTTPException(404, f"查无此人：{mask(body.id)}")
        return {"person": mask(body.id), **record}

    return router
