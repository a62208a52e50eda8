"""A PostgreSQL outage, made with a proxy (the shared server keeps running): 503-style errors
while it lasts, writes back soon after it ends."""

from __future__ import annotations

import time
from urllib.parse import urlsplit, urlunsplit

import pytest

from chronicle import NewEvent, StoreUnavailableError
from chronicle.store.postgres import PostgresEventStore
from tests.support.tcp_proxy import TcpProxy


def through(proxy: TcpProxy, url: str) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)
    user = netloc[0] + "@" if len(netloc) == 2 else ""
    return urlunsplit(parts._replace(netloc=f"{user}127.0.0.1:{proxy.port}"))


def append(store: PostgresEventStore, aggregate_id: str) -> None:
    store.append(
        aggregate_id, [NewEvent("MessageCreated", {"content": "x"})], expected_version=0,
        aggregate_type="Message",
    )  # fmt: skip


def test_writes_fail_typed_while_the_database_is_cut_off_and_succeed_within_two_seconds_after(
    postgres_schema_url: str,
) -> None:
    target = urlsplit(postgres_schema_url)
    with TcpProxy(target.hostname or "127.0.0.1", target.port or 5432) as proxy:
        store = PostgresEventStore(
            through(proxy, postgres_schema_url), max_connections=2, connect_timeout=1.0,
            notify=False,
        )  # fmt: skip
        try:
            append(store, "message_before")
            proxy.cut()
            for attempt in range(3):  # every pooled connection is gone: each try fails typed
                with pytest.raises(StoreUnavailableError):
                    append(store, f"message_during_{attempt}")
            time.sleep(6)  # long enough for the pool to have backed off from reconnecting
            proxy.restore()
            restored = time.monotonic()
            deadline = restored + 10
            while True:
                try:
                    append(store, "message_after")
                    break
                except StoreUnavailableError:
                    assert time.monotonic() < deadline, "writes did not come back"
                    time.sleep(0.05)
            back_after = time.monotonic() - restored
            assert back_after < 2.0, f"writes came back {back_after:.1f}s after the outage"
            stored = {e.aggregate_id for e in store.get_all_events()}
            assert stored == {"message_before", "message_after"}  # nothing written while down
        finally:
            store.close()
