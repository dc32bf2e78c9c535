"""Credentials for a service's HTTP API: one region and one role per credential, checked on every request.

Each service that uses this module has a `credential` table in its own schema
(token_sha256, region, role, holder, created_at, revoked_at) and names its roles
with `Roles`. A token is issued once (`Roles.grant`) and only its SHA-256 is
stored; callers send it as `Authorization: Bearer …` (or, for a browser console,
in the service's HttpOnly cookie).

`Authenticator` turns a request into a `Caller` or a 401. It can keep verified
credentials in process for a few seconds (`cache_s`), so that a hot path such as
the subsidy quote pays no PostgreSQL round trip per request; a revoked credential
then still works until its cached entry expires (at most `cache_s`). Unknown
tokens are never cached, so a flood of made-up tokens cannot fill the cache.
"""
from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import cast

import asyncpg
from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer


@dataclass(frozen=True)
class Caller:
    """Who is asking: the credential's region, role and holder (a person or an office)."""
    region: str
    role: str
    holder: str

    def check(self, region: str, *roles: str, refused: str | None = None) -> None:
        """Raise 403 unless this caller's region is `region` and (when `roles` are given) its role is one of them."""
        if region != self.region:
            raise HTTPException(403, f"无权访问统筹区{region}的数据：凭证属于统筹区{self.region}")
        self.require(*roles, refused=refused)

    def require(self, *roles: str, refused: str | None = None) -> None:
        """Raise 403 unless this caller's role is one of `roles` (any role when none are given)."""
        if roles and self.role not in roles:
            raise HTTPException(403, refused or f"此操作需要{'或'.join(roles)}权限，当前凭证为{self.role}")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Roles:
    """The roles of one service's credentials, each with who holds it (for the CLI's help and errors)."""
    names: dict[str, str]

    def validate(self, role: str) -> str:
        if role not in self.names:
            raise ValueError(f"权限“{role}”应为 {'、'.join(self.names)} 之一")
        return role

    async def grant(self, conn: asyncpg.Connection, region: str, role: str, holder: str) -> str:
        """Issue a credential in the service's `credential` table; the token is returned once, only its hash kept."""
        if len(region) != 6 or not region.isdigit():
            raise ValueError(f"统筹区“{region}”应为6位行政区划代码")
        token = secrets.token_urlsafe(32)
        await conn.execute("INSERT INTO credential (token_sha256, region, role, holder) VALUES ($1, $2, $3, $4)",
                           token_hash(token), region, self.validate(role), holder)
        return token


async def authenticate(conn: asyncpg.Connection, token: str) -> Caller | None:
    """The caller a token stands for, or None when it is unknown or revoked."""
    row = await conn.fetchrow(
        "SELECT region, role, holder FROM credential WHERE token_sha256 = $1 AND revoked_at IS NULL", token_hash(token))
    return Caller(row["region"], row["role"], row["holder"]) if row else None


def bearer_token(request: Request, cookie: str | None = None) -> str | None:
    """The token of `Authorization: Bearer …`, else of the cookie (when the service has one)."""
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    return request.cookies.get(cookie) if cookie else None


BEARER = Depends(HTTPBearer(auto_error=False, description="凭证：Authorization: Bearer <token>"))


class Authenticator:
    """Request → Caller for one service: token from the request, verified against its pool, optionally cached.

    `cache_s` = 0 asks PostgreSQL every time (a revocation counts at once); above 0 a verified
    credential is kept that many seconds, at most `max_cached` of them (the oldest go first).
    `lookup` reads a token's caller from the database: by default the `credential` table; a service whose
    credentials are kept otherwise (identity certification's department + region) passes its own.
    """

    def __init__(self, pool: Callable[[], asyncpg.Pool], *, cookie: str | None = None, cache_s: float = 0.0,
                 max_cached: int = 10_000, clock: Callable[[], float] = time.monotonic,
                 lookup: Callable[[asyncpg.Connection, str], Awaitable[Caller | None]] = authenticate) -> None:
        self._pool, self.cookie, self.cache_s, self.max_cached, self._clock = pool, cookie, cache_s, max_cached, clock
        self._lookup = lookup
        self._cache: dict[str, tuple[float, Caller]] = {}

    async def caller(self, token: str) -> Caller | None:
        """The caller of `token`, from the cache while it is fresh, else from the `credential` table."""
        digest = token_hash(token)
        if self.cache_s > 0:
            hit = self._cache.get(digest)
            if hit is not None and hit[0] > self._clock():
                return hit[1]
        async with self._pool().acquire() as conn:
            found = await self._lookup(cast(asyncpg.Connection, conn), token)
        if found is not None and self.cache_s > 0:
            self._remember(digest, found)
        return found

    def _remember(self, digest: str, caller: Caller) -> None:
        self._cache.pop(digest, None)
        while len(self._cache) >= self.max_cached:
            del self._cache[next(iter(self._cache))]  # dicts keep insertion order: the oldest entry first
        self._cache[digest] = (self._clock() + self.cache_s, caller)

    async def __call__(self, request: Request, bearer: HTTPAuthorizationCredentials | None = BEARER) -> Caller:
        """FastAPI dependency: the request's caller, or 401 with what to do about it.

        `bearer` only declares the scheme in the OpenAPI document (clients and schemathesis see
        it); the token itself is read by `of`, which also knows the console's cookie."""
        return await self.of(request)

    async def of(self, request: Request) -> Caller:
        """The request's caller, or 401. Called directly by a hot path that skips dependency injection."""
        token = bearer_token(request, self.cookie)
        if not token:
            raise HTTPException(401, "请先登录：缺少凭证（Authorization: Bearer …）",
                                headers={"WWW-Authenticate": "Bearer"})
        found = await self.caller(token)
        if found is None:
            raise HTTPException(401, "凭证无效或已吊销", headers={"WWW-Authenticate": "Bearer"})
        return found
