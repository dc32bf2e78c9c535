"""Session-wide fixtures shared by every test folder.

`servers` gives the Kafka, PostgreSQL and Redis addresses (see tests/support/servers.py
for where they come from). Tests that need it fail, never skip, when none can be found.

Property tests: on a developer's machine hypothesis draws new examples every run (that is
how it finds the rare case); under CI (CI set, as `.ci/run` does) the draws are fixed, so a
landing is judged by the code and not by the luck of the draw — a case a developer's run
finds is then turned into a fixed example or a fixed rule.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack

import pytest
from hypothesis import settings

from tests.support.servers import Servers, find_servers

settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(scope="session")
def servers() -> Iterator[Servers]:
    with ExitStack() as stack:
        try:
            found = find_servers(stack)
        except Exception as exc:
            pytest.fail(str(exc), pytrace=False)
        yield found
