"""Session-wide fixtures shared by every test folder.

`servers` gives the Kafka, PostgreSQL and Redis addresses (see tests/support/servers.py
for where they come from). Tests that need it fail, never skip, when none can be found.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from tests.support.servers import Servers, find_servers


@pytest.fixture(scope="session")
def servers() -> Iterator[Servers]:
    with ExitStack() as stack:
        try:
            found = find_servers(stack)
        except Exception as exc:  # noqa: BLE001 - turn it into a clear test failure
            pytest.fail(str(exc), pytrace=False)
        yield found
