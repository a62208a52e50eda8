"""Health, metrics, and the service with EVENT_SOURCING_ENABLED=false, on both backends."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest

from .conftest import Api, assert_problem, settings_for, start


def test_health_reports_real_totals_and_timestamps(api: Api) -> None:
    api.post_message()
    body = api.client.get("/health/events").json()
    assert body["status"] == "healthy" and body["store"]["reachable"] is True
    assert body["total_events"] == api.events()
    oldest = datetime.fromisoformat(body["oldest_event"])
    assert oldest <= datetime.fromisoformat(body["newest_event"]) and oldest.tzinfo is not None


def test_health_is_503_when_the_store_is_unreachable(api: Api) -> None:
    api.services.chat.store.close()
    response = api.client.get("/health/events")
    assert response.status_code == 503
    assert response.json()["store"]["reachable"] is False


def test_metrics_expose_the_seeds_names_and_the_services(api: Api) -> None:
    message = api.post_message()
    api.client.patch(
        f"/messages/{message['id']}",
        json={"content": "x", "expected_version": 7},
        headers=api.as_("alice"),
    )
    text = api.client.get("/metrics").text
    for name in (
        'events_appended_total{aggregate_type="Message"} 1.0',
        "events_processed_total",
        "event_store_size_bytes",
        "chronicle_append_seconds_bucket",
        'chronicle_http_requests_total{method="POST",route="/messages",status="201"} 1.0',
        "chronicle_projection_lag_events",
    ):
        assert name in text, name
    assert 'route="/messages/{message_id}",status="409"' in text


def test_metrics_answer_openmetrics_to_a_scraper_that_asks_for_it(api: Api) -> None:
    api.post_message()
    accept = "application/openmetrics-text; version=1.0.0; charset=utf-8, text/plain;q=0.5"
    openmetrics = api.client.get("/metrics", headers={"Accept": accept})
    assert openmetrics.headers["content-type"].startswith("application/openmetrics-text")
    assert openmetrics.text.endswith("# EOF\n")
    assert 'events_appended_total{aggregate_type="Message"} 1.0' in openmetrics.text
    assert "# TYPE events_appended counter" in openmetrics.text  # OpenMetrics names the family
    for accept in ("text/plain", "*/*", None):
        headers = {"Accept": accept} if accept else {}
        text = api.client.get("/metrics", headers=headers)
        assert text.headers["content-type"].startswith("text/plain; version=0.0.4")
        assert "# EOF" not in text.text
        assert "# TYPE events_appended_total counter" in text.text


@pytest.fixture
def disabled(store_url: str) -> Iterator[Api]:
    yield from start(settings_for(store_url, enabled=False))


def test_with_event_sourcing_disabled_writes_reach_the_read_models_and_record_no_events(
    disabled: Api,
) -> None:
    api = disabled
    message = api.post_message(content="no trail")
    edited = api.client.patch(
        f"/messages/{message['id']}",
        json={"content": "still none", "expected_version": 1},
        headers=api.as_("alice"),
    )
    assert edited.status_code == 200 and edited.json()["version"] == 2
    read = api.client.get(f"/messages/{message['id']}", headers=api.as_("bob")).json()
    assert (read["content"], read["version"]) == ("still none", 2)
    stale = api.client.patch(
        f"/messages/{message['id']}",
        json={"content": "late", "expected_version": 1},
        headers=api.as_("alice"),
    )
    assert_problem(stale, 409)
    assert api.events() == 0
    body = assert_problem(
        api.client.get(f"/audit/{message['id']}/history", headers=api.as_("auditor")), 409
    )
    assert "disabled" in body["detail"]
