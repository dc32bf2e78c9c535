"""Settings of the subsidy service (environment, prefix YIBAO_). Every default is documented here."""
from __future__ import annotations

from pydantic import Field

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    credential_cache_s: float = Field(
        30.0, ge=0, description="DEFAULT 30: a verified API credential is kept in the process this many seconds, so "
        "a quote pays no PostgreSQL round trip to authenticate; a revoked credential stops working within this "
        "time. 0 checks the database on every request.")
