"""The payment ingest service, assembled."""
from __future__ import annotations

from services.payment_ingest.handlers import register_handlers
from shared import service
from shared.settings import ServiceSettings

SPEC = service.ServiceSpec(
    name="payment_ingest",
    schema="payment",
    title="payment_ingest",
    description="缴费数据接收: tax receipts validated, de-duplicated and recorded.",
    settings=ServiceSettings,
    register_handlers=register_handlers,
)
