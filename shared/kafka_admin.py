"""Create the system's Kafka topics from the table in `shared.topics`.

`ensure_topics` is idempotent: topics that exist are left alone (their partition
count is not changed), missing ones are created with the declared partitions,
replication factor and `Topic.config()`. Used by `yibao topics create`, the local
stack and docker-compose's `topics` job.
"""
from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, TopicAlreadyExistsError, for_code

from shared.topics import ALL_TOPICS, Topic

# Broker error codes that mean "try again shortly" while a fresh broker settles.
_RETRIABLE_CODES = {
    5,   # LEADER_NOT_AVAILABLE
    7,   # REQUEST_TIMED_OUT
    41,  # NOT_CONTROLLER
    51,  # CONCURRENT_TRANSACTIONS
}


class TopicCreationError(RuntimeError):
    """One or more topics could not be created; the message names each and why."""


async def ensure_topics(
    bootstrap: str,
    topics: Iterable[Topic] = ALL_TOPICS,
    *,
    replication_factor: int = 1,
    timeout_s: float = 60.0,
    client_options: Mapping[str, Any] | None = None,
) -> list[str]:
    """Create the missing ones among `topics`; return the names that were created.

    Raises TopicCreationError with the broker's reason for any topic it refused,
    or when the broker cannot be reached within `timeout_s`. `client_options`: the
    admin principal's authentication (`shared.kafka_security.aiokafka_options`).
    """
    wanted = {t.name: t for t in topics}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    created: list[str] = []
    while True:
        try:
            done, retriable = await _create_missing(bootstrap, wanted, replication_factor, client_options or {})
            created += done
            if not retriable:
                return created
            last_error = "; ".join(retriable)
        except (TimeoutError, KafkaConnectionError, OSError) as exc:
            last_error = f"{type(exc).__name__}: {exc}"
        if loop.time() >= deadline:
            raise TopicCreationError(
                f"Kafka at {bootstrap} did not accept topic creation within {timeout_s:.0f}s: {last_error}"
            )
        await asyncio.sleep(1.0)


async def _create_missing(
    bootstrap: str, wanted: dict[str, Topic], replication_factor: int, client_options: Mapping[str, Any]
) -> tuple[list[str], list[str]]:
    """One attempt: (names created, retriable failures). Fatal failures raise."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15000, **client_options)
    try:
        await admin.start()
        existing = set(await admin.list_topics())
        missing = [t for name, t in wanted.items() if name not in existing]
        if not missing:
            return [], []
        response = await admin.create_topics(
            [NewTopic(t.name, t.partitions, replication_factor, topic_configs=t.config()) for t in missing],
            timeout_ms=15000,
        )
    finally:
        await admin.close()

    created: list[str] = []
    retriable: list[str] = []
    fatal: list[str] = []
    for entry in response.topic_errors:
        name, code = entry[0], entry[1]
        message = entry[2] if len(entry) > 2 and entry[2] else ""
        if code == 0:
            created.append(name)
        elif code == TopicAlreadyExistsError.errno:
            continue  # created by someone else meanwhile: fine
        else:
            reason = f"{name}: {for_code(code).__name__} {message}".strip()
            (retriable if code in _RETRIABLE_CODES else fatal).append(reason)
    if fatal:
        raise TopicCreationError("could not create Kafka topics: " + "; ".join(fatal))
    return created, retriable


__all__ = ["ensure_topics", "TopicCreationError"]


async def delete_topics_with_prefix(bootstrap: str, prefix: str, *, client_options: Mapping[str, Any] | None = None) -> list[str]:
    """Delete every topic whose name starts with `prefix` (a test system's own set); return their names.

    Refuses an empty prefix: that would be every topic of the cluster."""
    if not prefix:
        raise ValueError("refusing to delete topics without a prefix")
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15000, **(client_options or {}))
    try:
        await admin.start()
        doomed = sorted(name for name in await admin.list_topics() if name.startswith(prefix))
        if doomed:
            await admin.delete_topics(doomed, timeout_ms=15000)
        return doomed
    finally:
        await admin.close()
