"""Prometheus metrics every service exposes on /metrics."""
from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

MESSAGES = Counter(
    "yibao_messages_total",
    "Messages consumed, by outcome (processed, duplicate, rejected, dead_lettered).",
    ["service", "topic", "outcome"],
)
BATCH_SECONDS = Histogram(
    "yibao_batch_seconds", "Time to process one consumed batch, database commit included.", ["service", "topic"],
)
BATCH_FAILURES = Counter(
    "yibao_batch_failures_total", "Batches that failed and will be redelivered.", ["service", "topic"],
)
OUTBOX_PUBLISHED = Counter("yibao_outbox_published_total", "Outbox rows published to Kafka.", ["schema"])
OUTBOX_BACKLOG = Gauge("yibao_outbox_backlog", "Outbox rows waiting (0 when the relay caught up).", ["schema"])
REGISTRATIONS = Counter(
    "yibao_registrations_total",
    "Registrations answered (one, a bulk list, the command line), by region, outcome (registered, already, refused) "
    "and a refusal's reason code: count in = accepted + refused.",
    ["region", "outcome", "reason_code"],
)
