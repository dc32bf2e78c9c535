"""Resident IDs never travel in URLs (they end up in proxies' and browsers' logs): no service's OpenAPI
document has a path or query parameter that carries a person's ID — IDs go in bodies or headers."""
from __future__ import annotations

import re

import pytest

from services.registry import NAMES, spec
from shared.service import create_app

PERSONAL = re.compile(r"^(id|ids|person|person_id|resident|resident_id|id_number|sfzh|身份证号?)$", re.I)


@pytest.mark.parametrize("name", NAMES)
def test_no_person_id_in_any_url(name: str) -> None:
    document = create_app(spec(name)).openapi()
    offending = [
        (path, method, p["name"])
        for path, operations in document.get("paths", {}).items()
        for method, operation in operations.items() if isinstance(operation, dict)
        for p in operation.get("parameters", [])
        if p.get("in") in ("path", "query") and PERSONAL.match(p["name"])
    ]
    assert offending == [], f"{name}: resident IDs would travel in URLs: {offending}"


def test_the_check_sees_a_person_in_a_url() -> None:
    from fastapi import FastAPI
    app = FastAPI()

    @app.get("/people/{person_id}")
    def person(person_id: str) -> dict:  # pragma: no cover - only its signature matters
        return {}

    params = [p["name"] for op in app.openapi()["paths"]["/people/{person_id}"].values() for p in op["parameters"]]
    assert any(PERSONAL.match(p) for p in params)
