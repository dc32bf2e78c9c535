"""`yibao simulate receipts`: a season of tax receipts (cli/receipt_season.py) streamed to Kafka.

    yibao simulate receipts --region 340321 --count 100000 [--rate 5000] [--seed 7] [--ledger out.csv]
"""
from __future__ import annotations

import asyncio
import csv
import json
import sys

import typer

app = typer.Typer(no_args_is_help=True, help="Simulated input for demos, tests and benchmarks.")


@app.command("receipts")
def receipts_command(
    region: str = typer.Option(..., help="pooling region code with a policy pack, e.g. 340321"),
    count: int = typer.Option(10_000, help="records to send"),
    rate: float = typer.Option(None, help="records per second (default: as fast as possible)"),
    seed: int = typer.Option(7, help="random seed: the same seed gives the same season"),
    year: int = typer.Option(2025, help="coverage year"),
    topic: str = typer.Option(None, help="default: <YIBAO_TOPIC_PREFIX>payment.receipt-received"),
    bootstrap: str = typer.Option("127.0.0.1:19092", envvar="YIBAO_KAFKA_BOOTSTRAP"),
    ledger: str = typer.Option(None, help="write receipt_no,amount_fen,expect per record to this CSV"),
) -> None:
    """Stream a season of receipts to the receipt topic; print the expected totals as JSON."""
    from cli.receipt_season import produce, season, season_totals
    from shared.kafka_security import aiokafka_options
    from shared.settings import ServiceSettings

    settings = ServiceSettings()  # on a broker with SASL: the tax gateway's principal, from YIBAO_KAFKA_*
    topic = topic or settings.topic("payment.receipt-received")
    records = list(season(region, count, seed=seed, year=year))
    if ledger:
        with open(ledger, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["receipt_no", "amount_fen", "expect"])
            w.writerows((r.receipt_no or "", r.amount_fen, r.expect) for r in records)
    sent = asyncio.run(produce(bootstrap, topic, iter(records), rate, client_options=aiokafka_options(settings)))
    typer.echo(json.dumps({"topic": topic, "sent": sent, "expected": season_totals(records)}, ensure_ascii=False))
    sys.stdout.flush()
