"""The five services' assembled specs, by name: for tools that treat them alike (AsyncAPI documents, tests)."""
from __future__ import annotations

from importlib import import_module

from shared.contracts import NAMES
from shared.service import ServiceSpec

__all__ = ["NAMES", "spec", "specs"]


def spec(name: str) -> ServiceSpec:
    return import_module(f"services.{name}.app").SPEC


def specs() -> list[ServiceSpec]:
    return [spec(name) for name in NAMES]
