"""`yibao topics ...`: Kafka topics from the table in `shared.topics`.

    yibao topics create [--bootstrap HOST:PORT]   # create the missing topics
    yibao topics list   [--bootstrap HOST:PORT]   # declared topics and whether they exist

The bootstrap address comes from YIBAO_KAFKA_BOOTSTRAP (default 127.0.0.1:19092,
the local stack's broker); on a broker with SASL, the admin principal's credentials
from YIBAO_KAFKA_SECURITY_PROTOCOL / _SASL_MECHANISM / _USERNAME / _PASSWORD.
"""
from __future__ import annotations

import asyncio
from typing import Any

import typer

from shared.topics import ALL_TOPICS


def _client_options() -> dict[str, Any]:
    from shared.kafka_security import aiokafka_options
    from shared.settings import ServiceSettings

    return aiokafka_options(ServiceSettings())


app = typer.Typer(no_args_is_help=True, help="Kafka topics declared in shared/topics.py.")

BootstrapOption = typer.Option(
    "127.0.0.1:19092", "--bootstrap", envvar="YIBAO_KAFKA_BOOTSTRAP", help="Kafka bootstrap servers."
)


@app.command("create")
def create(
    bootstrap: str = BootstrapOption,
    timeout: float = typer.Option(60.0, help="Seconds to keep retrying while the broker settles."),
) -> None:
    """Create every declared topic that does not exist yet (idempotent)."""
    from shared.kafka_admin import TopicCreationError, ensure_topics

    try:
        created = asyncio.run(ensure_topics(bootstrap, ALL_TOPICS, timeout_s=timeout, client_options=_client_options()))
    except TopicCreationError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    if created:
        typer.echo(f"created {len(created)} topic(s) on {bootstrap}: {', '.join(sorted(created))}")
    else:
        typer.echo(f"all {len(ALL_TOPICS)} topics already exist on {bootstrap}")


@app.command("list")
def list_(bootstrap: str = BootstrapOption) -> None:
    """Show the declared topics and which of them exist on the broker."""
    from aiokafka.admin import AIOKafkaAdminClient

    async def existing() -> set[str]:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000, **_client_options())
        await admin.start()
        try:
            return set(await admin.list_topics())
        finally:
            await admin.close()

    present = asyncio.run(existing())
    for t in ALL_TOPICS:
        mark = "ok     " if t.name in present else "MISSING"
        typer.echo(f"{mark} {t.name:36} partitions={t.partitions:<3} cleanup={t.cleanup:8} owner={t.owner}")
