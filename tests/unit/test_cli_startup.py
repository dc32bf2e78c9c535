"""`yibao --help` or one quick command must not load every service: a clerk's or a script's call starts at once.

Checked by what importing the command line loads, not by a timing (which a busy machine would
make flaky): no driver, no web or Kafka framework, no service module but the services' `cli`.
"""
from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("asyncpg", "aiokafka", "faststream", "fastapi", "starlette", "redis", "httpx", "pydantic", "openpyxl",
         "confluent_kafka", "yoyo", "psycopg", "structlog", "yaml")


def modules_loaded_by(code: str) -> set[str]:
    probe = f"import sys\n{code}\nimport json; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    return set(json.loads(out.splitlines()[-1]))


def test_the_command_line_loads_no_driver_framework_or_service_internals() -> None:
    loaded = modules_loaded_by("import cli.main")
    heavy = sorted(m for m in loaded if m.split(".")[0] in HEAVY)
    service_internals = sorted(m for m in loaded if m.startswith("services.") and m.count(".") >= 2
                               and not m.endswith(".cli"))
    assert heavy == [], f"`yibao` imports these at start: {heavy[:10]}"
    assert service_internals == [], f"`yibao` imports service internals at start: {service_internals}"


def test_the_check_sees_a_heavy_import() -> None:
    """The probe itself works: importing a service's store is seen."""
    loaded = modules_loaded_by("import cli.main\nimport services.subsidy.store")
    assert "asyncpg" in loaded and "services.subsidy.store" in loaded
