"""Settings every service shares, read from the environment (prefix YIBAO_).

Services extend `ServiceSettings`; nothing reads the environment anywhere else.
"""
from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="YIBAO_", extra="ignore")

    kafka_bootstrap: str = Field("127.0.0.1:19092", description="Kafka bootstrap servers.")
    # Kafka authentication (shared/kafka_security.py turns these into client options; principals and ACLs:
    # shared/kafka_acls.py). PLAINTEXT, the default, is the local stack's broker, which has no authentication.
    kafka_security_protocol: Literal["PLAINTEXT", "SASL_PLAINTEXT"] = Field(
        "PLAINTEXT", description="PLAINTEXT (no authentication) or SASL_PLAINTEXT (a principal per service)."
    )
    kafka_sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"] = Field(
        "SCRAM-SHA-512", description="SASL mechanism; PLAIN only for the admin principal on the broker's internal listener."
    )
    kafka_username: str = Field("", description="This process's Kafka principal (SASL username).")
    kafka_password: SecretStr = Field(SecretStr(""), description="Its password (never logged).")
    pg_dsn: str = Field("postgresql://yibao@127.0.0.1:15432/yibao", description="PostgreSQL DSN.")
    pg_read_dsn: str = Field(
        "", description="A streaming replica (hot standby) the read-only APIs may read from (subsidy's quote "
        "fallback and person ledger, enrollment's person record, reconciliation's console); empty: the primary. "
        "Its role needs pg_read_all_stats to see the WAL receiver (shared/replica.py).")
    pg_read_max_lag_s: float = Field(
        5.0, description="Read from the replica only while it is at most this far behind; else from the primary.")
    redis_url: str = Field("redis://127.0.0.1:16379/0", description="Redis URL.")
    http_host: str = "127.0.0.1"
    http_port: int = Field(8000, description="Port of /health, /metrics and the service's HTTP API.")
    log_level: str = "INFO"
    topic_prefix: str = Field("", description="Prefix on every topic name: lets tests run side by side.")
    group_prefix: str = Field("yibao", description="Prefix of every consumer group id.")
    pg_idle_in_transaction_ms: int = Field(
        60_000, description="PostgreSQL ends a session idle inside a transaction this long (releases its locks)."
    )
    batch_max_records: int = Field(2000, description="Most records one consumer batch takes.")
    batch_timeout_ms: int = Field(50, description="How long a consumer waits to fill a batch.")
    outbox_batch: int = Field(5000, description="Most outbox rows the relay publishes at once.")
    kafka_compression: Literal["none", "lz4", "zstd", "snappy", "gzip"] = Field(
        "lz4", description="Compression of the record batches this service publishes (the broker keeps them "
        "as sent; consumers decompress). See the README's chain capacity for what it was measured to save.")
    outbox_sweep_s: float = Field(
        1.0, description="How often the outbox relay reads its table from the start, for rows whose transaction "
        "committed after a later one (at most this much extra delay for them; see shared/outbox.py)."
    )
    retry_backoff_s: float = Field(1.0, description="Pause before a failed batch is redelivered.")
    unsafe_ack_first: bool = Field(
        False,
        description="TEST ONLY (the chaos harness's negative control): commit offsets before processing, "
        "i.e. at most once. Never set it anywhere else: a crash then loses the batch.",
    )
    gc_gen0_threshold: int = Field(
        50_000,
        description="Allocations between two young-generation garbage collections (CPython's default is 700; "
        "0 keeps it). Batches allocate many short-lived objects: see shared/gc_tuning.py.",
    )
    campaign_year: int = Field(
        2025,
        description="The coverage year being collected (default: the seeds' campaign, autumn 2024 for 2025).",
    )

    @property
    def kafka_bootstrap_servers(self) -> list[str]:
        """`kafka_bootstrap` as a list: a cluster's nodes are named comma-separated (host:port,host:port), and
        FastStream takes a single string for one host."""
        return [s.strip() for s in self.kafka_bootstrap.split(",") if s.strip()]

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}{name}"

    def group(self, service: str, purpose: str) -> str:
        return f"{self.group_prefix}.{service}.{purpose}"
