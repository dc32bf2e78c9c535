"""The HTTP face every service has: /health, /metrics, and the service's own API.

A service's routes are a module-level `APIRouter`; what a route needs of the running
process it takes by dependency from `app.state`: `RUNTIME` (pool, Redis, settings,
`runtime.unit_of_work()`) and `CALLER` (the credential's region and role, by the
service's `Authenticator`). `role(...)` narrows CALLER to some roles.
"""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials
from faststream.kafka import KafkaBroker
from prometheus_client import make_asgi_app
from starlette.routing import Match

from shared.access import BEARER, Authenticator, Caller
from shared.logging import get_logger, mask_ids
from shared.runtime import Runtime

log = get_logger(__name__)


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def authenticator_of(request: Request) -> Authenticator:
    found: Authenticator | None = request.app.state.authenticator
    if found is None:
        raise RuntimeError("this service was assembled without an authenticator")
    return found


async def caller_of(request: Request, _bearer: HTTPAuthorizationCredentials | None = BEARER) -> Caller:
    """The request's caller, or 401 (`_bearer` only declares the scheme in the OpenAPI document)."""
    return await authenticator_of(request).of(request)


RUNTIME: Any = Depends(runtime_of)
CALLER: Any = Depends(caller_of)


def role(*roles: str, refused: str) -> Any:
    """A dependency: the caller, when its role is one of `roles`; else 403 with `refused`."""
    async def dependency(who: Caller = CALLER) -> Caller:
        who.require(*roles, refused=refused)
        return who
    return Depends(dependency)


def health_router(runtime: Runtime, broker: KafkaBroker) -> APIRouter:
    router = APIRouter()

    @router.get("/health", include_in_schema=False)
    async def health() -> JSONResponse:
        checks = {"database": False, "kafka": False, "redis": False}
        try:
            checks["database"] = runtime.pool is not None and await runtime.pool.fetchval("SELECT 1") == 1
        except Exception:
            pass
        try:
            checks["kafka"] = await broker.ping(timeout=2.0)
        except Exception:
            pass
        try:
            checks["redis"] = runtime.redis is not None and bool(await runtime.redis.ping())
        except Exception:
            pass
        ok = all(checks.values())
        body = {"service": runtime.service, "status": "ok" if ok else "degraded", "checks": checks,
                "outbox_relay_leader": bool(runtime.relay and runtime.relay.is_leader)}
        return JSONResponse(body, status_code=200 if ok else 503)

    return router


async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
    """422 naming each field that failed, without FastAPI's echo of the input: an error body is no
    place for a resident ID (the caller's own, or one a proxy or log collector would keep)."""
    detail = [{"loc": list(e.get("loc", ())), "type": e.get("type"), "msg": mask_ids(str(e.get("msg", "")))}
              for e in exc.errors()]
    return JSONResponse({"detail": detail, "message": "请求内容不合规：请按 detail 中列出的字段更正后重新提交"},
                        status_code=422)


async def method_not_allowed(request: Request, _exc: Exception) -> JSONResponse:
    """405 whose Allow header names every method of the path: Starlette names only those of the first route
    matching the path, so GET and POST /api/runs each claimed to be the only one (found by schemathesis)."""
    allowed = [method for method in _METHODS if any(
        route.matches({**request.scope, "method": method})[0] == Match.FULL for route in request.app.router.routes)]
    return JSONResponse({"detail": "Method Not Allowed"}, status_code=405, headers={"Allow": ", ".join(allowed)})


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def build_http_app(
    runtime: Runtime,
    broker: KafkaBroker,
    *,
    title: str,
    api: APIRouter | None = None,
    authenticator: Authenticator | None = None,
) -> FastAPI:
    """A FastAPI app whose lifespan opens the runtime, then starts consuming; stops in reverse."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        await broker.start()
        log.info("service started", port=runtime.settings.http_port)
        try:
            yield
        finally:
            await broker.stop()
            await runtime.stop()

    app = FastAPI(title=title, lifespan=lifespan, docs_url="/api/docs", openapi_url="/api/openapi.json")
    app.state.runtime = runtime
    app.state.authenticator = authenticator
    app.add_exception_handler(RequestValidationError, validation_error)  # type: ignore[arg-type]  # starlette types handlers for Exception
    app.add_exception_handler(405, method_not_allowed)
    app.include_router(health_router(runtime, broker))
    if api is not None:
        app.include_router(api, prefix="/api")
    app.mount("/metrics", make_asgi_app())
    return app
