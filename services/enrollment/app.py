"""The enrollment service, assembled."""
from __future__ import annotations

from services.enrollment.api import api
from services.enrollment.handlers import register_handlers
from shared import service
from shared.settings import ServiceSettings

SPEC = service.ServiceSpec(
    name="enrollment",
    schema="enrollment",
    title="enrollment",
    description="参保登记: the population baseline, enrollments per person and year, the person's record.",
    settings=ServiceSettings,
    register_handlers=register_handlers,
    api=api,
)
