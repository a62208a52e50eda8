"""The relay: follows the committed log from its own checkpoint and publishes every event.

Order of work for each batch: read the next events after the checkpoint (``read_all``: commit
order, which keeps each aggregate's versions in order), publish them, wait for the broker's
confirmation, and only then move the checkpoint. A crash anywhere in between re-publishes the
batch on restart (at least once; consumers de-duplicate by ``event_id``), never skips it.
Events are read only after they committed, so nothing rolled back is ever published. Reading,
waiting for commits and backing off during outages are the log follower's
(:mod:`chronicle.follower`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from chronicle.errors import ChronicleError, InvalidEventError
from chronicle.follower import Backoff, Batch, LogFollower
from chronicle.publishing.metrics import RelayMetrics
from chronicle.publishing.publisher import Publisher
from chronicle.store.ports import CheckpointedLog

log = logging.getLogger(__name__)


def checkpoint_name(destination: str) -> str:
    """The store checkpoint of the relay to ``destination`` (``redis:chronicle.events``).

    The broker kind is part of the name, so switching from Redis to RabbitMQ starts the new
    broker from the beginning of the log instead of from the old one's position.
    """
    return "relay." + destination.replace(":", ".")


@dataclass(frozen=True, slots=True)
class Lag:
    """How far publishing is behind the log."""

    events: int
    seconds: float

    def to_dict(self) -> dict[str, float | int]:
        return {"events": self.events, "seconds": round(self.seconds, 3)}


def publishing_lag(store: CheckpointedLog, checkpoint: str) -> Lag:
    """Events after the checkpoint, and the age of the oldest of them (0 when caught up)."""
    events, seconds = store.lag(store.get_checkpoint(checkpoint))
    return Lag(events, seconds)


class Relay:
    """Publishes the committed log to one broker, batch by batch, from a named checkpoint."""

    def __init__(
        self,
        store: CheckpointedLog,
        publisher: Publisher,
        *,
        batch_size: int = 500,
        checkpoint: str | None = None,
        metrics: RelayMetrics | None = None,
        backoff: Backoff | None = None,
        lag_interval: float = 1.0,
        on_published: Callable[[int], None] | None = None,
    ) -> None:
        if not 1 <= batch_size <= 10_000:
            raise InvalidEventError(f"batch_size must be 1-10000, got {batch_size}")
        self.store = store
        self.publisher = publisher
        self.batch_size = batch_size
        self.checkpoint = checkpoint or checkpoint_name(publisher.destination)
        self.metrics = metrics or RelayMetrics()
        self.backoff = backoff or Backoff()
        self.lag_interval = lag_interval
        self.on_published = on_published
        self._position: int | None = None
        self._position_loaded = False
        self._lag_refreshed_at = float("-inf")
        self._follower = LogFollower(
            store,
            lambda: self.position,
            self._publish,
            batch_size=batch_size,
            backoff=self.backoff,
            name=f"publishing to {publisher.destination}",
            on_error=self._failed,
        )

    @property
    def position(self) -> int | None:
        """The position of the last event the broker confirmed (None: nothing yet)."""
        if not self._position_loaded:
            self._position = self.store.get_checkpoint(self.checkpoint)
            self._position_loaded = True
        return self._position

    def run_once(self) -> int:
        """Publish the next batch after the checkpoint; return how many events it held.

        Raises ``BrokerUnavailableError`` (or ``StoreUnavailableError``) without moving the
        checkpoint; calling again re-publishes the same batch.
        """
        return self._follower.step()

    def _publish(self, batch: Batch) -> int:
        events = batch.events
        if events:
            self.publisher.publish(events)
            last = events[-1].position
            self.store.set_checkpoint(self.checkpoint, last)
            self._position = last
            self.metrics.published.inc(len(events))
            self.metrics.checkpoint.set(last)
            if self.on_published is not None:
                self.on_published(len(events))
        if time.monotonic() - self._lag_refreshed_at >= self.lag_interval:
            self.refresh_lag()
        return len(events)

    def run_until_caught_up(self) -> int:
        """Publish batches until none is left; return how many events were published."""
        total = self._follower.catch_up()
        self.refresh_lag()
        return total

    def refresh_lag(self) -> Lag:
        """Measure the lag now and set the lag gauges."""
        lag = publishing_lag(self.store, self.checkpoint)
        self.metrics.lag_events.set(lag.events)
        self.metrics.lag_seconds.set(lag.seconds)
        self._lag_refreshed_at = time.monotonic()
        return lag

    def follow(self, stop: threading.Event, idle_wait: float = 0.2) -> None:
        """Publish until ``stop`` is set: catch up, then wait for new commits.

        Once caught up, the relay sleeps until the store signals new events (PostgreSQL
        ``LISTEN``, SQLite's data version), or ``idle_wait`` seconds at most.

        A broker or store outage is logged, counted and retried with growing backoff (the lag
        gauges keep growing meanwhile); nothing is skipped. Errors that are not Chronicle's
        propagate: a supervisor restarts the relay, which resumes from its checkpoint.
        """
        self._follower.run(stop, idle_wait=idle_wait)

    def _failed(self, exc: ChronicleError, delay: float) -> None:
        self.metrics.failures.inc()
        try:
            self.refresh_lag()
        except ChronicleError as lag_exc:
            # The store itself is down: the gauges keep their last value until it is back.
            log.warning("cannot measure the publishing lag: %s", lag_exc)
