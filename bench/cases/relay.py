"""Case 10: relay throughput, the committed log published to Redis Streams and to RabbitMQ.

The store holds a backlog written through Chronicle's append path; each repetition publishes
all of it from a fresh checkpoint with ``Relay.run_until_caught_up`` (batches of 500, the
checkpoint moved after each broker confirmation: a Redis pipeline, an AMQP transaction). On
RabbitMQ a durable queue is bound to the exchange, so every message is routed and stored; the
queue (or stream) is emptied between repetitions and removed at the end. The brokers are at
CHRONICLE_BENCH_REDIS_URL and CHRONICLE_BENCH_AMQP_URL (default: the local servers). The peer
has no broker publishing, and the raw driver no relay, so Chronicle is measured alone.
"""

from __future__ import annotations

import itertools
import os
import time
import uuid
from collections.abc import Callable

import pika
import redis

from bench import chat_log
from bench.cases import Case, Scale
from bench.contenders import chronicle_store
from bench.harness import Benchmark, Subject
from bench.places import Site
from chronicle import EventStore
from chronicle.bootstrap import open_publisher
from chronicle.publishing import Relay

BROKERS = {
    "redis": os.environ.get("CHRONICLE_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"),
    "rabbitmq": os.environ.get("CHRONICLE_BENCH_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F"),
}
BATCH = 500


def build(site: Site, scale: Scale) -> list[Benchmark]:
    store, _ = chronicle_store(site, "relay")
    events = chat_log.fill(store, scale.relay_events)
    benchmarks = [_benchmark(site, store, kind, events) for kind in BROKERS]
    benchmarks[-1].subjects[0].close = _chain(benchmarks[-1].subjects[0].close, store.close)
    return benchmarks


def _benchmark(site: Site, store: EventStore, kind: str, events: int) -> Benchmark:
    url = BROKERS[kind]
    name = f"chronicle.bench.{uuid.uuid4().hex[:8]}"
    publisher = open_publisher(url, name=name)
    empty, remove = _broker_space(kind, url, name)
    checkpoints = itertools.count(1)

    def measure() -> float:
        relay = Relay(
            store, publisher, batch_size=BATCH, checkpoint=f"bench_{kind}_{next(checkpoints)}"
        )
        start = time.perf_counter()
        published = relay.run_until_caught_up()
        elapsed = time.perf_counter() - start
        empty()
        if published != events:
            raise RuntimeError(f"the relay published {published:,} of {events:,} events")
        return events / elapsed

    def close() -> None:
        publisher.close()
        remove()

    return Benchmark(
        case=10,
        key=f"relay-{kind}",
        title=f"relay {events:,} committed events to {'Redis Streams' if kind == 'redis' else 'RabbitMQ'}",
        backend=site.backend,
        unit="events/s",
        subjects=[Subject("chronicle", measure, close)],
        notes=["peer: no broker publishing; raw: not applicable"],
    )


def _broker_space(kind: str, url: str, name: str) -> tuple[Callable[[], None], Callable[[], None]]:
    """(empty, remove) for the stream, or for a queue bound to the exchange ``name``."""
    if kind == "redis":
        client = redis.Redis.from_url(url)

        def remove_stream() -> None:
            client.delete(name)
            client.close()

        return lambda: client.delete(name), remove_stream
    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()
    queue = f"{name}.queue"
    channel.exchange_declare(exchange=name, exchange_type="topic", durable=True)
    channel.queue_declare(queue=queue, durable=True)
    channel.queue_bind(queue=queue, exchange=name, routing_key="#")

    def remove_queue() -> None:
        channel.queue_delete(queue=queue)
        channel.exchange_delete(exchange=name)
        connection.close()

    return lambda: channel.queue_purge(queue=queue), remove_queue


def _chain(*closers: Callable[[], None]) -> Callable[[], None]:
    def close() -> None:
        for closer in closers:
            closer()

    return close


CASE = Case(10, "relay", "relay throughput (Redis, RabbitMQ)", build)
