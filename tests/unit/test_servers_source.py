"""Which servers the tests use: the environment wins, and half a configuration is an error."""
from __future__ import annotations

import pytest

from tests.support.servers import ServersUnavailable, from_env

FULL = {
    "YIBAO_KAFKA_BOOTSTRAP": "127.0.0.1:19092",
    "YIBAO_PG_DSN": "postgresql://yibao@127.0.0.1:15432/yibao",
    "YIBAO_REDIS_URL": "redis://127.0.0.1:16379/0",
}


def test_all_three_variables_are_used():
    servers = from_env(FULL)
    assert servers is not None and servers.source == "env"
    assert servers.env() == FULL


def test_no_variables_means_look_elsewhere():
    assert from_env({}) is None


def test_partial_environment_fails_with_the_missing_names():
    with pytest.raises(ServersUnavailable, match="YIBAO_REDIS_URL"):
        from_env({k: v for k, v in FULL.items() if k != "YIBAO_REDIS_URL"})
