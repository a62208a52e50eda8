"""Chronicle's Prometheus metrics, kept in a registry handed in (never the global one).

The names the seed asked for stay as they were: ``events_appended_total{aggregate_type}``,
``events_processed_total`` and ``event_store_size_bytes``. Everything else is prefixed
``chronicle_``. Each process builds one :class:`Metrics` in its composition root and serves it
at ``/metrics``; tests build their own, so nothing is registered twice.
"""

from __future__ import annotations

from typing import Generic, TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

M = TypeVar("M", Counter, Gauge, Histogram)

MAX_CHILDREN = 1_000
"""At most this many label combinations of one metric are remembered by :class:`Children`."""

_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Children(Generic[M]):
    """The children of one labelled metric, looked up once per combination of label values.

    prometheus-client's ``labels()`` checks the values and takes the metric's lock on every
    call; the request and append paths ask for the same few children each time, so they keep
    them here. Label values a client picks (an HTTP method) cannot grow it past
    :data:`MAX_CHILDREN`: past that a child is looked up as before, not remembered.
    """

    __slots__ = ("_children", "_metric")

    def __init__(self, metric: M) -> None:
        self._metric: M = metric
        self._children: dict[tuple[str, ...], M] = {}

    def __call__(self, *values: str) -> M:
        child = self._children.get(values)
        if child is None:
            child = self._metric.labels(*values)
            if len(self._children) < MAX_CHILDREN:
                self._children[values] = child
        return child


class Metrics:
    """Every metric of the store, the read models and the HTTP service."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.events_appended = Counter(
            "events_appended", "Events appended to the store.", ["aggregate_type"], registry=r
        )
        self.events_processed = Counter(
            "events_processed", "Events applied by projections.", ["projection"], registry=r
        )
        self.store_size = Gauge(
            "event_store_size_bytes", "Size of the event store on disk.", registry=r
        )
        self.store_events = Gauge("chronicle_store_events", "Events in the store.", registry=r)
        self.append_seconds = Histogram(
            "chronicle_append_seconds",
            "Time to append one batch of events, commit included.",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.conflicts = Counter(
            "chronicle_concurrency_conflicts",
            "Appends refused because their expected version was stale.",
            ["aggregate_type"],
            registry=r,
        )
        self.projection_lag_events = Gauge(
            "chronicle_projection_lag_events",
            "Events committed but not yet applied by a read model's projection.",
            ["projection"],
            registry=r,
        )
        self.projection_lag_seconds = Gauge(
            "chronicle_projection_lag_seconds",
            "Age of the oldest event a read model's projection has not applied yet.",
            ["projection"],
            registry=r,
        )
        self.projection_parked = Gauge(
            "chronicle_projection_parked_events",
            "Events parked (dead-lettered) by a read model's projection: alert when above 0.",
            ["projection"],
            registry=r,
        )
        self.events_compressed = Counter(
            "chronicle_events_compressed",
            "Events whose payload the compressor re-encoded, by codec.",
            ["codec"],
            registry=r,
        )
        self.stored_payload_bytes = Gauge(
            "chronicle_stored_payload_bytes",
            "Stored bytes of event payloads (data and metadata) by codec, as of the last "
            "compression run.",
            ["codec"],
            registry=r,
        )
        self.events_archived = Counter(
            "chronicle_events_archived",
            "Events retention moved to the archive and removed from the store.",
            registry=r,
        )
        self.retention_receipts = Gauge(
            "chronicle_retention_receipt",
            "The number of the latest retention receipt (0: retention never removed events).",
            registry=r,
        )
        self.sealer_refusing = Gauge(
            "chronicle_sealer_refusing",
            "1 while the sealer refuses to sign because the database no longer extends the seals "
            "kept outside it (seals deleted or replaced, history rewritten): alert on it.",
            registry=r,
        )
        self.http_requests = Counter(
            "chronicle_http_requests",
            "HTTP requests served.",
            ["method", "route", "status"],
            registry=r,
        )
        self.http_seconds = Histogram(
            "chronicle_http_request_seconds",
            "Time to serve an HTTP request.",
            ["method", "route"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.login_refusals = Counter(
            "chronicle_login_refusals",
            "Log-ins refused with 429 while their account or client address was locked after "
            "too many failures.",
            ["limit"],
            registry=r,
        )
        # The children the hot paths use, looked up once (see Children).
        self.appended_by_type = Children(self.events_appended)
        self.conflicts_by_type = Children(self.conflicts)
        self.requests_by_route = Children(self.http_requests)
        self.seconds_by_route = Children(self.http_seconds)
