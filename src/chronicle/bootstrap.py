"""The composition root: the one place that picks concrete adapters from settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from chronicle.aggregate import Aggregate
from chronicle.config import EventConfig, get_settings
from chronicle.errors import ConfigurationError
from chronicle.events import RecordedEvent
from chronicle.metrics import Metrics
from chronicle.projections.inline import InlineProjections
from chronicle.projections.projection import Mode, Projection
from chronicle.projections.runner import ProjectionRunner
from chronicle.projections.status import ProjectionStatus, projection_status
from chronicle.publishing.publisher import Publisher
from chronicle.repository import Repository
from chronicle.store.instrumented import InstrumentedStore
from chronicle.store.protocol import EventStore, InlineHandler

A = TypeVar("A", bound=Aggregate)


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


def open_repository(
    store: EventStore,
    cls: type[A],
    *,
    settings: EventConfig | None = None,
    inline: InlineHandler | None = None,
) -> Repository[A]:
    """A repository for aggregates of ``cls`` that snapshots every EVENT_STORE_SNAPSHOT_INTERVAL."""
    settings = settings or get_settings()
    return Repository(store, cls, snapshot_interval=settings.snapshot_interval, inline=inline)


def projection_modes(settings: EventConfig | None = None) -> dict[str, Mode]:
    """Each chat read model's mode: its default, or CHRONICLE_PROJECTION_MODES's override."""
    from chronicle.chat.read_models import READ_MODELS

    settings = settings or get_settings()
    modes: dict[str, Mode] = {cls.name: cls.default_mode for cls in READ_MODELS}
    for name, mode in settings.projection_mode_overrides().items():
        if name not in modes:
            raise ConfigurationError(
                "CHRONICLE_PROJECTION_MODES",
                f"no read model is called {name!r}; known: {', '.join(modes)}",
            )
        modes[name] = "inline" if mode == "inline" else "async"
    return modes


@dataclass
class ChatContext:
    """What the chat service, the worker and the CLI share: the store and the read models."""

    settings: EventConfig
    store: EventStore
    modes: dict[str, Mode]
    inline: InlineProjections
    projection_classes: dict[str, type[Projection]]
    metrics: Metrics

    def repository(self, cls: type[A]) -> Repository[A]:
        return open_repository(self.store, cls, settings=self.settings, inline=self.inline or None)

    def async_projections(self) -> list[Projection]:
        from chronicle.chat.domain.events import chat_events

        return [
            cls(chat_events)
            for name, cls in self.projection_classes.items()
            if self.modes[name] == "async"
        ]

    def runner(self, projection: Projection) -> ProjectionRunner:
        """An async runner for ``projection`` that counts what it applies."""
        processed = self.metrics.events_processed

        def count(applied: Projection, events: list[RecordedEvent]) -> None:
            processed.labels(applied.name).inc(len(events))

        return ProjectionRunner(
            self.store,
            projection,
            on_failure=self.settings.projection_failure,
            on_batch=count,
        )

    def projection_status(self) -> list[ProjectionStatus]:
        return projection_status(self.store, self.projection_classes, self.modes)

    def refresh_metrics(self) -> None:
        """Bring the gauges (store size, lag, parked events) up to date, e.g. before a scrape."""
        stats = self.store.stats()
        self.metrics.store_size.set(stats.size_bytes)
        self.metrics.store_events.set(stats.total_events)
        for status in self.projection_status():
            self.metrics.projection_lag_events.labels(status.name).set(status.lag_events)
            self.metrics.projection_lag_seconds.labels(status.name).set(status.lag_seconds)
            self.metrics.projection_parked.labels(status.name).set(status.parked)

    def close(self) -> None:
        self.store.close()


def open_chat(
    url: str | None = None,
    *,
    settings: EventConfig | None = None,
    metrics: Metrics | None = None,
) -> ChatContext:
    """The store and the chat read models (their tables created), wired from settings."""
    from chronicle.chat.domain.events import chat_events
    from chronicle.chat.read_models import READ_MODELS

    settings = settings or get_settings()
    modes = projection_modes(settings)
    metrics = metrics or Metrics()
    store: EventStore = InstrumentedStore(open_store(url, settings=settings), metrics)
    try:
        inline = InlineProjections(
            [cls(chat_events) for cls in READ_MODELS if modes[cls.name] == "inline"]
        )
        inline.ensure_tables(store)
    except BaseException:
        store.close()
        raise
    return ChatContext(
        settings=settings,
        store=store,
        modes=modes,
        inline=inline,
        projection_classes={cls.name: cls for cls in READ_MODELS},
        metrics=metrics,
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
