"""The subsidy service, assembled."""
from __future__ import annotations

from services.subsidy.api import api
from services.subsidy.handlers import register_handlers
from shared import service
from shared.settings import ServiceSettings


SPEC = service.ServiceSpec(
    name="subsidy",
    schema="subsidy",
    title="subsidy",
    description="参保资助: the due per person and year, subsidy lines by funding source, refund orders.",
    settings=ServiceSettings,
    register_handlers=register_handlers,
    api=api,
)
