"""Assemble a service from its parts: runtime, Kafka broker with its handlers, HTTP API.

A service module gives a `ServiceSpec`; `create_app` turns it into the ASGI app
that `python -m services.<name>` serves, and `asyncapi_app` into the FastStream
app that `faststream docs gen` documents. Nothing is connected at import time.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import uvicorn
from fastapi import APIRouter, FastAPI
from faststream import FastStream
from faststream.kafka import KafkaBroker, KafkaRouter
from faststream.specification import AsyncAPI

from shared import gc_tuning
from shared.access import Authenticator
from shared.http import build_http_app
from shared.kafka_security import faststream_security
from shared.logging import configure_logging
from shared.runtime import Runtime
from shared.settings import ServiceSettings


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    schema: str
    title: str
    description: str
    settings: type[ServiceSettings]
    register_handlers: Callable[[KafkaRouter, Runtime], None]
    api: APIRouter | None = None
    # The service's credential check, made per process (its cache is the process's): see shared.access.
    authenticator: Callable[[Runtime], Authenticator] | None = None


def build_broker(spec: ServiceSpec, runtime: Runtime) -> KafkaBroker:
    broker = KafkaBroker(
        runtime.settings.kafka_bootstrap_servers,
        client_id=f"yibao-{spec.name}",
        security=faststream_security(runtime.settings),
        logger=logging.getLogger(f"faststream.{spec.name}"),
        # "Received"/"Processed" per batch is noise at the December peak: debug level only.
        log_level=logging.DEBUG,
    )
    router = KafkaRouter()
    spec.register_handlers(router, runtime)
    broker.include_router(router)
    return broker


def create_app(spec: ServiceSpec, settings: ServiceSettings | None = None) -> FastAPI:
    settings = settings or spec.settings()
    configure_logging(spec.name, settings.log_level)
    runtime = Runtime(spec.name, spec.schema, settings)
    broker = build_broker(spec, runtime)
    authenticator = spec.authenticator(runtime) if spec.authenticator else None
    return build_http_app(runtime, broker, title=spec.title, api=spec.api, authenticator=authenticator)


def asyncapi_app(spec: ServiceSpec, settings: ServiceSettings | None = None) -> FastStream:
    runtime = Runtime(spec.name, spec.schema, settings or spec.settings())
    broker = build_broker(spec, runtime)
    return FastStream(
        broker,
        specification=AsyncAPI(title=spec.title, version="1", description=spec.description),
    )


def serve(spec: ServiceSpec) -> None:
    """Run the service until SIGTERM (uvicorn handles the signal and the lifespan shutdown)."""
    settings = spec.settings()
    app = create_app(spec, settings)
    gc_tuning.tune(settings.gc_gen0_threshold)
    # loop="asyncio", not uvloop (which uvicorn picks when installed): under uvloop a write on a connection
    # the broker has just reset raises RuntimeError inside aiokafka's fetcher task, the task dies, and that
    # consumer never fetches again while /health says ok — a stuck partition (found by tests/chaos).
    uvicorn.run(app, host=settings.http_host, port=settings.http_port, log_config=None, access_log=False,
                loop="asyncio")
