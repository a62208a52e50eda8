"""The composition root: the one place that picks concrete adapters from settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from chronicle.aggregate import Aggregate
from chronicle.config import EventConfig, get_settings
from chronicle.errors import ConfigurationError
from chronicle.projections.inline import InlineProjections
from chronicle.projections.projection import Mode, Projection
from chronicle.repository import Repository
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

    def repository(self, cls: type[A]) -> Repository[A]:
        return open_repository(self.store, cls, settings=self.settings, inline=self.inline or None)

    def async_projections(self) -> list[Projection]:
        from chronicle.chat.domain.events import chat_events

        return [
            cls(chat_events)
            for name, cls in self.projection_classes.items()
            if self.modes[name] == "async"
        ]

    def close(self) -> None:
        self.store.close()


def open_chat(url: str | None = None, *, settings: EventConfig | None = None) -> ChatContext:
    """The store and the chat read models (their tables created), wired from settings."""
    from chronicle.chat.domain.events import chat_events
    from chronicle.chat.read_models import READ_MODELS

    settings = settings or get_settings()
    modes = projection_modes(settings)
    store = open_store(url, settings=settings)
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
    )
