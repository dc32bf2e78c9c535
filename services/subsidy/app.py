"""The subsidy service, assembled."""
from __future__ import annotations

from services.subsidy.api import api
from services.subsidy.handlers import register_handlers
from services.subsidy.settings import Settings
from shared import service

SPEC = service.ServiceSpec(
    name="subsidy",
    schema="subsidy",
    title="subsidy",
    description="参保资助: the due per person and year, subsidy lines by funding source, refund orders.",
    settings=Settings,
    register_handlers=register_handlers,
    api=api,
)
