"""The identity certification service, assembled."""
from __future__ import annotations

from services.identity_certification import store
from services.identity_certification.api import router
from services.identity_certification.handlers import register_handlers
from services.identity_certification.settings import Settings
from shared import service
from shared.access import Authenticator

SPEC = service.ServiceSpec(
    name="identity_certification",
    schema="identity",
    title="identity_certification",
    description="身份认定: departments' monthly lists of special statuses, each person's status history.",
    settings=Settings,
    register_handlers=register_handlers,
    api=router,
    # Department credentials, checked in PostgreSQL on every request (no cache): a revoked one counts at once.
    authenticator=lambda runtime: Authenticator(lambda: runtime.pool, lookup=store.caller),
)
