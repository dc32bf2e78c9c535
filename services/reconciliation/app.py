"""The reconciliation service, assembled: its subscribers, its HTTP router (API, console, daily run) and
the credential check, made per process."""
from __future__ import annotations

from services.reconciliation import access
from services.reconciliation.api import router
from services.reconciliation.handlers import register_handlers
from services.reconciliation.settings import Settings
from shared import service
from shared.access import Authenticator

SPEC = service.ServiceSpec(
    name="reconciliation",
    schema="reconciliation",
    title="reconciliation",
    description="对账与进度: money agrees with people; progress per village and township; the ops console.",
    settings=Settings,
    register_handlers=register_handlers,
    api=router,
    # No cache (cache_s 0): the token is checked in PostgreSQL on every request, so a revoked credential
    # stops at once; the console's login keeps it in the cookie.
    authenticator=lambda runtime: Authenticator(lambda: runtime.pool, cookie=access.COOKIE),
)
