"""`yibao identity …`: a department's monthly exchange from the command line.

- `submit FILE` uploads a CSV/XLSX list to the identity certification service's HTTP
  API with the department's credential, with a progress bar of the upload and one of the rows
  the service has read and merged (from GET /api/submissions), and prints the outcome
  (the CLI does not touch the database: the service checks the credential and the
  categories exactly as for an upload from a browser).
- `result SUBMISSION_ID` downloads the row-level result (CSV or XLSX).
- `credential` issues a department's credential for a region (an administrator's
  command: it writes to the service's schema) and prints the token once.

The credential is read from `YIBAO_IDENTITY_TOKEN` (or `--token`; the environment
keeps it out of the process list and shell history).

Only typer and the standard library are imported here: `yibao --help` loads every
group's module, so each command imports what it needs when it runs.
"""
from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any, BinaryIO, NoReturn

import typer

app = typer.Typer(no_args_is_help=True, help="身份认定: departments' monthly lists of special statuses.")

URL = typer.Option("http://127.0.0.1:18001", "--url", envvar="YIBAO_IDENTITY_URL",
                   help="Base URL of the identity certification service.")
TOKEN = typer.Option(..., "--token", envvar="YIBAO_IDENTITY_TOKEN", help="The department's credential.",
                     show_default=False)


class _Progress:
    """A file whose reads move a tqdm bar: httpx reads the upload in chunks through it."""

    def __init__(self, file: BinaryIO, bar: Any) -> None:
        self._file, self._bar = file, bar

    def read(self, size: int = -1) -> bytes:
        chunk = self._file.read(size)
        self._bar.update(len(chunk))
        return chunk


class _Watcher:
    """A second bar, of the rows the service has read and merged, while it processes the upload: polls the
    department's latest submissions (GET /api/submissions) for the one that was not there before. Best effort:
    a service that does not answer leaves only the upload bar."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        import threading

        self._url, self._headers = f"{url.rstrip('/')}/api/submissions", headers
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._done.set()
        self._thread.join(timeout=5)

    def _latest(self, client: Any) -> list[dict[str, Any]]:
        answer = client.get(self._url, params={"limit": 5}, headers=self._headers, timeout=5)
        return answer.json() if answer.status_code == 200 else []

    def _run(self) -> None:
        import httpx
        from tqdm import tqdm

        try:
            with httpx.Client() as client:
                before = {s["submission_id"] for s in self._latest(client)}
                bar = None
                while not self._done.wait(1.0):
                    mine = next((s for s in self._latest(client) if s["submission_id"] not in before), None)
                    if mine is None:
                        continue
                    bar = bar or tqdm(unit="行", desc="处理", position=1, leave=False)
                    bar.n = mine["rows_read"]
                    bar.set_postfix_str(f"校验{mine['rows_validated']} 合并{mine['rows_merged']}")
                if bar is not None:
                    bar.close()
        except (httpx.HTTPError, ValueError, KeyError):
            return


def _fail(line: str, code: int = 2) -> NoReturn:
    typer.echo(line, err=True)
    raise typer.Exit(code)


@app.command("submit")
def submit_command(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="CSV or XLSX list."),
    department: str = typer.Option(..., "--department", help="Department code, e.g. civil_affairs."),
    region: str = typer.Option(..., "--region", help="Pooling region code, e.g. 340321."),
    period: str = typer.Option(..., "--period", help="Month the list is for: 2024-11."),
    mode: str = typer.Option("delta", "--mode", help="delta (adds/ends) or snapshot (full list; missing people ended)."),
    category: str = typer.Option(None, "--category", help=(
        "Category of every row, for a file with no 人员类别 column (not needed when the department certifies only "
        "one category, or for a 监测类型 list: read as poverty_monitoring).")),
    categories: str = typer.Option(None, "--categories", help="Snapshot scope, comma-separated."),
    url: str = URL,
    token: str = TOKEN,
    timeout: float = typer.Option(3600.0, "--timeout", help="Seconds to wait for a large file to be processed."),
    as_json: bool = typer.Option(False, "--json", help="Print the service's whole answer as JSON."),
) -> None:
    """Upload a department's list; exit 0 when processed or already processed, 1 when refused."""
    import httpx
    from tqdm import tqdm

    if mode not in ("delta", "snapshot"):
        _fail("--mode 只能是 delta 或 snapshot")
    form = {"period": period, "mode": mode, "department": department, "region": region}
    form |= {k: v for k, v in (("category", category), ("categories", categories)) if v}
    size = file.stat().st_size
    headers = {"Authorization": f"Bearer {token}"}
    watcher = _Watcher(url, headers)
    with file.open("rb") as raw, tqdm(total=size, unit="B", unit_scale=True, desc=f"上传 {file.name}") as bar:
        watcher.start()
        try:
            response = httpx.post(
                f"{url.rstrip('/')}/api/submissions/file", data=form,
                files={"file": (file.name, _Progress(raw, bar), "application/octet-stream")},
                headers=headers, timeout=timeout,
            )
        except httpx.HTTPError as err:
            _fail(f"无法连接身份认定服务 {url}：{err}")
        finally:
            watcher.stop()
    body = response.json()
    answer = body.get("detail", body) if isinstance(body, dict) else body
    if as_json:
        typer.echo(json.dumps(answer, ensure_ascii=False, indent=2))
    elif isinstance(answer, dict) and "outcome" in answer:
        _print_answer(answer)
    else:
        typer.echo(str(answer), err=True)
    if response.status_code == 200:
        return
    raise typer.Exit(1 if response.status_code in (401, 403, 422) else 2)


def _print_answer(answer: dict) -> None:
    typer.echo(f"报送编号 {answer['submission_id']}：{answer['message']}")
    for note in answer.get("notes", []):
        typer.echo(f"  提示：{note}")
    for row in answer.get("rejected", [])[:20]:
        typer.echo(f"  第{row['line_no']}行 {row['person']}：{row['reason']}")
    if answer["rows_rejected"] > 20:
        typer.echo(f"  ……共{answer['rows_rejected']}行退回，完整结果：yibao identity result {answer['submission_id']}")


@app.command("result")
def result_command(
    submission_id: str = typer.Argument(..., help="The submission id printed by `submit`."),
    out: Path = typer.Option(..., "--out", "-o", help="Where to save it; .xlsx gives a workbook, else CSV."),
    url: str = URL,
    token: str = TOKEN,
) -> None:
    """Download the row-level result of a submission (line numbers, masked IDs, reasons)."""
    import httpx

    fmt = "xlsx" if out.suffix.lower() == ".xlsx" else "csv"
    with httpx.stream("GET", f"{url.rstrip('/')}/api/submissions/{submission_id}/result", params={"format": fmt},
                      headers={"Authorization": f"Bearer {token}"}, timeout=600) as response:
        if response.status_code != 200:
            response.read()
            _fail(f"下载失败（{response.status_code}）：{response.text}", 1)
        with out.open("wb") as sink:
            for chunk in response.iter_bytes():
                sink.write(chunk)
    typer.echo(f"已保存 {out}")


@app.command("credential")
def credential_command(
    department: str = typer.Option(..., "--department", help="Department code, e.g. civil_affairs."),
    region: str = typer.Option(..., "--region", help="Pooling region code, e.g. 340321."),
    dsn: str = typer.Option("postgresql://yibao@127.0.0.1:15432/yibao", envvar="YIBAO_PG_DSN", help="PostgreSQL DSN."),
) -> None:
    """Issue a new credential for a department and region (the previous one stops working); print it once."""
    token = asyncio.run(_issue(dsn, department, region))
    typer.echo(token)
    typer.echo(f"这是{department}/{region}的新凭证，只显示这一次；原有凭证已作废。请通过安全渠道交给该部门。", err=True)


async def _issue(dsn: str, department: str, region: str) -> str:
    from services.identity_certification.usecases import issue_credential
    from shared.contracts import contract
    from shared.db import schema_connection
    from shared.settings import ServiceSettings
    from shared.uow import unit_of_work

    schema = contract("identity_certification").schema
    async with schema_connection(dsn, schema) as conn, \
            unit_of_work(conn, schema=schema, topic_prefix=ServiceSettings().topic_prefix) as uow:
        issued = await issue_credential(uow, department, region, channel="cli")
    if issued.token is None:
        _fail(issued.refusal or "")
    return issued.token
