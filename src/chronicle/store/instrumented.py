"""An event store that counts appends, conflicts and append latency into :class:`Metrics`.

Every append a process makes goes through it (``open_chat`` wraps the store it opens: the
API's writes, ``chronicle users create``, the demo data), so ``events_appended_total`` counts
them all, whichever path wrote them; a process that serves metrics hands the same
:class:`Metrics` to every part it opens (``serve`` does), so nothing counts where nobody looks.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from chronicle.errors import ConcurrencyError
from chronicle.events import NewEvent, RecordedEvent
from chronicle.metrics import Metrics
from chronicle.store.ports import EventStore


class InstrumentedStore:
    """Wraps any :class:`EventStore`; every other method passes straight through."""

    def __init__(self, store: EventStore, metrics: Metrics) -> None:
        self._store = store
        self.metrics = metrics
        self.backend = store.backend

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    @property
    def inner(self) -> EventStore:
        return self._store

    def append(
        self, aggregate_id: str, events: Sequence[NewEvent], *, aggregate_type: str, **options: Any
    ) -> list[RecordedEvent]:
        """The wrapped store's append (same arguments), timed and counted by aggregate type."""
        started = time.perf_counter()
        try:
            recorded = self._store.append(
                aggregate_id, events, aggregate_type=aggregate_type, **options
            )
        except ConcurrencyError:
            self.metrics.conflicts_by_type(aggregate_type).inc()
            raise
        self.metrics.append_seconds.observe(time.perf_counter() - started)
        self.metrics.appended_by_type(aggregate_type).inc(len(recorded))
        return recorded
