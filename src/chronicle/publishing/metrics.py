"""The relay's Prometheus metrics, kept in a registry of their own (never the global one).

Each relay gets a fresh :class:`CollectorRegistry` unless one is handed in, so creating relays in
tests or in one process with other components registers nothing twice.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge


class RelayMetrics:
    """Publishing lag (events and seconds), published events and failed attempts."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.lag_events = Gauge(
            "chronicle_publish_lag_events",
            "Committed events not yet confirmed by the broker.",
            registry=self.registry,
        )
        self.lag_seconds = Gauge(
            "chronicle_publish_lag_seconds",
            "Age of the oldest committed event not yet confirmed by the broker (0 when caught up).",
            registry=self.registry,
        )
        self.published = Counter(
            "chronicle_events_published",
            "Events the broker confirmed (re-publications after a failure count again).",
            registry=self.registry,
        )
        self.failures = Counter(
            "chronicle_publish_failures",
            "Attempts to publish a batch that failed (broker or store unavailable).",
            registry=self.registry,
        )
        self.checkpoint = Gauge(
            "chronicle_publish_checkpoint_position",
            "Position of the last event the broker confirmed.",
            registry=self.registry,
        )
