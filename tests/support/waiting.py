"""Waiting in end-to-end tests: poll until the asynchronous system has caught up, or fail saying why."""
from __future__ import annotations

import asyncio
import time

import pytest


async def eventually(check, timeout: float = 30.0, interval: float = 0.2):
    """Call `check` until it returns something truthy; fail with its last answer."""
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout}s; last answer: {result!r}")
        await asyncio.sleep(interval)
