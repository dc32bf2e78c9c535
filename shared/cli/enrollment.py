"""`yibao enrollment …`: bulk work against the enrollment service's HTTP API, and its credentials.

The CLI talks to the same API a village agent's screen does, with a region
credential (`--token` or YIBAO_ENROLLMENT_TOKEN), so bulk work gets the same
per-region access check, the same row-level refusals and the same events.
Resident IDs go in request bodies only and are printed masked.
"""
from __future__ import annotations

import asyncio
import csv
import io
import json
import sys
from pathlib import Path
from typing import NoReturn

import httpx
import typer

app = typer.Typer(no_args_is_help=True, help="参保登记: baseline and roster imports, bulk registration, coverage.")

URL = typer.Option("http://127.0.0.1:8000", "--url", envvar="YIBAO_ENROLLMENT_URL", help="enrollment service")
TOKEN = typer.Option(..., "--token", envvar="YIBAO_ENROLLMENT_TOKEN", help="region credential (Bearer token)")


def _fail(line: str, code: int = 2) -> NoReturn:
    typer.echo(line.replace("\n", " "), err=True)
    raise typer.Exit(code=code)


def _post(url: str, token: str, path: str, **kwargs) -> dict:
    try:
        response = httpx.post(url.rstrip("/") + path, headers={"Authorization": f"Bearer {token}"}, timeout=300,
                              **kwargs)
    except httpx.HTTPError as err:
        _fail(f"{url}: {type(err).__name__}: {err}", code=1)
    if response.status_code >= 400 and response.status_code != 422:
        _fail(f"{response.status_code}: {response.text}", code=1)
    return response.json()


@app.command("import")
def import_command(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help=".xlsx, .csv or .json"),
    roster: str = typer.Option("household", "--list", help="household (户籍底册) or employee (职工医保名单)"),
    source: str = typer.Option(None, "--source", help="where the list comes from"),
    url: str = URL, token: str = TOKEN,
) -> None:
    """Import a region's household register or employee-insurance roster; print accepted and refused rows."""
    if roster not in ("household", "employee"):
        _fail("--list: household 或 employee")
    data = {"list_name": roster, **({"source": source} if source else {})}
    result = _post(url, token, "/api/baseline/file", files={"file": (file.name, file.read_bytes())}, data=data)
    if "rows_total" not in result:
        _fail(json.dumps(result, ensure_ascii=False))
    typer.echo(f"{file.name}: {result['rows_total']}行，导入{result['rows_accepted']}行，退回{result['rows_rejected']}行"
               + (f"，未识别表头：{'、'.join(result['unknown_headers'])}" if result["unknown_headers"] else ""))
    for row in result["rejected"]:
        typer.echo(f"  第{row['line_no']}行 {row['person']}：{row['reason']}")


@app.command("register")
def register_command(
    file: Path = typer.Argument(..., exists=True, dir_okay=False,
                                help="JSON list or CSV with id, year, kind, hukou_region, residence_region, "
                                     "school_region, event_date, registered_on"),
    url: str = URL, token: str = TOKEN,
) -> None:
    """Register many people at once; one line per refusal with its reason, exit 3 if any was refused."""
    items = _registrations(file)
    result = _post(url, token, "/api/enrollments/bulk", json={"registrations": items})
    if "results" not in result:
        _fail(json.dumps(result, ensure_ascii=False))
    typer.echo(f"{result['total']}人：登记{result['registered']}，已登记{result['already']}，拒绝{result['refused']}")
    for row in result["results"]:
        if row["outcome"] == "refused":
            typer.echo(f"  第{row['line_no']}行 {row['person']}：{'；'.join(row['reasons'])}")
    if result["refused"]:
        raise typer.Exit(code=3)


def _registrations(file: Path) -> list[dict]:
    text = file.read_bytes().decode("utf-8-sig")
    if file.suffix.lower() == ".json":
        data = json.loads(text)
        return data["registrations"] if isinstance(data, dict) else data
    rows = list(csv.DictReader(io.StringIO(text)))
    items = [{k: v for k, v in row.items() if v not in (None, "")} for row in rows]
    for item in items:  # every CSV cell is text, but the API's year is a number ("2025" is refused as text)
        if isinstance(item.get("year"), str) and item["year"].strip().isascii() and item["year"].strip().isdigit():
            item["year"] = int(item["year"])
    return items


@app.command("advance")
def advance_command(as_of: str = typer.Option(None, "--as-of", help="YYYY-MM-DD; default today in China"),
                    url: str = URL, token: str = TOKEN) -> None:
    """Mark paid enrollments whose benefit window has begun as covered (run daily by the scheduler)."""
    result = _post(url, token, "/api/coverage/advance", json={"as_of": as_of})
    typer.echo(json.dumps(result, ensure_ascii=False))


@app.command("credential")
def credential_command(
    region: str = typer.Option(..., "--region"), role: str = typer.Option("agent", "--role", help="agent or agency"),
    holder: str = typer.Option(..., "--holder", help="who holds it, e.g. 榴城镇城关村代办员"),
) -> None:
    """Issue a credential for one region and role (needs YIBAO_PG_DSN); prints the token once."""
    from services.enrollment import store
    from shared.db import schema_connection
    from shared.settings import ServiceSettings

    if role not in ("agent", "agency"):
        _fail("--role: agent 或 agency")

    async def issue() -> str:
        async with schema_connection(ServiceSettings().pg_dsn, "enrollment") as conn:
            return await store.create_credential(conn, region, role, holder)

    try:
        token = asyncio.run(issue())
    except ValueError as err:  # a malformed region
        _fail(f"错误：{err}")
    typer.echo(token)
    sys.stdout.flush()
