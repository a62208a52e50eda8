"""Relay throughput (events/s) to each broker and append-to-consumer delay (p50, p99).

Run on demand, never in the test suite:

    .venv/bin/python bench/publish_relay.py [--events 10000] [--brokers redis rabbitmq]

Uses the PostgreSQL, Redis and RabbitMQ servers named by CHRONICLE_TEST_POSTGRES_URL,
CHRONICLE_TEST_REDIS_URL and CHRONICLE_TEST_AMQP_URL (local defaults), in a fresh schema and
under stream / exchange names of its own, removed afterwards.

1. Throughput: 8 writers append N events, then one relay publishes the backlog; the figure is
   N / (time from first publish to last confirm).
2. Delay: a relay follows the log and a consumer reads while 8 writers append N events; the delay
   of an event is the consumer's receive time minus the event's commit timestamp.
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time
import uuid
from datetime import datetime
from urllib.parse import quote

import pika
import psycopg
import redis

from chronicle.bootstrap import open_publisher, open_store
from chronicle.events import NewEvent
from chronicle.publishing import (
    Deduplicator,
    PublishedEvent,
    RabbitMQConsumer,
    RedisStreamConsumer,
    Relay,
)
from chronicle.store.ports import EventStore

POSTGRES_URL = os.environ.get(
    "CHRONICLE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
URLS = {
    "redis": os.environ.get("CHRONICLE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
    "rabbitmq": os.environ.get("CHRONICLE_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F"),
}
WRITERS = 8


def write(store: EventStore, count: int, tag: str) -> None:
    per_writer = count // WRITERS
    content = "x" * 200

    def writer(number: int) -> None:
        for index in range(per_writer):
            store.append(
                f"{tag}_{number}_{index % 25}",
                [NewEvent("MessageCreated", {"content": content, "username": "alice"})],
                expected_version=index // 25,
                aggregate_type="Message",
            )

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def run(kind: str, events: int) -> None:
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    name = f"chronicle.bench.{uuid.uuid4().hex[:8]}"
    url = URLS[kind]
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    store = open_store(f"{POSTGRES_URL}?options={quote(f'-csearch_path={schema}')}")
    dedup = Deduplicator()
    received: list[tuple[PublishedEvent, float]] = []
    stop = threading.Event()
    if kind == "redis":
        consumer: RedisStreamConsumer | RabbitMQConsumer = RedisStreamConsumer(
            url, name, "bench", dedup=dedup
        )
    else:
        consumer = RabbitMQConsumer(url, name, f"{name}.queue", dedup=dedup)
        consumer.connect()
    thread = threading.Thread(
        target=consumer.run, args=(lambda e: received.append((e, time.time())), stop)
    )
    thread.start()
    publisher = open_publisher(url, name=name)
    try:
        write(store, events, "backlog")
        relay = Relay(store, publisher, batch_size=500)
        started = time.perf_counter()
        published = 0
        while published < events:
            published += relay.run_until_caught_up()
        elapsed = time.perf_counter() - started
        print(
            f"{kind}: relay published {published} events in {elapsed:.2f}s: "
            f"{published / elapsed:,.0f} events/s"
        )
        while len(received) < events:
            time.sleep(0.05)
        received.clear()

        follow_stop = threading.Event()
        follower = threading.Thread(
            target=relay.follow, args=(follow_stop,), kwargs={"idle_wait": 0.01}
        )
        follower.start()
        started = time.perf_counter()
        write(store, events, "live")
        while len(received) < events:
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
        follow_stop.set()
        follower.join()
        delays = sorted(
            (at - datetime.fromisoformat(event.event["timestamp"]).timestamp()) * 1000
            for event, at in received
        )
        quantiles = statistics.quantiles(delays, n=100)
        print(
            f"{kind}: {events} events by {WRITERS} writers in {elapsed:.2f}s "
            f"({events / elapsed:,.0f} events/s appended); append-to-consumer delay "
            f"p50 {quantiles[49]:.1f} ms, p99 {quantiles[98]:.1f} ms, max {delays[-1]:.1f} ms"
        )
    finally:
        stop.set()
        thread.join()
        publisher.close()
        store.close()
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        if kind == "redis":
            redis.Redis.from_url(url).delete(name)
        else:
            connection = pika.BlockingConnection(pika.URLParameters(url))
            channel = connection.channel()
            channel.queue_delete(queue=f"{name}.queue")
            channel.exchange_delete(exchange=name)
            connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--brokers", nargs="+", default=["redis", "rabbitmq"])
    args = parser.parse_args()
    for kind in args.brokers:
        run(kind, args.events)


if __name__ == "__main__":
    main()
