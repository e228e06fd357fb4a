"""The remembered partition of a key is the one aiokafka's partitioner picks."""

from __future__ import annotations

import uuid

from aiokafka.partitioner import murmur2

from projectors.runtime.batch_send import _keyed


def test_a_remembered_partition_is_the_murmur2_partition() -> None:
    for parts in ((0, 1, 2), (0, 1, 2, 3, 4, 5)):
        for _ in range(200):
            key = str(uuid.uuid4()).encode()
            expected = parts[(murmur2(key) & 0x7FFFFFFF) % len(parts)]
            assert _keyed(key, parts) == expected
            assert _keyed(key, parts) == expected  # from the cache
