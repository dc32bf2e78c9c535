"""Settings of the subsidy service (environment, prefix YIBAO_). Every default is documented here."""
from __future__ import annotations

from pydantic import Field

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    credential_cache_s: float = Field(
        30.0, ge=0, description="DEFAULT 30: a verified API credential is kept in the process this many seconds, so "
        "a quote pays no PostgreSQL round trip to authenticate; a revoked credential stops working within this "
        "time. 0 checks the database on every request.")
    whatif_timeout_s: float = Field(
        900.0, gt=0, description="DEFAULT 900: a what-if asked on the console (政策测算) is stopped after this many "
        "seconds (1,000,000 people took 97 s on 2 shared cores); a longer one belongs to `yibao whatif`.")
