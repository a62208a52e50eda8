"""A runnable consumer of Chronicle's published events (Redis Stream or RabbitMQ queue).

    EVENT_QUEUE_URL=redis://127.0.0.1:6379/0 python examples/consume_events.py
    EVENT_QUEUE_URL=amqp://guest:guest@127.0.0.1:5672/%2F python examples/consume_events.py

It prints each event once (duplicates from at-least-once delivery are dropped by event_id) until
Ctrl-C, or until --max-events were handled. Start it once before the relay on RabbitMQ: that
declares and binds its durable queue, so no event is dropped for want of a queue.
"""

from __future__ import annotations

import argparse
import os
import signal
import threading

from chronicle.publishing import PublishedEvent, RabbitMQConsumer, RedisStreamConsumer


def show(event: PublishedEvent) -> None:
    print(
        f"{event.position:>8} {event.aggregate_type}/{event.aggregate_id} "
        f"v{event.version} {event.event_type} {event.data}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="Print Chronicle's published events.")
    parser.add_argument(
        "--url", default=os.environ.get("EVENT_QUEUE_URL", "redis://127.0.0.1:6379/0")
    )
    parser.add_argument(
        "--name", default=os.environ.get("CHRONICLE_QUEUE_NAME", "chronicle.events")
    )
    parser.add_argument("--group", default="example", help="consumer group / queue suffix")
    parser.add_argument("--max-events", type=int, default=None)
    args = parser.parse_args()

    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    if args.url.startswith(("amqp://", "amqps://")):
        consumer = RabbitMQConsumer(args.url, args.name, f"{args.name}.{args.group}")
        consumer.connect()
        handled = consumer.run(show, stop, max_events=args.max_events)
    else:
        redis_consumer = RedisStreamConsumer(args.url, args.name, group=args.group)
        handled = redis_consumer.run(show, stop, max_events=args.max_events)
    print(f"handled {handled} events")


if __name__ == "__main__":
    main()
