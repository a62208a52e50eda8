"""The metric children the hot paths keep: the same child each time, counted where scrapes look,
and a bounded number of them whatever label values clients send."""

from __future__ import annotations

from prometheus_client import generate_latest

from chronicle import metrics as metrics_module
from chronicle.metrics import Metrics


def test_a_child_is_looked_up_once_and_counts_in_the_registry() -> None:
    metrics = Metrics()
    first = metrics.requests_by_route("POST", "/messages", "201")
    first.inc()
    metrics.requests_by_route("POST", "/messages", "201").inc(2)

    assert metrics.requests_by_route("POST", "/messages", "201") is first
    assert (
        metrics.registry.get_sample_value(
            "chronicle_http_requests_total",
            {"method": "POST", "route": "/messages", "status": "201"},
        )
        == 3.0
    )


def test_other_label_values_get_children_of_their_own() -> None:
    metrics = Metrics()
    metrics.appended_by_type("Message").inc(5)
    metrics.appended_by_type("Ticket").inc()

    text = generate_latest(metrics.registry).decode()
    assert 'events_appended_total{aggregate_type="Message"} 5.0' in text
    assert 'events_appended_total{aggregate_type="Ticket"} 1.0' in text


def test_label_values_past_the_bound_are_counted_but_not_remembered(monkeypatch) -> None:
    monkeypatch.setattr(metrics_module, "MAX_CHILDREN", 2)
    metrics = Metrics()
    for method in ("GET", "POST", "BREW", "BREW"):
        metrics.seconds_by_route(method, "unmatched").observe(0.01)

    assert len(metrics.seconds_by_route._children) == 2
    assert (
        metrics.registry.get_sample_value(
            "chronicle_http_request_seconds_count", {"method": "BREW", "route": "unmatched"}
        )
        == 2.0
    )
