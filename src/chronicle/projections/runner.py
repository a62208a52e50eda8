"""The async projection runner: catch up from the checkpoint, then follow new events.

Reading the log, waiting for commits and backing off during outages are the log follower's
(:mod:`chronicle.follower`); the runner applies the batches it is handed. Each batch is one
transaction: the read-model changes and the checkpoint move commit together, so a process killed
at any moment neither loses nor repeats an event. When a handler fails, the batch is rolled back
and replayed one event per transaction: events before the failing one commit, the failing one is
retried with exponential backoff and, after ``max_attempts``, parked with its error (see
:mod:`chronicle.projections.parking`). The policy then decides whether the projection continues
with the next event or stops.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Literal

from chronicle.errors import CheckpointMovedError, ChronicleError, StoreUnavailableError
from chronicle.events import RecordedEvent
from chronicle.follower import Batch, LogFollower
from chronicle.projections import parking
from chronicle.projections.projection import Projection
from chronicle.store.ports import ProjectionStore, Session
from chronicle.store.sql import checkpoints

log = logging.getLogger(__name__)
FailurePolicy = Literal["continue", "stop"]


class ProjectionStoppedError(ChronicleError):
    """The projection parked an event and its policy is to stop."""


class ProjectionRunner:
    """Keeps one async projection's read model up to date."""

    def __init__(
        self,
        store: ProjectionStore,
        projection: Projection,
        *,
        batch_size: int = 500,
        max_attempts: int = 5,
        backoff_base: float = 0.05,
        backoff_max: float = 2.0,
        on_failure: FailurePolicy = "continue",
        on_batch: Callable[[Projection, list[RecordedEvent]], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.store = store
        self.projection = projection
        self.batch_size = batch_size
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.on_failure = on_failure
        self.on_batch = on_batch
        self._sleep = sleep
        self.stopped_reason: str | None = None
        self._follower = LogFollower(
            store,
            self._position,
            self._handle,
            batch_size=batch_size,
            name=f"projection {projection.name}",
        )
        with store.session() as session:
            projection.create_tables(session)
            parking.ensure_table(session)
            checkpoints.ensure(session, projection.checkpoint_name)

    @property
    def name(self) -> str:
        return self.projection.name

    def checkpoint(self) -> int:
        """The position of the last event applied (0: none yet)."""
        return self.store.get_checkpoint(self.projection.checkpoint_name) or 0

    # -- one batch ---------------------------------------------------------------------------

    def run_once(self) -> int:
        """Apply the next batch of events; return how many were taken off the log.

        ``ProjectionStoppedError`` once the stop policy stopped the projection.
        """
        return self._follower.step()

    def _position(self) -> int:
        if self.stopped_reason is not None:
            raise ProjectionStoppedError(self.stopped_reason)
        return self.checkpoint()

    def _handle(self, batch: Batch) -> int:
        events = batch.events
        if not events:
            return 0
        start = batch.after or 0
        try:
            _open(events)
            with self.store.session() as session:
                self._apply(session, start, events)
        except CheckpointMovedError:
            return 0  # another runner or a rebuild got there first: reload next time
        except StoreUnavailableError:
            raise  # the store, not an event, failed: nothing to park; run() waits and retries
        except Exception as exc:  # a handler failed: find which event, keep the ones before it
            log.info("projection %s: batch failed (%s); replaying one by one", self.name, exc)
            return self._one_by_one(start, events)
        self._notify(events)
        return len(events)

    def _apply(self, session: Session, expected: int, events: list[RecordedEvent]) -> None:
        name = self.projection.checkpoint_name
        if checkpoints.lock(session, name) != expected:
            raise CheckpointMovedError(f"checkpoint {name!r} moved")
        # Read in the transaction: a `replay --retry-parked` elsewhere may have unparked some.
        blocked = parking.parked_aggregates(session, self.name)
        with session.pipeline():
            for event in events:
                if event.aggregate_id in blocked:
                    parking.park(
                        session, self.name, event, 0, "an earlier event of this aggregate is parked"
                    )
                else:
                    self.projection.apply(session, event)
        checkpoints.move(session, name, expected, events[-1].position)

    def _one_by_one(self, start: int, events: list[RecordedEvent]) -> int:
        done = 0
        previous = start
        for event in events:
            error = self._apply_with_retries(previous, event)
            if error is CheckpointMovedError:
                return done
            if error is not None:
                self._park(previous, event, str(error))
                if self.on_failure == "stop":
                    self.stopped_reason = (
                        f"projection {self.name} stopped at position {event.position} "
                        f"({event.event_type} of {event.aggregate_id}): {error}"
                    )
                    log.error("%s", self.stopped_reason)
                    return done + 1
            self._notify([event])
            previous = event.position
            done += 1
        return done

    def _apply_with_retries(self, previous: int, event: RecordedEvent) -> object | None:
        """None on success, the last error after ``max_attempts``, or CheckpointMovedError."""
        last_error: Exception | None = None
        for attempt in range(self.max_attempts):
            if attempt:
                self._sleep(min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1)))
            try:
                _open([event])
                with self.store.session() as session:
                    self._apply(session, previous, [event])
                return None
            except CheckpointMovedError:
                return CheckpointMovedError
            except StoreUnavailableError:
                raise
            except Exception as exc:  # recorded and retried; parked after the last attempt
                last_error = exc
                log.warning(
                    "projection %s: %s at position %d failed (attempt %d of %d): %r",
                    self.name,
                    event.event_type,
                    event.position,
                    attempt + 1,
                    self.max_attempts,
                    exc,
                )
        return last_error

    def _park(self, previous: int, event: RecordedEvent, error: str) -> None:
        with self.store.session() as session:
            name = self.projection.checkpoint_name
            if checkpoints.lock(session, name) != previous:
                raise CheckpointMovedError(f"checkpoint {name!r} moved")
            parking.park(session, self.name, event, self.max_attempts, error)
            checkpoints.move(session, name, previous, event.position)

    def _notify(self, events: list[RecordedEvent]) -> None:
        if self.on_batch is not None:
            self.on_batch(self.projection, events)

    # -- following ---------------------------------------------------------------------------

    def catch_up(self, timeout: float = 30.0) -> int:
        """Apply every event committed so far (or up to a stop); return how many were taken.

        Events that ``read_all`` still holds back behind an append that is running elsewhere
        are waited for, up to ``timeout`` seconds.
        """
        total = 0
        deadline = time.monotonic() + timeout
        while self.stopped_reason is None:
            taken = self._follower.step()
            total += taken
            if taken:
                continue
            if self.store.lag(self.checkpoint())[0] == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.01)
        return total

    def run(self, stop: threading.Event, poll_interval: float = 0.5) -> None:
        """Follow the log until ``stop`` is set, waking on new commits (or polling).

        A store outage is retried with growing back-off, and so is a projection stopped by its
        policy (logged at each attempt) until :meth:`retry_parked` lets it go on.
        """
        self._follower.run(stop, idle_wait=poll_interval)

    # -- parked events -----------------------------------------------------------------------

    def retry_parked(self) -> tuple[int, int]:
        """Re-apply parked events in log order; return (applied, still parked)."""
        with self.store.session() as session:
            waiting = parking.parked(session, self.name)
        applied = 0
        failed_aggregates: set[str] = set()
        for entry in waiting:
            if entry.aggregate_id in failed_aggregates:
                continue
            event = self._event_at(entry.aggregate_id, entry.event_id)
            try:
                if event is not None:
                    _open([event])
                with self.store.session() as session:
                    if event is not None:
                        self.projection.apply(session, event)
                    parking.unpark(session, self.name, entry.position)
                applied += 1
            except Exception as exc:  # still failing: keep it (and its successors) parked
                log.warning(
                    "projection %s: parked event %d still fails: %r", self.name, entry.position, exc
                )
                failed_aggregates.add(entry.aggregate_id)
        with self.store.session() as session:
            remaining = len(parking.parked(session, self.name))
        self.stopped_reason = None
        return applied, remaining

    def _event_at(self, aggregate_id: str, event_id: str) -> RecordedEvent | None:
        for event in self.store.get_events_for_aggregate(aggregate_id):
            if event.event_id == event_id:
                return event
        return None


def _open(events: list[RecordedEvent]) -> None:
    """Open the events' sealed personal fields (a key-store lookup when a key is not cached)
    before the projection's transaction starts, not inside it: on SQLite that transaction holds
    the write lock, which every append waits for."""
    for event in events:
        event.data  # noqa: B018  # the first access opens it (see chronicle.events.Unopened)
