"""Who may see and do what: a credential per region and role, checked on every request but the aggregates.

- viewer (县乡医保、乡镇): progress, discrepancies, lists, exports, person lookup, the console — of their region;
- clerk (对账员): also imports, runs and resolutions.

The token comes as `Authorization: Bearer …` (API, CLI) or as the console's HttpOnly
cookie after its login form; only its SHA-256 is stored. `/api/progress` stays open:
it holds counts per village, no person.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Literal

import asyncpg
from fastapi import HTTPException, Request

Role = Literal["viewer", "clerk"]
COOKIE = "yibao_reconciliation"


@dataclass(frozen=True)
class Caller:
    region: str
    role: Role
    holder: str

    def check(self, region: str, role: Role = "viewer") -> None:
        """Raise 403 unless this caller may act as `role` on `region`."""
        if region != self.region:
            raise HTTPException(403, f"无权访问统筹区{region}的数据：凭证属于统筹区{self.region}")
        if role == "clerk" and self.role != "clerk":
            raise HTTPException(403, "需要对账员（clerk）权限：查看权限不能导入文件、发起对账或处理差异")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def grant(conn: asyncpg.Connection, region: str, role: Role, holder: str) -> str:
    """Issue a credential; the token is shown once and only its hash is kept."""
    token = secrets.token_urlsafe(32)
    await conn.execute("INSERT INTO credential (token_sha256, region, role, holder) VALUES ($1, $2, $3, $4)",
                       token_hash(token), region, role, holder)
    return token


async def authenticate(conn: asyncpg.Connection, token: str) -> Caller | None:
    row = await conn.fetchrow(
        "SELECT region, role, holder FROM credential WHERE token_sha256 = $1 AND revoked_at IS NULL", token_hash(token))
    return Caller(row["region"], row["role"], row["holder"]) if row else None


def token_of(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return request.cookies.get(COOKIE)
