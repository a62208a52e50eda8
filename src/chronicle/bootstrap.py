"""The composition root: the one place that picks concrete adapters from settings."""

from __future__ import annotations

from chronicle.config import EventConfig, get_settings
from chronicle.errors import ConfigurationError
from chronicle.publishing.publisher import Publisher
from chronicle.store.protocol import EventStore


def open_store(url: str | None = None, *, settings: EventConfig | None = None) -> EventStore:
    """The event store for ``url`` (``sqlite:///path``, ``postgresql://…``), or the configured one.

    The schema is created or upgraded on first use; ``close()`` the store when done.
    """
    settings = settings or get_settings()
    url = url or settings.store_url
    if url.startswith("sqlite:///"):
        from chronicle.store.sqlite import SQLiteEventStore

        return SQLiteEventStore(
            url,
            synchronous=settings.sqlite_synchronous,
            max_event_bytes=settings.max_event_bytes,
        )
    if url.startswith(("postgresql://", "postgres://")):
        from chronicle.store.postgres import PostgresEventStore

        return PostgresEventStore(
            url,
            min_connections=settings.pg_pool_min,
            max_connections=settings.pg_pool_max,
            connect_timeout=settings.connect_timeout,
            max_event_bytes=settings.max_event_bytes,
        )
    scheme = url.split("://", 1)[0]
    if scheme in ("mongodb", "mongodb+srv", "esdb", "esdb+discover", "kurrentdb"):
        raise ConfigurationError(
            "EVENT_STORE_TYPE",
            f"the {scheme} store is not available in this version; use sqlite or postgresql",
        )
    raise ConfigurationError(
        "EVENT_STORE_URL", f"unsupported URL {scheme}://…; use sqlite:///path or postgresql://…"
    )


def open_publisher(
    url: str | None = None, *, name: str | None = None, settings: EventConfig | None = None
) -> Publisher:
    """The publisher for ``url`` (``redis://…`` or ``amqp://…``; default EVENT_QUEUE_URL).

    Events go to the stream or exchange ``name`` (default CHRONICLE_QUEUE_NAME). Nothing
    connects until ``connect()`` or the first ``publish``.
    """
    settings = settings or get_settings()
    url = url or settings.queue_url
    name = name or settings.queue_name
    if url.startswith(("redis://", "rediss://")):
        from chronicle.publishing.redis import RedisStreamPublisher

        return RedisStreamPublisher(url, name, timeout=settings.connect_timeout)
    if url.startswith(("amqp://", "amqps://")):
        from chronicle.publishing.rabbitmq import RabbitMQPublisher

        return RabbitMQPublisher(url, name, timeout=settings.connect_timeout)
    raise ConfigurationError(
        "EVENT_QUEUE_URL", f"unsupported URL {url.split('://', 1)[0]}://…; use redis:// or amqp://"
    )
