"""`yibao demo`: a short collection season through the running services (cli/demo_season.py), its result shown."""
from __future__ import annotations

import asyncio

import typer


def demo_command(
    identity_url: str = typer.Option("http://127.0.0.1:18001", envvar="YIBAO_IDENTITY_URL"),
    enrollment_url: str = typer.Option("http://127.0.0.1:18002", envvar="YIBAO_ENROLLMENT_URL"),
    subsidy_url: str = typer.Option("http://127.0.0.1:18004", envvar="YIBAO_SUBSIDY_URL"),
    reconciliation_url: str = typer.Option("http://127.0.0.1:18005", envvar="YIBAO_RECONCILIATION_URL"),
    pg_dsn: str = typer.Option("postgresql://yibao@127.0.0.1:15432/yibao", envvar="YIBAO_PG_DSN"),
    kafka: str = typer.Option("127.0.0.1:19092", envvar="YIBAO_KAFKA_BOOTSTRAP"),
    topic_prefix: str = typer.Option("", envvar="YIBAO_TOPIC_PREFIX", help="As the services were started with."),
    people: int = typer.Option(24, min=4, max=500, help="How many residents the demo season has."),
    seed: int = typer.Option(2024, help="Random seed: the same seed gives the same season."),
) -> None:
    """Run a miniature collection season for 怀远县 through the five running services."""
    from cli.demo_season import Endpoints, run
    from shared.topics import RECEIPT_RECEIVED

    where = Endpoints(identity_url, enrollment_url, subsidy_url, reconciliation_url, pg_dsn, kafka,
                      topic_prefix + RECEIPT_RECEIVED.name)
    asyncio.run(run(where, people, seed))
