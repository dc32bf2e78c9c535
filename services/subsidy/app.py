"""The subsidy service, assembled: its Kafka subscribers, its HTTP routes and their credential check."""
from __future__ import annotations

from services.subsidy.api import router
from services.subsidy.handlers import register_handlers
from services.subsidy.settings import Settings
from shared import service
from shared.access import Authenticator
from shared.runtime import Runtime


def authenticator(runtime: Runtime) -> Authenticator:
    """One per process: verified credentials are kept `credential_cache_s` seconds, so a quote pays no
    PostgreSQL round trip to authenticate."""
    return Authenticator(lambda: runtime.pool, cache_s=runtime.settings.credential_cache_s)


SPEC = service.ServiceSpec(
    name="subsidy",
    schema="subsidy",
    title="subsidy",
    description="参保资助: the due per person and year, subsidy lines by funding source, refund orders.",
    settings=Settings,
    register_handlers=register_handlers,
    api=router,
    authenticator=authenticator,
)
