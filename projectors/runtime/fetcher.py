"""Settings of aiokafka's fetcher that the sealer and the engine change while they run.

aiokafka reads its per-partition fetch limit and its fetch wait from the
consumer's fetcher for every request it builds, but offers no public setter:
the limit follows the assignment (``fetch_budget``), the wait the last poll
(``fetch_wait``).  :func:`set_fetcher` is the one place that reaches in; when
a later aiokafka keeps a setting elsewhere it changes nothing and says so,
and the caller keeps the value the consumer was made with.
"""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer


def set_fetcher(consumer: AIOKafkaConsumer, name: str, value: int) -> bool:
    """Set the fetcher's integer setting ``name``; False when this aiokafka has none."""
    fetcher = getattr(consumer, "_fetcher", None)
    if fetcher is None or not isinstance(getattr(fetcher, name, None), int):
        return False
    setattr(fetcher, name, value)
    return True


__all__ = ["set_fetcher"]
