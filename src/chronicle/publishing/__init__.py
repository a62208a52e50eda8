"""Publishing committed events to Redis Streams or RabbitMQ, at least once, in order.

The :class:`Relay` follows the log from its checkpoint through a :class:`Publisher`; consumers use
:class:`RedisStreamConsumer` or :class:`RabbitMQConsumer`, which de-duplicate by ``event_id``.
Concrete publishers are picked from settings by ``chronicle.bootstrap.open_publisher``.
"""

from chronicle.publishing.consumer import Deduplicator, RabbitMQConsumer, RedisStreamConsumer
from chronicle.publishing.messages import PublishedEvent, decode
from chronicle.publishing.metrics import RelayMetrics
from chronicle.publishing.publisher import Publisher
from chronicle.publishing.relay import Backoff, Lag, Relay, checkpoint_name, publishing_lag

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
