"""The remembered partition of a key is the one aiokafka's partitioner picks."""

from __future__ import annotations

import uuid

from aiokafka.partitioner import murmur2

from projectors.runtime.batch_send import PARTITION_CACHE, _keyed


def test_a_remembered_partition_is_the_murmur2_partition() -> None:
    for parts in ((0, 1, 2), (0, 1, 2, 3, 4, 5)):
        for _ in range(200):
            key = str(uuid.uuid4()).encode()
            expected = parts[(murmur2(key) & 0x7FFFFFFF) % len(parts)]
            assert _keyed(key, parts) == expected
            assert _keyed(key, parts) == expected  # from the cache


def test_the_remembered_partitions_are_bounded_and_a_forgotten_one_is_found_again() -> None:
    parts = (0, 1, 2, 3, 4, 5)
    first = str(uuid.uuid4()).encode()
    expected = _keyed(first, parts)
    for _ in range(PARTITION_CACHE + 100):
        _keyed(str(uuid.uuid4()).encode(), parts)
    assert _keyed.cache_info().currsize == PARTITION_CACHE
    assert _keyed(first, parts) == expected  # forgotten by now: hashed again
