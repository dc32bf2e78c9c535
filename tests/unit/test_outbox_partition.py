"""The relay's partitioner: one key always lands on one partition, and keys spread over all of them."""
from __future__ import annotations

from collections import Counter

from shared.outbox import partition_of
from shared.resident_id import person_key


def test_a_key_always_has_the_same_partition_and_keys_spread_evenly():
    partitions = list(range(12))
    keys = [person_key(f"3403211980010100{n:02d}").encode() for n in range(100)] + [str(n).encode() for n in range(5900)]
    first = [partition_of(k, partitions) for k in keys]
    assert first == [partition_of(k, partitions) for k in keys]
    spread = Counter(first)
    assert set(spread) == set(partitions)
    assert max(spread.values()) < 1.3 * len(keys) / len(partitions)


def test_partition_ids_come_from_the_topics_list():
    assert {partition_of(str(n).encode(), [3, 7]) for n in range(50)} == {3, 7}
