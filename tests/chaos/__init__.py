"""The fault harness: a ground-truth ledger, a supervisor that breaks things, and a checker.

    python -m tests.chaos --receipts 200000          # `make chaos`
    python -m tests.chaos --receipts 3000 --tier small

ledger.py     the generator: receipts and status changes, with what each must come to
infra.py      private Kafka, PostgreSQL and Redis (own ports and data under .local/chaos/)
proxy.py      a loopback TCP proxy that adds latency, resets connections or black-holes them
supervisor.py the run: start, feed, break (SIGKILL, crash points, broker, database, Redis, network), settle
checker.py    what must hold at the end: nothing lost, nothing doubled, money and dues right, replay equal
cluster.py    the chain on a three-broker cluster: brokers killed, rolled, instances added and killed (`make chaos-cluster`)
standby.py    PostgreSQL failover to a synchronous streaming standby under the chain (`make chaos-standby`)
"""
