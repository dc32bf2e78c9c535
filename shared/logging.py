"""Structured JSON logging (structlog) with resident IDs masked in every field.

Anything that looks like a resident ID — 17 digits and a digit or X — is masked
before a line is written, whatever the caller passed: a log line is never the
place a full ID may leak from.
"""
from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog
from structlog.typing import FilteringBoundLogger, Processor

from shared.resident_id import mask

_ID_PATTERN = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9])")


def mask_ids(text: str) -> str:
    """Replace every resident-ID-shaped run in `text` with its masked form."""
    return _ID_PATTERN.sub(lambda m: mask(m.group(0)), text)


def _mask_value(value: Any) -> Any:
    if isinstance(value, str):
        return mask_ids(value)
    if isinstance(value, dict):
        return {k: _mask_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_mask_value(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return mask_ids(bytes(value).decode("utf-8", "replace"))
    return value


def _mask_processor(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> dict[str, Any]:
    return {k: _mask_value(v) for k, v in event.items()}


class _CurrentStderr:
    """Whatever `sys.stderr` is when a line is written, not when logging was configured: a test runner or
    a command-line test harness swaps it (and closes the one it swapped in) after configuration."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A handler writing to the current `sys.stderr` (as the standard library's last-resort handler does)."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def configure_logging(service: str, level: str = "INFO") -> None:
    """Route structlog and the standard library (aiokafka, uvicorn, faststream) through one masked JSON output."""
    shared_processors: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
    ]
    structlog.configure(
        processors=[*shared_processors, _mask_processor, structlog.processors.JSONRenderer(ensure_ascii=False)],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(_CurrentStderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,
    )
    structlog.contextvars.bind_contextvars(service=service)
    handler = _StderrHandler()
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                _mask_processor,
                structlog.processors.JSONRenderer(ensure_ascii=False),
            ],
            foreign_pre_chain=[*shared_processors, structlog.stdlib.add_logger_name],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # FastStream gives its logger a plain-text handler of its own: route it through ours instead.
    framework = logging.getLogger("faststream")
    framework.handlers.clear()
    framework.propagate = True


def get_logger(name: str) -> FilteringBoundLogger:
    # structlog.get_logger is typed Any: a lazy proxy that binds to the wrapper_class configure_logging sets.
    logger: FilteringBoundLogger = structlog.get_logger(name)
    return logger
