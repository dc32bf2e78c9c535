"""The subsidy service, assembled."""
from __future__ import annotations

from fastapi import FastAPI
from faststream import FastStream

from services.subsidy.api import api
from services.subsidy.handlers import register_handlers
from shared import service
from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    pass


SPEC = service.ServiceSpec(
    name="subsidy",
    schema="subsidy",
    title="subsidy",
    description="参保资助: the due per person and year, subsidy lines by funding source, refund orders.",
    settings=Settings,
    register_handlers=register_handlers,
    api=api,
)


def create_app() -> FastAPI:
    return service.create_app(SPEC)


def asyncapi() -> FastStream:
    return service.asyncapi_app(SPEC)
