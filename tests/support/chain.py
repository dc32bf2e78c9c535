"""People taken through the five running services by their public interfaces only, as the seeds' actors act.

A department posts its list over HTTP, the insurance office loads the register and
registers people, the tax side asks for the quote and streams receipts on the topic
the gateway writes, and everyone reads the answers where they would: the person's
record (一人一档) from enrollment, the due from the quote, the village figures and the
lists of vulnerable people from reconciliation. Credentials are issued per region and
role in each service's own credential table, as `yibao … grant` does.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import asyncpg
import httpx

from shared.resident_id import person_key
from shared.topics import RECEIPT_RECEIVED
from tests.support.kafka import produce
from tests.support.people import encode, receipt
from tests.support.system import System

T = TypeVar("T")


@dataclass
class Chain:
    system: System
    client: httpx.AsyncClient
    _tokens: dict[tuple[str, str, str], str] = field(default_factory=dict)

    @classmethod
    @asynccontextmanager
    async def open(cls, system: System) -> AsyncIterator[Chain]:
        async with httpx.AsyncClient(timeout=20) as client:
            yield cls(system, client)

    # -- credentials, one per service, region and role (cached for the module) --

    async def _token(self, service: str, region: str, role: str) -> str:
        key = (service, region, role)
        if key not in self._tokens:
            self._tokens[key] = await self._grant(service, region, role)
        return self._tokens[key]

    async def _grant(self, service: str, region: str, role: str) -> str:
        schema = {"identity_certification": "identity"}.get(service, service)
        conn = await asyncpg.connect(self.system.pg_dsn, server_settings={"search_path": schema})
        try:
            if service == "identity_certification":
                from services.identity_certification import store
                return await store.create_credential(conn, role, region)
            from shared.access import Roles
            roles = {"enrollment": ("agent", "agency"), "subsidy": ("tax_gateway", "viewer", "refund_clerk"),
                     "reconciliation": ("viewer", "clerk")}[service]
            return await Roles(dict.fromkeys(roles, "")).grant(conn, region, role, f"场景测试：{role}@{region}")
        finally:
            await conn.close()

    async def _headers(self, service: str, region: str, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {await self._token(service, region, role)}"}

    async def _call(self, method: str, service: str, path: str, region: str, role: str, **kw: Any) -> httpx.Response:
        return await self.client.request(method, self.system.url(service, path),
                                         headers=await self._headers(service, region, role), **kw)

    # -- what the actors do --

    async def baseline(self, region: str, people: Iterable[tuple[str, str, str]]) -> None:
        """The household register: (person, township, village) of `region`."""
        body = {"people": [{"id": p, "region": region, "township": t, "village": v} for p, t, v in people]}
        answer = await self._call("POST", "enrollment", "/api/baseline", region, "agency", json=body)
        assert answer.status_code == 200, answer.text

    async def certify(self, department: str, region: str, period: str, rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """A department's monthly list (rows: id, category, certified_on, township, village …)."""
        answer = await self._call("POST", "identity_certification", "/api/submissions", region, department,
                                  json={"period": period, "rows": list(rows)})
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    async def register(self, region: str, registration: dict[str, Any]) -> httpx.Response:
        return await self._call("POST", "enrollment", "/api/enrollments", region, "agency", json=registration)

    async def quote(self, region: str, person: str, year: int) -> httpx.Response:
        return await self._call("POST", "subsidy", "/api/quote", region, "tax_gateway", json={"id": person, "year": year})

    async def pay(self, person: str, amount_fen: int, *, region: str, year: int, paid_at: datetime,
                  **extra: Any) -> dict[str, Any]:
        """A receipt as the tax gateway streams it; returns what was sent."""
        sent = receipt(person, amount_fen, region=region, year=year, paid_at=paid_at, **extra)
        await produce(self.system.servers.kafka_bootstrap, self.system.topic(RECEIPT_RECEIVED.name),
                      [(person_key(person).encode(), encode(sent))])
        return sent

    async def record(self, region: str, person: str) -> httpx.Response:
        """The person's record (一人一档) as the insurance office sees it."""
        return await self._call("POST", "enrollment", "/api/person-record", region, "agency", json={"id": person})

    async def vulnerable(self, region: str, year: int) -> dict[str, Any]:
        answer = await self._call("GET", "reconciliation", "/api/vulnerable", region, "viewer",
                                  params={"region": region, "year": year})
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    async def progress(self, region: str, year: int) -> dict[str, Any]:
        answer = await self.client.get(self.system.url("reconciliation", "/api/progress"),
                                       params={"region": region, "year": year})
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    # -- waiting for the chain --

    async def quoted(self, region: str, person: str, year: int, timeout: float = 60) -> dict[str, Any]:
        """The quote once the subsidy service has assessed the person (200)."""
        answer = await until(lambda: self.quote(region, person, year), lambda r: r.status_code == 200, timeout)
        body: dict[str, Any] = answer.json()
        return body

    async def record_when(self, region: str, person: str, holds: Callable[[dict[str, Any]], bool],
                          timeout: float = 60) -> dict[str, Any]:
        """The person's record once `holds` is true of it."""
        answer = await until(lambda: self.record(region, person),
                             lambda r: r.status_code == 200 and holds(r.json()), timeout)
        body: dict[str, Any] = answer.json()
        return body


async def until(ask: Callable[[], Awaitable[T]], holds: Callable[[T], bool], timeout: float = 60,
                interval: float = 0.3) -> T:
    """Ask again until the answer holds; after `timeout` fail with the last answer (what the chain said)."""
    deadline = time.monotonic() + timeout
    while True:
        answer = await ask()
        if holds(answer):
            return answer
        if time.monotonic() > deadline:
            shown = answer.text if isinstance(answer, httpx.Response) else answer
            raise AssertionError(f"the chain did not get there within {timeout:.0f}s; last answer: {shown}")
        await asyncio.sleep(interval)
