"""The capacity plan (issue 16): what a province needs at the December peak, from the chain benchmark's figures.

    python -m tests.bench.chain_bench --receipts 1000000 --fresh-seconds 0     # the measurement
    python -m tests.bench.capacity_plan artifacts/bench/chain-<time>.json --write deploy/CAPACITY.md

Every input is either measured by the chain benchmark (CPU µs per receipt of each service process and of
PostgreSQL and Kafka, WAL and database growth per receipt, per-process and batch figures) or an option of
this command with its default and where it comes from. The seeds give the coverage target (参保率 95 %,
seed 003 L23 and L115) and the collection period (1 September to 31 December, seed 000 L233, seed 003 L43);
they give no payment curve: the December share is the season simulator's default (`cli/receipt_season.py`
`Mix.december`), the busiest day and hour factors and the CPU headroom are assumptions to replace with a
region's own curve (reconciliation's progress by day, after one season). The arithmetic is in `plan()`.
"""
from __future__ import annotations

import argparse
import json
import math
from dataclasses import dataclass
from pathlib import Path

SERVICES = ("payment_ingest", "enrollment", "subsidy", "reconciliation", "identity_certification")


@dataclass(frozen=True)
class Assumptions:
    coverage: float = 0.95          # seed 003 L23/L115: 参保率 ≥ 95 %; every insured resident pays or is funded once
    period_days: int = 122          # 1 September - 31 December (seed 000 L233, seed 003 L43)
    december_share: float = 0.45    # share of the season's receipts paid in December (cli/receipt_season.py)
    busiest_day_factor: float = 3.0  # ASSUMPTION: the busiest December day against an average December day
    paying_hours: float = 15.0      # receipts from 07:00 to 22:00 (as the season simulator spreads them)
    busiest_hour_factor: float = 2.0  # ASSUMPTION: the busiest hour against an average hour of that day
    headroom: float = 0.6           # ASSUMPTION: plan cores to be at most 60 % busy at the peak hour
    outage_minutes: float = 60.0    # ASSUMPTION: a stall of the chain to recover from at the peak hour …
    catch_up_minutes: float = 15.0  # … within this long, while the peak goes on
    core_per_process: float = 0.8   # one Python process is one event loop: at most ~0.8 of a core in practice
    cores_per_broker: int = 8       # ASSUMPTION: broker machine size
    replication: int = 3            # topics' replication factor (deploy/k8s, issue 16)


def peak_rate(residents: int, a: Assumptions) -> float:
    """Receipts per second in the busiest hour of the season."""
    receipts = residents * a.coverage
    december_day = receipts * a.december_share / 31 + receipts * (1 - a.december_share) / a.period_days
    return december_day * a.busiest_day_factor / (a.paying_hours * 3600) * a.busiest_hour_factor


def design_rate(peak: float, a: Assumptions) -> float:
    """The rate to plan cores for: the peak hour with headroom, or the peak plus the backlog of an outage drained
    within the catch-up time (an hour's stall at the peak is the case that needs the cores, not the peak itself)."""
    return max(peak / a.headroom, peak * (1 + a.outage_minutes / a.catch_up_minutes))


def plan(report: dict, residents: int, a: Assumptions) -> dict:
    """What `residents` need, from a chain report (`tests/bench/chain_bench.py`)."""
    chain = report["chain"]
    peak = peak_rate(residents, a)
    rate = design_rate(peak, a)
    need: dict[str, dict[str, float]] = {}
    for name in SERVICES:
        us = chain["services"][name]["us_per_receipt_after_startup"]
        cores = rate * us / 1e6
        need[name] = {"us": us, "cores": cores, "instances": max(1, math.ceil(cores / a.core_per_process))}
    pg_us, kafka_us = chain["servers"]["postgres us/receipt"], chain["servers"]["kafka us/receipt"]
    pg_cores = rate * pg_us / 1e6
    # A follower fetches what the leader wrote: broker work grows with the replication factor.
    kafka_cores = rate * kafka_us * a.replication / 1e6
    instances = max(n["instances"] for n in need.values())
    written = chain.get("postgres_bytes_per_receipt", {})
    return {
        "residents": residents, "season_receipts": residents * a.coverage, "peak_rate": peak, "design_rate": rate,
        "services": need,
        "service_cores": sum(n["cores"] for n in need.values()),
        "partitions": max(6, 6 * math.ceil(instances / 6)),  # every instance of a group gets a partition
        "brokers": max(3, math.ceil(kafka_cores / a.cores_per_broker)), "kafka_cores": kafka_cores,
        "postgres_cores": pg_cores,
        "wal_mb_s": rate * written.get("wal", 0) / 1e6,  # while catching up
        "database_gb": residents * a.coverage * written.get("database_growth", 0) / 1e9,
    }


def markdown(report: dict, sizes: list[int], a: Assumptions, source: str) -> str:
    chain = report["chain"]
    rows = [plan(report, n, a) for n in sizes]
    out = [
        "# Capacity plan: a province at the December peak",
        "",
        f"Generated by `python -m tests.bench.capacity_plan {source} --write deploy/CAPACITY.md` from a chain "
        f"benchmark run of {chain['receipts']:,} receipts on {chain['cpu_us_per_receipt']['cores']} cores "
        f"({report['started'][:10]}, {chain['rate']:,.0f} receipts/s end to end there). Regenerate it after each "
        "measurement; nothing here is typed by hand but the text.",
        "",
        "## Measured per receipt (the inputs)",
        "",
        "| process | CPU µs per receipt |",
        "| --- | --- |",
        *[f"| {n} | {chain['services'][n]['us_per_receipt_after_startup']:.0f} |" for n in SERVICES],
        f"| PostgreSQL | {chain['servers']['postgres us/receipt']:.0f} |",
        f"| Kafka (one broker, no replication) | {chain['servers']['kafka us/receipt']:.0f} |",
        "",
    ]
    written = chain.get("postgres_bytes_per_receipt")
    if written:
        out += [f"PostgreSQL wrote {written['wal']:,} bytes of WAL per receipt and the database grew by "
                f"{written['database_growth']:,} bytes per receipt (all five schemas).", ""]
    out += [
        "## Assumptions (options of the command)",
        "",
        f"- coverage {a.coverage:.0%} of residents pay or are funded once (seed 003 L23, L115: 参保率 ≥ 95 %);",
        f"- a collection period of {a.period_days} days (seed 000 L233, seed 003 L43); "
        f"{a.december_share:.0%} of receipts in December (the season simulator's default, cli/receipt_season.py);",
        f"- **assumed**, no seed gives them: the busiest December day carries {a.busiest_day_factor}× an average "
        f"December day, receipts arrive over {a.paying_hours:.0f} hours a day and the busiest hour carries "
        f"{a.busiest_hour_factor}× the day's average; cores are planned {a.headroom:.0%} busy at that hour, and "
        f"enough to drain a {a.outage_minutes:.0f}-minute stall at that hour within {a.catch_up_minutes:.0f} "
        "minutes while the peak goes on (whichever needs more); a "
        f"service process uses at most {a.core_per_process} of a core; brokers of {a.cores_per_broker} cores; "
        f"replication factor {a.replication}. Replace them with a region's own curve (reconciliation's progress by "
        "day) after one season.",
        "",
        "## What the peak hour needs",
        "",
        "| residents | receipts in the season | peak receipts/s | planned receipts/s | service cores | instances per "
        "service (ingest, enrollment, subsidy, reconciliation, identity) | partitions per topic | brokers | "
        "PostgreSQL cores | WAL MB/s (catching up) | database GB per season |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        inst = ", ".join(str(r["services"][n]["instances"]) for n in SERVICES)
        out.append(f"| {r['residents'] / 1e6:,.0f} M | {r['season_receipts'] / 1e6:,.1f} M | {r['peak_rate']:,.0f} | "
                   f"{r['design_rate']:,.0f} | {r['service_cores']:.2f} | {inst} | {r['partitions']} | {r['brokers']} | "
                   f"{r['postgres_cores']:.2f} | {r['wal_mb_s']:.1f} | {r['database_gb']:.0f} |")
    chain_rate = chain["rate"]
    out += [
        "",
        "## Reading it",
        "",
        f"- The measured machine (2 cores, {chain_rate:,.0f} receipts/s end to end) carries the planned rate of a "
        f"province of {max(r['residents'] for r in rows if r['design_rate'] <= chain_rate) / 1e6:,.0f} million "
        "residents or fewer of this table on its own; the December peak of a province is tens to hundreds of "
        "receipts per second, and what needs the cores is catching up after a stall and the tax side's batch "
        "resends, which arrive at the chain's full rate." if any(r["design_rate"] <= chain_rate for r in rows)
        else f"- The measured machine (2 cores, {chain_rate:,.0f} receipts/s end to end) is below every row.",
        "- The chain is CPU-bound (the chain benchmark's `cores busy`); the services scale by instances in their "
        "consumer groups (a KEDA ScaledObject per service on consumer-group lag, deploy/k8s), up to one instance "
        "per partition: the partitions column is the smallest multiple of 6 that lets every instance have one.",
        "- PostgreSQL is one primary per deployment (CloudNativePG, deploy/k8s): the PostgreSQL cores column is what "
        "that primary must have at the peak hour; beyond one machine's cores the five schemas can live on separate "
        "primaries (each service reads and writes only its own schema), which splits that figure by the services' "
        "shares of the statement time (pg_stat_statements; the chain benchmark's PostgreSQL figure is the sum).",
        "- The national picture is the sum of the provinces: each province runs its own deployment (pooling is "
        "provincial), so the table row of each province's size applies to it; the totals add up linearly.",
        "- Measured on 2 shared cores of one machine: on dedicated cores the figures per receipt are usually lower, "
        "so the plan errs on the side of too much.",
    ]
    return "\n".join(out) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("report", type=Path, help="a chain benchmark report (artifacts/bench/chain-<time>.json)")
    p.add_argument("--residents", default="10000000,30000000,60000000",
                   help="province sizes, comma-separated (residents of the resident scheme)")
    p.add_argument("--write", type=Path, help="write the plan here (Markdown) instead of printing it")
    defaults = Assumptions()
    for name, value in vars(defaults).items():
        p.add_argument("--" + name.replace("_", "-"), type=type(value), default=value)
    args = p.parse_args()
    a = Assumptions(**{k: getattr(args, k) for k in vars(defaults)})
    text = markdown(json.loads(args.report.read_text()), [int(x) for x in args.residents.split(",")], a,
                    args.report.as_posix())
    if args.write:
        args.write.write_text(text)
        print(f"wrote {args.write}")
    else:
        print(text)


if __name__ == "__main__":
    main()
