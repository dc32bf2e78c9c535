"""The reconciliation service, assembled."""
from __future__ import annotations

from services.reconciliation.api import api
from services.reconciliation.handlers import register_handlers
from services.reconciliation.settings import Settings
from shared import service

SPEC = service.ServiceSpec(
    name="reconciliation",
    schema="reconciliation",
    title="reconciliation",
    description="对账与进度: money agrees with people; progress per village and township; the ops console.",
    settings=Settings,
    register_handlers=register_handlers,
    api=api,
)
