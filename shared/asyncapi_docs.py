"""AsyncAPI documents of the services, generated from their FastStream apps (deploy/asyncapi/).

The documents are rendered with the services' default settings, not the caller's
environment, so that the checked-in files are the same on every machine; YAML
keeps Chinese descriptions readable (FastStream's own YAML escapes them).
"""
from __future__ import annotations

from pathlib import Path

import yaml

from shared.service import ServiceSpec, asyncapi_app
from shared.settings import ServiceSettings

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "deploy" / "asyncapi"


def render(spec: ServiceSpec) -> str:
    defaults = ServiceSettings.model_fields
    settings = spec.settings(kafka_bootstrap=defaults["kafka_bootstrap"].default, topic_prefix="")
    document = asyncapi_app(spec, settings).schema.to_specification().to_jsonable()
    # Sorted keys: FastStream orders channels by hash, which changes from one interpreter run to the next.
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=True, width=100)


def path_of(spec: ServiceSpec) -> Path:
    return DOCS / f"{spec.name}.yaml"


def stale(specs: list[ServiceSpec]) -> list[str]:
    """Names of the services whose checked-in document differs from what the code generates."""
    return [s.name for s in specs if not path_of(s).exists() or path_of(s).read_text() != render(s)]


def write(specs: list[ServiceSpec]) -> list[Path]:
    DOCS.mkdir(parents=True, exist_ok=True)
    for s in specs:
        path_of(s).write_text(render(s))
    return [path_of(s) for s in specs]
