"""The five services, by name: for tools that treat them alike (AsyncAPI documents, the stack)."""
from __future__ import annotations

from importlib import import_module

from shared.service import ServiceSpec

NAMES = ("identity_certification", "enrollment", "payment_ingest", "subsidy", "reconciliation")


def spec(name: str) -> ServiceSpec:
    return import_module(f"services.{name}.app").SPEC


def specs() -> list[ServiceSpec]:
    return [spec(name) for name in NAMES]
