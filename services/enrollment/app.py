"""The enrollment service, assembled: Kafka subscribers, the HTTP router and its credential check."""
from __future__ import annotations

from services.enrollment.api import router
from services.enrollment.handlers import register_handlers
from shared import service
from shared.access import Authenticator
from shared.settings import ServiceSettings

SPEC = service.ServiceSpec(
    name="enrollment",
    schema="enrollment",
    title="enrollment",
    description="参保登记: the population baseline, enrollments per person and year, the person's record.",
    settings=ServiceSettings,
    register_handlers=register_handlers,
    api=router,
    # checked in PostgreSQL on every request (no cache): a revoked credential stops at once
    authenticator=lambda runtime: Authenticator(lambda: runtime.pool),
)
