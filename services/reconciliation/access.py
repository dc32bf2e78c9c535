"""Who may see and do what: a credential per region and role, checked on every request but the aggregates.

- viewer (县乡医保、乡镇): progress, discrepancies, lists, exports, person lookup, the console — of their region;
- clerk (对账员): also imports, runs and resolutions.

The token comes as `Authorization: Bearer …` (API, CLI) or as the console's HttpOnly
cookie after its login form; only its SHA-256 is stored. `/api/progress` stays open:
it holds counts per village, no person. The machinery is shared.access (the same as
the subsidy service's); this module only names reconciliation's roles and cookie.
"""
from __future__ import annotations

from typing import Literal

import asyncpg

from shared.access import Roles

__all__ = ["COOKIE", "ROLES", "Role", "grant"]

Role = Literal["viewer", "clerk"]
COOKIE = "yibao_reconciliation"
ROLES = Roles({"viewer": "查看（县乡医保、乡镇）：进度、差异、名单、导出、查人、控制台",
               "clerk": "对账员：另可导入文件、发起对账、处理差异"})


async def grant(conn: asyncpg.Connection, region: str, role: Role, holder: str) -> str:
    """Issue a credential; the token is shown once and only its hash is kept."""
    return await ROLES.grant(conn, region, role, holder)
