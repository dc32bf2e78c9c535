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
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import asyncpg
import httpx

from shared.resident_id import person_key
from shared.topics import RECEIPT_RECEIVED, STATUS_CHANGED
from tests.support.kafka import produce, read_all
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
        """A credential issued by the service's own grant, as `yibao … grant` issues it."""
        schema = {"identity_certification": "identity"}.get(service, service)
        holder = f"场景测试：{role}@{region}"
        conn = await asyncpg.connect(self.system.pg_dsn, server_settings={"search_path": schema})
        try:
            if service == "identity_certification":
                from services.identity_certification import store as identity_store
                return await identity_store.create_credential(conn, role, region)
            if service == "enrollment":
                from services.enrollment import store as enrollment_store
                return await enrollment_store.create_credential(conn, region, role, holder)
            if service == "subsidy":
                from services.subsidy.access import ROLES
                return await ROLES.grant(conn, region, role, holder)
            from services.reconciliation import access
            return await access.grant(conn, region, role, holder)
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

    async def register_bulk(self, region: str, registrations: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """A list of registrations in one request; the answer has one result per line, in order."""
        answer = await self._call("POST", "enrollment", "/api/enrollments/bulk", region, "agency",
                                  json={"registrations": list(registrations)})
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    async def refund(self, region: str, person: str, year: int, reason: str, requested_on: str) -> dict[str, Any]:
        """A refund asked for at the insurance office's counter (death, duplicate payment, employee insurance …)."""
        answer = await self._call("POST", "enrollment", "/api/refunds", region, "agency",
                                  json={"id": person, "year": year, "reason": reason, "requested_on": requested_on})
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    async def refund_orders(self, region: str, person: str, year: int) -> list[dict[str, Any]]:
        """The subsidy service's refund orders of the person (先缴后补), as its refund clerk finds them."""
        answer = await self._call("POST", "subsidy", "/api/refunds/search", region, "refund_clerk",
                                  json={"id": person, "year": year})
        assert answer.status_code == 200, answer.text
        found: list[dict[str, Any]] = answer.json()["refunds"]
        return found

    async def metric(self, service: str, name: str, **labels: str) -> float:
        """A counter's value on a service's /metrics (0 before it was first counted), its labels as given."""
        answer = await self.client.get(self.system.url(service, "/metrics/"))
        assert answer.status_code == 200, answer.text
        wanted = {f'{k}="{v}"' for k, v in labels.items()}
        for line in answer.text.splitlines():
            head, _, value = line.rpartition(" ")
            if head.startswith(name + "{") and wanted <= set(head[len(name) + 1:-1].split(",")):
                return float(value)
        return 0.0

    async def quote(self, region: str, person: str, year: int) -> httpx.Response:
        return await self._call("POST", "subsidy", "/api/quote", region, "tax_gateway", json={"id": person, "year": year})

    async def quote_on(self, region: str, person: str, year: int, day: str) -> httpx.Response:
        """The quote for a payment on `day` (China): what the tax gateway asks at the counter."""
        return await self._call("POST", "subsidy", "/api/quote", region, "tax_gateway",
                                json={"id": person, "year": year, "paid_on": day})

    async def pay(self, person: str, amount_fen: int, *, region: str, year: int, paid_at: datetime,
                  **extra: Any) -> dict[str, Any]:
        """A receipt as the tax gateway streams it; returns what was sent."""
        sent = receipt(person, amount_fen, region=region, year=year, paid_at=paid_at, **extra)
        await produce(self.system.servers.kafka_bootstrap, self.system.topic(RECEIPT_RECEIVED.name),
                      [(person_key(person).encode(), encode(sent))])
        return sent

    async def tax_side_knows(self, person: str, year: int, holds: Callable[[dict[str, Any]], bool],
                             timeout: float = 60) -> dict[str, Any]:
        """Wait until payment ingest holds the person's due with facts for which `holds` is true (PayerFacts as
        JSON). Not an assertion of the scenario but its precondition: a gateway collects after the quote, by
        when the due has long reached the tax side; a test that pays at once must wait for it explicitly."""
        async def ask() -> dict[str, Any] | None:
            conn = await asyncpg.connect(self.system.pg_dsn, server_settings={"search_path": "payment"})
            try:
                text = await conn.fetchval("SELECT payer::text FROM due WHERE person_id = $1 AND year = $2",
                                           person, year)
            finally:
                await conn.close()
            return json.loads(text) if text else None
        found = await until(ask, lambda facts: facts is not None and holds(facts), timeout)
        assert found is not None
        return found

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

    async def advance_coverage(self, region: str, as_of: str | None = None) -> dict[str, Any]:
        """The insurance office's daily step: paid enrollments whose benefit window has begun become covered."""
        answer = await self._call("POST", "enrollment", "/api/coverage/advance", region, "agency",
                                  json={"as_of": as_of} if as_of else {})
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    async def not_enrolled(self, region: str, year: int) -> list[dict[str, Any]]:
        """Every entry of the vulnerable-not-enrolled lists (应保未保), each with its group's category (persons
        masked: region code and last two characters, with township and village)."""
        groups = (await self.vulnerable(region, year))["groups"]
        return [{**p, "category": g["category"]} for g in groups for p in g["not_enrolled"]]

    async def transfers(self, region: str, year: int) -> dict[str, Any]:
        """Subsidy to transfer per funding source (and per source, township and mode), for the enrolled."""
        answer = await self._call("GET", "reconciliation", "/api/transfers", region, "viewer",
                                  params={"region": region, "year": year})
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    # -- reconciliation: the bank's file, a run and what it found --

    async def settle(self, region: str, bank: str, lines: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """A bank's settlement file as the clerk hands it in (lines: settlement_ref, settled_on, channel, pay_date,
        receipt_no ('' for a channel's day total), amount in 元); the region is the clerk's."""
        columns = ("settlement_ref", "settled_on", "region", "channel", "pay_date", "receipt_no", "amount")
        text = "\n".join([",".join(columns), *(",".join(str({**line, "region": region}[c]) for c in columns)
                                                for line in lines)]) + "\n"
        headers = {**await self._headers("reconciliation", region, "clerk"), "Content-Type": "text/csv"}
        answer = await self.client.post(self.system.url("reconciliation", "/api/imports/bank-settlement"),
                                        params={"bank": bank}, content=text.encode(), headers=headers)
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    async def run(self, region: str, year: int, day: str) -> dict[str, Any]:
        """A reconciliation run of the region-year as of the end of `day` (ISO date), started by the clerk."""
        answer = await self._call("POST", "reconciliation", "/api/runs", region, "clerk",
                                  json={"region": region, "year": year, "day": day})
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    async def discrepancies(self, region: str, year: int, kind: str | None = None) -> list[dict[str, Any]]:
        """The open discrepancies of the region-year still present in its last run (persons masked)."""
        params: dict[str, Any] = {"region": region, "year": year, **({"kind": kind} if kind else {})}
        answer = await self._call("GET", "reconciliation", "/api/discrepancies", region, "viewer", params=params)
        assert answer.status_code == 200, answer.text
        found: list[dict[str, Any]] = answer.json()["discrepancies"]
        return found

    async def reconciled(self, region: str, person: str) -> httpx.Response:
        """What reconciliation holds on the person in `region` (receipts, dues, statuses, discrepancies)."""
        return await self._call("POST", "reconciliation", "/api/person", region, "viewer", json={"id": person})

    async def status_changes(self, person: str) -> list[dict[str, Any]]:
        """Every identity.status-changed about the person so far, in the order its consumers read them (one
        person's events share a partition): what each department's list announced, region by region."""
        records = await read_all(self.system.servers.kafka_bootstrap, self.system.topic(STATUS_CHANGED.name))
        found: list[dict[str, Any]] = [json.loads(r.value) for r in records if r.key == person_key(person).encode()]
        return found

    # -- waiting for the chain --

    async def reconciled_when(self, region: str, person: str, holds: Callable[[dict[str, Any]], bool],
                              timeout: float = 60) -> dict[str, Any]:
        """Reconciliation's view of the person once `holds` is true of it (it consumes every topic on its own)."""
        answer = await until(lambda: self.reconciled(region, person),
                             lambda r: r.status_code == 200 and holds(r.json()), timeout)
        body: dict[str, Any] = answer.json()
        return body

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
