"""Kafka plumbing shared by every service: batch decoding, at-least-once subscribers, the producer.

Subscribers consume in batches and acknowledge (commit offsets) only after the
handler returned, i.e. after the database commit; on an error the batch is
rewound and redelivered (AckPolicy.NACK_ON_ERROR). FastStream's default,
ack-first, would lose a batch on a crash. A record that cannot be read does not
stop the partition: the decoder sets it aside for the handler to dead-letter.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaProducer
from faststream import AckPolicy
from faststream.kafka import KafkaRouter
from faststream.kafka import Topic as DeclaredTopic
from pydantic import TypeAdapter, ValidationError

from shared.kafka_security import aiokafka_options
from shared.logging import mask_ids
from shared.settings import ServiceSettings


@dataclass(frozen=True)
class Unreadable:
    """A record the decoder could not turn into the topic's model."""

    topic: str
    partition: int
    offset: int
    value: bytes
    reason: str
    is_json: bool  # valid JSON of the wrong shape, as opposed to bytes that are not JSON at all

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.value).hexdigest()

    @property
    def masked_text(self) -> str:
        return mask_ids(self.value[:4096].decode("utf-8", "replace"))


def describe_validation_error(err: ValidationError) -> str:
    """A one-line reason naming each field that failed, without echoing input values."""
    parts = []
    for item in err.errors(include_url=False, include_input=False)[:5]:
        where = ".".join(str(p) for p in item["loc"]) or "message"
        parts.append(f"{where}: {mask_ids(item['msg'])}")
    return "; ".join(parts)


def batch_decoder(model: Any, passes_over: Sequence[str] = ()) -> Callable[[Any], Any]:
    """A FastStream decoder: each record of a batch becomes a `model` instance or an `Unreadable`.

    The valid instances are the handler's body (already validated, so FastStream's
    own validation of `list[model]` does not repeat the work); the rest are left on
    the message as `message.unreadable`. Records of the event types in `passes_over` are
    not decoded at all: a topic of several event types whose consumer acts on few.
    """
    adapter = TypeAdapter(model)
    # The events' own spelling (pydantic writes JSON without spaces). Inside a JSON string the quotes
    # would be escaped, so no field's text can match; a record that does not match is decoded and left
    # to the handler: the worst a different spelling does is cost the decoding.
    skipped = tuple(f'"event_type":"{t}"'.encode() for t in passes_over)

    async def decode(message: Any) -> list[Any]:
        good: list[Any] = []
        bad: list[Unreadable] = []
        for record in message.raw_message:
            value = record.value or b""
            if skipped and any(s in value for s in skipped):
                continue
            try:
                good.append(adapter.validate_json(value))
            except ValidationError as err:
                is_json = not any(e["type"] == "json_invalid" for e in err.errors())
                reason = describe_validation_error(err) if is_json else "not valid JSON"
                bad.append(Unreadable(record.topic, record.partition, record.offset, value, reason, is_json))
        message.unreadable = bad
        return good

    return decode


def batch_subscriber(router: KafkaRouter, settings: ServiceSettings, topic: str, *, group: str, model: Any,
                     description: str, passes_over: Sequence[str] = ()) -> Any:
    """Declare an at-least-once batch subscriber on `topic` for `model`; events of the types in `passes_over`
    are not decoded (`batch_decoder`)."""
    return router.subscriber(  # type: ignore[call-overload]  # faststream's overloads miss batch + decoder
        # declare=False: topics are created by `yibao topics create` from shared/topics.py only (partitions,
        # cleanup policy). FastStream would otherwise try to create each topic at start, which a broker with
        # ACLs refuses (a service has no CREATE right) and, on a missing topic, would make a 1-partition one.
        DeclaredTopic(settings.topic(topic), declare=False),
        group_id=group,
        batch=True,
        max_records=settings.batch_max_records,
        batch_timeout_ms=settings.batch_timeout_ms,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR if not settings.unsafe_ack_first else AckPolicy.ACK_FIRST,
        decoder=batch_decoder(model, passes_over),
        description=description,
        # unsafe_ack_first exists only so the chaos harness can prove its checker sees losses: FastStream's
        # ACK_FIRST is aiokafka's auto-commit of fetched positions, here every 100 ms (before processing ends).
        **({"auto_commit_interval_ms": 100} if settings.unsafe_ack_first else {}),
    )


def create_producer(settings: ServiceSettings) -> AIOKafkaProducer:
    """An idempotent producer (acks=all): a retried send is not written twice by the broker."""
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        enable_idempotence=True,
        acks="all",
        linger_ms=5,
        max_batch_size=512 * 1024,
        compression_type=None if settings.kafka_compression == "none" else settings.kafka_compression,
        client_id="yibao-outbox",
        **aiokafka_options(settings),
    )
