"""The demo data records who caused each event: a named system actor for the accounts."""

from __future__ import annotations

from collections import Counter

from chronicle.chat.service.accounts import DEMO_ACTOR
from chronicle.chat.service.credentials import Credentials
from chronicle.chat.service.demo import DEMO_USERS, seed_demo
from chronicle.chat.wiring import open_chat
from chronicle.config import load_settings
from chronicle.metrics import Metrics


def test_demo_accounts_are_created_by_the_demo_actor_and_content_by_its_users(
    store_url: str,
) -> None:
    chat = open_chat(store_url, settings=load_settings())
    try:
        credentials = Credentials(chat.store)
        credentials.ensure_table()
        assert seed_demo(chat.writer(), credentials)
        events = chat.store.read_visible(limit=1000)
        accounts = [e for e in events if e.event_type == "UserCreated"]
        assert len(accounts) == len(DEMO_USERS)
        assert {e.user_id for e in accounts} == {DEMO_ACTOR}
        user_ids = {e.aggregate_id for e in accounts}
        assert all(e.user_id in user_ids for e in events if e.event_type != "UserCreated")
        assert not seed_demo(chat.writer(), credentials)  # a second run creates nothing
    finally:
        chat.close()


def test_the_seeds_counters_count_every_demo_append(store_url: str) -> None:
    metrics = Metrics()
    chat = open_chat(store_url, settings=load_settings(), metrics=metrics)
    try:
        credentials = Credentials(chat.store)
        credentials.ensure_table()
        assert seed_demo(chat.writer(), credentials)
        stored = chat.store.get_event_count()
        by_type = Counter(e.aggregate_type for e in chat.store.read_visible(limit=1000))
    finally:
        chat.close()
    assert sum(by_type.values()) == stored > 0
    for kind, count in by_type.items():
        counted = metrics.registry.get_sample_value(
            "events_appended_total", {"aggregate_type": kind}
        )
        assert counted == count, kind
