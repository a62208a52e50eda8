"""The one log follower: reads the log in commit order and hands each batch to its consumer.

The projection runner, the relay and the sealer follow the log the same way; only what they do
with a batch differs. The follower reads after the consumer's position, hands the batch over and
leaves the checkpoint to the consumer, because each moves it its own way (a projection in its
read-model transaction, the relay once the broker confirmed, the sealer by recording a seal).

While following, it sleeps on the store's wake-up (PostgreSQL ``LISTEN``, SQLite's data version)
with polling as the fallback, and retries store or broker outages with a bounded, jittered
exponential back-off. Errors that are not Chronicle's propagate: a supervisor restarts the
follower, which resumes from its consumer's checkpoint.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from chronicle.errors import ChronicleError, InvalidEventError
from chronicle.events import RecordedEvent
from chronicle.store.ports import LogReader, Wakeup

log = logging.getLogger(__name__)

# An empty read while events are stored after the position means they are held back behind an
# append still running elsewhere (PostgreSQL); no commit will wake us when it ends, so look
# again soon, less and less often while it stays open.
_HELD_BACK_FIRST_LOOK = 0.01


@dataclass(frozen=True, slots=True)
class Batch:
    """What one step read: the next events after ``after``, in commit order.

    ``at_end`` is true when the batch came back short: nothing more was readable when it was read,
    the moment for a consumer to finish what it carries over batches (the sealer's last seal).
    """

    after: int | None
    events: list[RecordedEvent]
    at_end: bool


Position = Callable[[], int | None]
"""Where the consumer's checkpoint stands; the follower reads the events after it."""

Handler = Callable[[Batch], int]
"""Processes a batch and advances the consumer's checkpoint; returns how many events it took."""


class Backoff:
    """Exponential backoff with equal jitter (a delay between half and all of the current step),
    from ``initial`` up to ``maximum`` seconds."""

    def __init__(self, initial: float = 0.2, maximum: float = 5.0, factor: float = 2.0) -> None:
        if not 0 < initial <= maximum or factor < 1:
            raise InvalidEventError("backoff needs 0 < initial <= maximum and factor >= 1")
        self.initial, self.maximum, self.factor = initial, maximum, factor
        self._next = initial

    def next_delay(self) -> float:
        delay = random.uniform(self._next / 2, self._next)
        self._next = min(self._next * self.factor, self.maximum)
        return delay

    def reset(self) -> None:
        self._next = self.initial


class LogFollower:
    """Follows the log in commit order from a consumer's position, batch by batch.

    ``position`` tells where the consumer stands, ``handle`` processes a :class:`Batch` and moves
    the consumer's checkpoint. ``on_error`` is called with each ``ChronicleError`` a step raised
    while following and the delay before the next attempt (to count failures, refresh gauges).
    """

    def __init__(
        self,
        log: LogReader,
        position: Position,
        handle: Handler,
        *,
        batch_size: int = 500,
        backoff: Backoff | None = None,
        name: str = "log follower",
        on_error: Callable[[ChronicleError, float], None] | None = None,
    ) -> None:
        if batch_size < 1:
            raise InvalidEventError(f"batch_size must be at least 1, got {batch_size}")
        self.log = log
        self.position = position
        self.handle = handle
        self.batch_size = batch_size
        self.backoff = backoff or Backoff()
        self.name = name
        self.on_error = on_error
        self._last_failure: str | None = None

    def step(self) -> int:
        """Read the next batch and hand it to the consumer; return how many events it took."""
        return self._step()[1]

    def catch_up(self) -> int:
        """Step until a batch comes back short; return how many events were taken."""
        total = 0
        while True:
            taken = self.step()
            total += taken
            if taken < self.batch_size:
                return total

    def run(self, stop: threading.Event, *, idle_wait: float = 0.5, pace: float = 0.0) -> None:
        """Follow the log until ``stop`` is set.

        A backlog is read batch after batch. Once caught up, the follower sleeps until the store
        signals new commits, or ``idle_wait`` seconds at most (the polling fallback; it is also
        how long noticing ``stop`` may take). ``pace``, when set, is the least time between the
        starts of two caught-up steps that did work: woken by every commit of a busy log, the
        follower still works at most once per ``pace`` (the sealer, so as not to seal each
        append). A ``ChronicleError`` (store or broker outage) is retried after the back-off's
        next delay; the back-off starts over after a step that succeeds.
        """
        wakeup = self.log.open_wakeup()
        try:
            self._run(stop, wakeup, idle_wait, pace)
        finally:
            wakeup.close()

    def _run(self, stop: threading.Event, wakeup: Wakeup, idle_wait: float, pace: float) -> None:
        look_again = _HELD_BACK_FIRST_LOOK
        rest_until = 0.0  # paced: no work before then
        while not stop.is_set():
            rest = rest_until - time.monotonic()
            if rest > 0 and stop.wait(rest):
                return
            started = time.monotonic()
            try:
                batch, taken = self._step()
                held_back = not batch.events and self._events_after(batch.after)
            except ChronicleError as exc:
                self._failed(stop, exc)
                continue
            self.backoff.reset()
            self._last_failure = None
            if taken >= self.batch_size:
                continue
            if taken:
                rest_until = started + pace
            if held_back:
                stop.wait(look_again)
                look_again = min(look_again * 2, idle_wait)
                continue
            look_again = _HELD_BACK_FIRST_LOOK
            wakeup.wait(idle_wait)

    def _step(self) -> tuple[Batch, int]:
        after = self.position()
        events = self.log.read_all(after=after, limit=self.batch_size)
        batch = Batch(after, events, at_end=len(events) < self.batch_size)
        return batch, self.handle(batch)

    def _events_after(self, position: int | None) -> bool:
        return self.log.lag(position)[0] > 0

    def _failed(self, stop: threading.Event, exc: ChronicleError) -> None:
        delay = self.backoff.next_delay()
        # The same failure again (an outage that lasts, a projection stopped by its policy) is
        # said once, not every few seconds for as long as it lasts.
        level = logging.DEBUG if str(exc) == self._last_failure else logging.WARNING
        self._last_failure = str(exc)
        log.log(level, "%s failed, retrying in %.1fs: %s", self.name, delay, exc)
        if self.on_error is not None:
            self.on_error(exc, delay)
        stop.wait(delay)
