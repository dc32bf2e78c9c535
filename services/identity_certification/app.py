"""The identity certification service, assembled."""
from __future__ import annotations

from fastapi import FastAPI
from faststream import FastStream
from faststream.kafka import KafkaRouter

from services.identity_certification.api import api
from shared import service
from shared.messages import StatusChanged
from shared.runtime import Runtime
from shared.settings import ServiceSettings
from shared.topics import STATUS_CHANGED


class Settings(ServiceSettings):
    pass


def register_handlers(router: KafkaRouter, runtime: Runtime) -> None:
    # Published through the outbox relay; declared here so the AsyncAPI document shows it.
    router.publisher(runtime.settings.topic(STATUS_CHANGED.name), schema=StatusChanged,
                     description=STATUS_CHANGED.description)


SPEC = service.ServiceSpec(
    name="identity_certification",
    schema="identity",
    title="identity_certification",
    description="身份认定: departments' monthly lists of special statuses, each person's status history.",
    settings=Settings,
    register_handlers=register_handlers,
    api=api,
)


def create_app() -> FastAPI:
    return service.create_app(SPEC)


def asyncapi() -> FastStream:
    return service.asyncapi_app(SPEC)
