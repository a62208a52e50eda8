"""The chat system wired from settings: its store, read models, writer and background work.

Built on the library's composition root (:mod:`chronicle.bootstrap`), which knows nothing of the
chat system; the API, the worker and the CLI commands all open the chat system here.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, TypeVar

from chronicle.aggregate import Aggregate
from chronicle.bootstrap import (
    archive_root,
    open_publisher,
    open_repository,
    open_store,
    personal_data_for,
    sealer_for,
    signing_key_from,
    trusted_keys_from,
)
from chronicle.chat.domain.events import chat_events
from chronicle.chat.read_models import READ_MODELS
from chronicle.chat.read_models.base import AggregateReadModel
from chronicle.chat.service.writer import Writer
from chronicle.compression import CompressionReport, Compressor
from chronicle.config import EventConfig, get_settings
from chronicle.errors import ConfigurationError
from chronicle.events import RecordedEvent
from chronicle.metrics import Metrics
from chronicle.personal.declarations import PersonalPolicy
from chronicle.projections.inline import InlineProjections
from chronicle.projections.projection import Mode, Projection
from chronicle.projections.runner import ProjectionRunner
from chronicle.projections.status import ProjectionStatus, projection_status
from chronicle.publishing.metrics import RelayMetrics
from chronicle.publishing.relay import Relay
from chronicle.repository import Repository
from chronicle.retention.run import Retention, RetentionReport
from chronicle.store.instrumented import InstrumentedStore
from chronicle.store.payloads import NAMES
from chronicle.store.ports import EventStore

if TYPE_CHECKING:
    from chronicle.integrity.attestation import Replay
    from chronicle.integrity.keys import TrustedKeys
    from chronicle.integrity.report import Problem

A = TypeVar("A", bound=Aggregate)

Task = Callable[[], None]
"""A piece of the worker: runs until the stop event it was built with is set."""


def projection_modes(settings: EventConfig | None = None) -> dict[str, Mode]:
    """Each chat read model's mode: its default, or CHRONICLE_PROJECTION_MODES's override."""
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
    """What the chat service, the worker and the CLI share: the store and the read models.

    ``trusted_keys`` are the public keys seals are checked against (CHRONICLE_TRUSTED_KEYS); the
    private key stays with the sealer.
    """

    settings: EventConfig
    store: EventStore
    modes: dict[str, Mode]
    inline: InlineProjections
    projection_classes: dict[str, type[Projection]]
    metrics: Metrics
    trusted_keys: TrustedKeys

    def repository(self, cls: type[A]) -> Repository[A]:
        return open_repository(self.store, cls, settings=self.settings, inline=self.inline or None)

    def writer(self) -> Writer:
        """The writer that carries out the chat commands, in the mode the settings choose."""
        return Writer(
            self.store,
            inline=self.inline or None,
            snapshot_interval=self.settings.snapshot_interval,
            event_sourcing=self.settings.enabled,
            max_event_bytes=self.settings.max_event_bytes,
            inline_tables=[
                projection.table
                for projection in self.inline.projections
                if isinstance(projection, AggregateReadModel)
            ],
        )

    def async_projections(self) -> list[Projection]:
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
        stats = self.store.summary()  # not stats(): a scrape must not count the whole log
        self.metrics.store_size.set(stats.size_bytes)
        self.metrics.store_events.set(stats.total_events)
        for status in self.projection_status():
            self.metrics.projection_lag_events.labels(status.name).set(status.lag_events)
            self.metrics.projection_lag_seconds.labels(status.name).set(status.lag_seconds)
            self.metrics.projection_parked.labels(status.name).set(status.parked)

    def close(self) -> None:
        personal = self.store.personal_data  # type: ignore[attr-defined]
        self.store.close()
        if personal is not None:
            personal.keys.close()


def open_chat(
    url: str | None = None,
    *,
    settings: EventConfig | None = None,
    metrics: Metrics | None = None,
) -> ChatContext:
    """The store and the chat read models (their tables created), wired from settings."""
    settings = settings or get_settings()
    modes = projection_modes(settings)
    trusted_keys = trusted_keys_from(settings)
    metrics = metrics or Metrics()
    personal = personal_data_for(chat_personal_policy(), url, settings)
    store: EventStore = InstrumentedStore(
        open_store(url, settings=settings, personal=personal), metrics
    )
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
        trusted_keys=trusted_keys,
    )


def chat_personal_policy() -> PersonalPolicy:
    """The chat domain's personal fields, as its event and aggregate classes declare them."""
    from chronicle.chat.domain import CHAT_AGGREGATES

    return PersonalPolicy.of(
        (chat_events.class_for(name) for name in chat_events.names()), CHAT_AGGREGATES.values()
    )


def snapshot_replay(store: EventStore) -> Replay:
    """Replays a chat snapshot's aggregate from its events alone: what the snapshot attestor and
    the verifier compare snapshots with."""
    from chronicle.chat.domain import CHAT_AGGREGATES
    from chronicle.integrity.attestation import replay_from

    return replay_from(store, CHAT_AGGREGATES)


def snapshot_check(store: EventStore) -> Callable[[], list[Problem]]:
    """The verifier's check of every stored chat snapshot (``snapshot_forged`` findings)."""
    from chronicle.integrity.attestation import check_snapshots

    return partial(check_snapshots, store, snapshot_replay(store))


def audit_checks(
    store: EventStore, settings: EventConfig | None = None
) -> Callable[[], list[Problem]]:
    """What the verifier checks beyond the log: every stored chat snapshot against its events
    (``snapshot_forged``), and the key store against the erasures the log records
    (``key_erased_without_record``, ``erasure_incomplete``)."""
    snapshots = snapshot_check(store)

    def check() -> list[Problem]:
        return [*snapshots(), *erasure_check(store, settings)]

    return check


def erasure_check(store: EventStore, settings: EventConfig | None = None) -> list[Problem]:
    """The key store's tombstones against the ``PersonalDataErased`` events (in the store, and
    in the archive when a tombstone is not explained by those)."""
    from chronicle.chat.domain.events import PersonalDataErased
    from chronicle.personal.erasure_check import erasure_problems, recorded_erasure
    from chronicle.retention.archive_check import archived_events

    personal = getattr(store, "personal_data", None)
    if personal is None:
        return []
    name = PersonalDataErased.event_type

    def in_store() -> list[RecordedEvent]:
        found, after = [], None
        while page := store.search_events(event_type=name, after=after, limit=1000):
            found += page
            after = page[-1].position
        return found

    def in_archive() -> list[RecordedEvent]:
        root, _ = archive_root(settings)
        if not root.is_dir():
            return []
        return [event for event in archived_events(root) if event.event_type == name]

    return erasure_problems(
        personal.keys,
        map(recorded_erasure, in_store()),
        lambda: map(recorded_erasure, in_archive()),
    )


COMPRESS_INTERVAL = 300.0
"""Seconds between the worker's compression runs (each compresses all that has become old)."""


def compression_counted(chat: ChatContext) -> Callable[[CompressionReport], None]:
    """What the worker does after each compression run: count it into the chat's metrics."""
    metrics, store = chat.metrics, chat.store

    def counted(report: CompressionReport) -> None:
        metrics.events_compressed.labels(report.codec).inc(report.events)
        for codec, (_, size) in store.payload_bytes().items():  # type: ignore[attr-defined]
            metrics.stored_payload_bytes.labels(NAMES.get(codec, str(codec))).set(size)

    return counted


def retention_counted(chat: ChatContext) -> Callable[[RetentionReport], None]:
    """What the worker does after each retention run: count it into the chat's metrics."""
    metrics, store = chat.metrics, chat.store

    def counted(report: RetentionReport) -> None:
        metrics.events_archived.inc(report.removed)
        cuts = store.retention_cuts()  # type: ignore[attr-defined]
        metrics.retention_receipts.set(cuts[-1].number if cuts else 0)

    return counted


RETENTION_INTERVAL = 24 * 3600.0
"""Seconds between the worker's retention runs (daily, as the policy is in days)."""


def retention_for(
    store: EventStore, settings: EventConfig | None = None, *, seal: bool = False
) -> Retention:
    """The retention run of ``chronicle retention`` (``seal``: seal the log first) and of the
    worker, configured from settings, with snapshots of the chat's aggregates at the cut."""
    from chronicle.chat.domain import CHAT_AGGREGATES

    settings = settings or get_settings()
    root, default = archive_root(settings)
    sealer = sealer_for(store, settings) if seal else None
    return Retention(
        store,
        retention_days=settings.retention_days,
        archive_dir=root,
        aggregates=CHAT_AGGREGATES,
        signing_key=signing_key_from(settings),
        seal=sealer.run_once if sealer is not None else None,
        default_folder=default,
    )


def worker_tasks(
    chat: ChatContext, stop: threading.Event, *, poll_interval: float, seal_interval: float
) -> dict[str, Task]:
    """``chronicle worker``'s pieces by name: each async read model's runner, the sealer, the
    snapshot attestor, with EVENT_STORE_COMPRESSION_ENABLED=true the compressor, and with
    EVENT_PUBLISH_TO_QUEUE=true the relay. Each runs until ``stop`` is set."""
    from chronicle.integrity.attestation import SnapshotAttestor

    tasks: dict[str, Task] = {}
    for projection in chat.async_projections():
        runner = chat.runner(projection)
        tasks[f"projection {runner.name}"] = partial(runner.run, stop, poll_interval)
    refusing = chat.metrics.sealer_refusing
    sealer = sealer_for(chat.store, chat.settings, on_refusal=lambda now: refusing.set(int(now)))
    tasks["sealer"] = partial(sealer.follow, stop, seal_interval)
    # Attests what the sealer sealed, as often: loads use only attested snapshots.
    attestor = SnapshotAttestor(chat.store, snapshot_replay(chat.store))
    tasks["snapshot attestor"] = partial(attestor.follow, stop, seal_interval)
    if chat.settings.compression_enabled and chat.store.capabilities.compression:
        settings = chat.settings
        compressor = Compressor(
            chat.store, codec=settings.compression, after_days=settings.compress_after_days
        )
        tasks["compressor"] = partial(
            compressor.follow, stop, COMPRESS_INTERVAL, compression_counted(chat)
        )
    if chat.settings.retention_days and chat.store.capabilities.retention:
        retention = retention_for(chat.store, chat.settings)
        tasks["retention"] = partial(
            retention.follow, stop, RETENTION_INTERVAL, retention_counted(chat)
        )
    if chat.settings.publish_to_queue:
        relay = Relay(
            chat.store,
            open_publisher(settings=chat.settings),
            metrics=RelayMetrics(chat.metrics.registry),
        )
        tasks["relay"] = partial(relay.follow, stop)
    return tasks
