"""The payment ingest service, assembled."""
from __future__ import annotations

from fastapi import FastAPI
from faststream import FastStream

from services.payment_ingest.handlers import register_handlers
from shared import service
from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    pass


SPEC = service.ServiceSpec(
    name="payment_ingest",
    schema="payment",
    title="payment_ingest",
    description="缴费数据接收: tax receipts validated, de-duplicated and recorded.",
    settings=Settings,
    register_handlers=register_handlers,
)


def create_app() -> FastAPI:
    return service.create_app(SPEC)


def asyncapi() -> FastStream:
    return service.asyncapi_app(SPEC)
