"""Health and metrics answer from the store's summary, never from a count of the whole log."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chronicle.store import Seal

from .conftest import Api


def refuse_full_counts(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    def stats() -> None:
        raise AssertionError("a health probe or a scrape counted the whole log")

    monkeypatch.setattr(api.services.chat.store, "stats", stats)


def test_health_and_metrics_report_the_totals_without_counting_the_log(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    api.post_message()
    api.post_message(content="again")
    exact = api.services.chat.store.stats()
    refuse_full_counts(api, monkeypatch)
    body = api.client.get("/health/events").json()
    assert body["total_events"] == exact.total_events == api.events()
    assert body["oldest_event"] == exact.oldest_event.isoformat()
    assert body["newest_event"] == exact.newest_event.isoformat()
    assert f"chronicle_store_events {float(exact.total_events)}" in api.client.get("/metrics").text


def test_after_a_seal_health_counts_only_the_events_since_it(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = api.services.chat.store
    api.post_message()
    [newest] = store.read_all(after=store.get_event_count() - 1, limit=1)
    # A seal that claims more than is stored shows that its count is taken, not recounted.
    sealed = store.get_event_count() + 1000
    sealed_at = datetime(2026, 1, 1, tzinfo=UTC)
    store.append_seal(Seal(1, newest.position, sealed, b"h" * 32, b"l" * 32, sealed_at))
    api.post_message(content="after the seal")
    refuse_full_counts(api, monkeypatch)
    assert api.client.get("/health/events").json()["total_events"] == sealed + 1
