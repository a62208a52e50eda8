"""Publishing committed events to Redis Streams or RabbitMQ, at least once, in order.

The :class:`Relay` follows the log from its checkpoint through a :class:`Publisher`; consumers use
:class:`RedisStreamConsumer` or :class:`RabbitMQConsumer`, which de-duplicate by ``event_id``.
Concrete publishers are picked from settings by ``chronicle.bootstrap.open_publisher``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chronicle.follower import Backoff
    from chronicle.publishing.consumer import (
        Deduplicator,
        RabbitMQConsumer,
        RedisStreamConsumer,
    )
    from chronicle.publishing.messages import PublishedEvent, decode
    from chronicle.publishing.metrics import RelayMetrics
    from chronicle.publishing.publisher import Publisher
    from chronicle.publishing.relay import Lag, Relay, checkpoint_name, publishing_lag

# Each name is imported on first use: the consumers load both broker clients and the relay
# loads prometheus_client, which a module that only needs the Publisher port must not pay for.
_HOMES = {
    "Backoff": "chronicle.follower",
    "Deduplicator": "chronicle.publishing.consumer",
    "RabbitMQConsumer": "chronicle.publishing.consumer",
    "RedisStreamConsumer": "chronicle.publishing.consumer",
    "PublishedEvent": "chronicle.publishing.messages",
    "decode": "chronicle.publishing.messages",
    "RelayMetrics": "chronicle.publishing.metrics",
    "Publisher": "chronicle.publishing.publisher",
    "Lag": "chronicle.publishing.relay",
    "Relay": "chronicle.publishing.relay",
    "checkpoint_name": "chronicle.publishing.relay",
    "publishing_lag": "chronicle.publishing.relay",
}

__all__ = [
    "Backoff",
    "Deduplicator",
    "Lag",
    "PublishedEvent",
    "Publisher",
    "RabbitMQConsumer",
    "RedisStreamConsumer",
    "Relay",
    "RelayMetrics",
    "checkpoint_name",
    "decode",
    "publishing_lag",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOMES})
