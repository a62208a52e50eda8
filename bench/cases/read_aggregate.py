"""Case 5: read one aggregate's 10,000 events, decoded into events."""

from __future__ import annotations

from collections.abc import Sized

from bench import payload
from bench.aio import AsyncContender
from bench.cases import Case, Scale
from bench.contenders import chronicle_store, peer_app
from bench.harness import Benchmark, Subject, duration_ms
from bench.peer import Message
from bench.places import Site
from bench.reads import aggregate_events
from chronicle import NewEvent

APPEND_BATCH = 1000


def build(site: Site, scale: Scale) -> list[Benchmark]:
    count = scale.aggregate_events
    store, place = chronicle_store(site, "read")
    aggregate_id = "conversation-1"
    for version in range(0, count, APPEND_BATCH):
        events = [
            NewEvent(payload.EVENT_TYPE, payload.data(), payload.metadata())
            for _ in range(min(APPEND_BATCH, count - version))
        ]
        store.append(
            aggregate_id,
            events,
            expected_version=version,
            aggregate_type=payload.AGGREGATE_TYPE,
            user_id=payload.USER_ID,
        )
    # The raw driver reads Chronicle's own rows: the same database work, without the library.
    conn = place.raw_connect()

    app, _ = peer_app(site, "read")
    message = Message(payload.CONTENT, payload.USERNAME, payload.MESSAGE_TYPE, payload.metadata())
    for done in range(1, count + 1):
        if done > 1:
            message.note(
                payload.CONTENT, payload.USERNAME, payload.MESSAGE_TYPE, payload.metadata()
            )
        if done % APPEND_BATCH == 0 or done == count:
            app.save(message)

    def chronicle_read() -> float:
        return duration_ms(lambda: _expect(store.get_events_for_aggregate(aggregate_id), count))

    aio = AsyncContender(place.chronicle_url)  # the same rows, through the async API

    async def async_read() -> None:
        _expect(await aio.store.get_events_for_aggregate(aggregate_id), count)

    def raw_read() -> float:
        return duration_ms(
            lambda: _expect(aggregate_events(conn, site.backend, aggregate_id), count)
        )

    def peer_read() -> float:
        return duration_ms(lambda: _expect(list(app.events.get(message.id)), count))

    return [
        Benchmark(
            case=5,
            key="read10k",
            title=f"read one aggregate's {count:,} events",
            backend=site.backend,
            unit="ms",
            subjects=[
                Subject("chronicle", chronicle_read, store.close),
                Subject("async", aio.duration_ms(async_read), aio.close),
                Subject("raw", raw_read, conn.close),
                Subject("peer", peer_read, app.close),
            ],
        )
    ]


def _expect(events: Sized, count: int) -> None:
    if len(events) != count:
        raise RuntimeError(f"read {len(events)} events, expected {count}")


CASE = Case(5, "read-aggregate", "read one aggregate's events", build)
