"""The enrollment service, assembled."""
from __future__ import annotations

from fastapi import FastAPI
from faststream import FastStream

from services.enrollment.api import api
from services.enrollment.handlers import register_handlers
from shared import service
from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    pass


SPEC = service.ServiceSpec(
    name="enrollment",
    schema="enrollment",
    title="enrollment",
    description="参保登记: the population baseline, enrollments per person and year, the person's record.",
    settings=Settings,
    register_handlers=register_handlers,
    api=api,
)


def create_app() -> FastAPI:
    return service.create_app(SPEC)


def asyncapi() -> FastStream:
    return service.asyncapi_app(SPEC)
