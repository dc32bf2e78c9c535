"""The reconciliation service, assembled."""
from __future__ import annotations

from fastapi import FastAPI
from faststream import FastStream

from services.reconciliation.api import api
from services.reconciliation.handlers import register_handlers
from services.reconciliation.settings import Settings
from shared import service

SPEC = service.ServiceSpec(
    name="reconciliation",
    schema="reconciliation",
    title="reconciliation",
    description="对账与进度: money agrees with people; progress per village and township; the ops console.",
    settings=Settings,
    register_handlers=register_handlers,
    api=api,
)


def create_app() -> FastAPI:
    return service.create_app(SPEC)


def asyncapi() -> FastStream:
    return service.asyncapi_app(SPEC)
