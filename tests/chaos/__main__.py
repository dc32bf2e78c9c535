"""`python -m tests.chaos`: one bounded, seeded chaos run; prints the report, exits 1 when a check failed.

    python -m tests.chaos --receipts 200000                 # what `make chaos` runs
    python -m tests.chaos --receipts 3000 --kills 1 --broker-kills 1 --pg-stops 1
    python -m tests.chaos --receipts 3000 --negative-control   # must report losses (exit 0 when it does)
"""
from __future__ import annotations

import argparse
import json
import sys

from tests.chaos.supervisor import Plan, run


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.chaos", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--receipts", type=int, default=200_000, help="receipt records in the ledger (default 200000)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--kills", type=int, default=5, help="kills per service (SIGKILL and crash points)")
    p.add_argument("--broker-kills", type=int, default=3)
    p.add_argument("--pg-stops", type=int, default=3)
    p.add_argument("--redis-outages", type=int, default=1)
    p.add_argument("--network-episodes", type=int, default=1)
    p.add_argument("--no-replay", action="store_true")
    p.add_argument("--settle-timeout", type=float, default=3600.0)
    p.add_argument("--negative-control", action="store_true",
                   help="offsets committed before processing (YIBAO_UNSAFE_ACK_FIRST) and random crashes: "
                        "the checker must report losses")
    a = p.parse_args(argv)
    plan = Plan(receipts=a.receipts, seed=a.seed, kills_per_service=a.kills, broker_kills=a.broker_kills,
                pg_stops=a.pg_stops, redis_outages=a.redis_outages, network_episodes=a.network_episodes,
                replay=not a.no_replay and not a.negative_control, settle_timeout_s=a.settle_timeout,
                ack_first=a.negative_control, crash_probability=0.05 if a.negative_control else 0.0)
    report = run(plan)
    print(json.dumps(report, ensure_ascii=False, indent=2))
    if a.negative_control:
        found = report["lost"] > 0 or bool(report["failures"])
        print(f"negative control: checker reported lost={report['lost']} — {'as it must' if found else 'NOTHING: the checker cannot fail'}")
        return 0 if found else 1
    ok = not report["failures"] and report["lost"] == 0 and report["doubled"] == 0
    print(f"chaos: {'PASS' if ok else 'FAIL'} — receipts {report['check']['expected']['records']}, "
          f"lost {report['lost']}, doubled {report['doubled']}, kills {report['kills']}, "
          f"broker {report['broker_kills']}, postgres {report['postgres_stops']}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
