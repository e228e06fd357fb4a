"""Size limits of the contract, defined once.

An event is at most ``MAX_EVENT_BYTES`` (1 MiB) on the way in, over HTTP or
Kafka.  Sealing grows it (base64), so every Kafka message Haven writes and the
broker's topics allow ``MAX_MESSAGE_BYTES`` (4 MiB); a consumer's fetch may ask
for less of a partition (its budget shared among many), since a broker returns
a partition's first record batch whatever the fetch limit.
"""

from __future__ import annotations

from typing import Final

MAX_EVENT_BYTES: Final = 1_048_576
MAX_MESSAGE_BYTES: Final = 4 * MAX_EVENT_BYTES

__all__ = ["MAX_EVENT_BYTES", "MAX_MESSAGE_BYTES"]
