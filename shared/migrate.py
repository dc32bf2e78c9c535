"""`yibao migrate`: apply each service's numbered SQL migrations in its own schema (yoyo-migrations).

Each schema gets the shared machinery (`shared/migrations`: inbox, outbox, dead
letters) and the service's own files (`services/<name>/migrations`), tracked by
yoyo's tables inside that schema.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from yoyo import get_backend, read_migrations

from shared.contracts import SERVICES

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class ServiceSchema:
    service: str
    schema: str

    @property
    def migrations(self) -> Path:
        return ROOT / "services" / self.service / "migrations"


SERVICE_SCHEMAS = tuple(ServiceSchema(c.name, c.schema) for c in SERVICES)


def _yoyo_uri(dsn: str, schema: str) -> str:
    parts = urlsplit(dsn)
    query = f"{parts.query}&schema={schema}" if parts.query else f"schema={schema}"
    return urlunsplit(("postgresql+psycopg", parts.netloc, parts.path, query, parts.fragment))


def migrate(dsn: str, services: tuple[ServiceSchema, ...] = SERVICE_SCHEMAS) -> dict[str, int]:
    """Apply what is missing; return how many migrations each schema received."""
    applied: dict[str, int] = {}
    for item in services:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{item.schema}"')
        backend = get_backend(_yoyo_uri(dsn, item.schema))
        sources = [str(ROOT / "shared" / "migrations")]
        if item.migrations.is_dir():
            sources.append(str(item.migrations))
        migrations = read_migrations(*sources)
        with backend.lock():
            pending = backend.to_apply(migrations)
            backend.apply_migrations(pending)
        applied[item.schema] = len(pending)
    return applied
