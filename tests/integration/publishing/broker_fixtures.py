"""Real brokers for the publishing tests (helpers; the fixture is in conftest.py): Redis and RabbitMQ on this machine.

Each test publishes to a stream / exchange and queue of its own (a uuid in the name) and removes
them afterwards, since other suites use the same servers at the same time. An outage stops the
real broker briefly and always starts it again (try/finally). Without a reachable broker the test
skips, except under CI (``CI`` set), where it fails.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pika
import pytest
import redis

from chronicle.bootstrap import open_publisher
from chronicle.publishing import (
    Deduplicator,
    PublishedEvent,
    Publisher,
    RabbitMQConsumer,
    RedisStreamConsumer,
)

REDIS_URL = os.environ.get("CHRONICLE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
AMQP_URL = os.environ.get("CHRONICLE_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
BROKERS = ["redis", "rabbitmq"]
WAIT_LIMIT = 120.0  # seconds: a bound so a broken test fails instead of hanging; not a timing check


def _unreachable(kind: str) -> str | None:
    try:
        if kind == "redis":
            client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
            client.ping()
            client.close()
        else:
            pika.BlockingConnection(pika.URLParameters(AMQP_URL)).close()
    except Exception as exc:  # any failure means: no broker to test against
        return f"{type(exc).__name__}: {exc}"
    return None


def require(kind: str) -> None:
    problem = _unreachable(kind)
    if problem is not None:
        message = f"{kind} is unreachable: {problem}"
        if os.environ.get("CI"):
            pytest.fail(message + " (CI requires it)")
        pytest.skip(message)


def wait_until(condition: Callable[[], bool], what: str, limit: float = WAIT_LIMIT) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


@dataclass
class Collector:
    """Runs a de-duplicating consumer in a thread and keeps what it hands over, in order."""

    run: Callable[[Callable[[PublishedEvent], None], threading.Event], int]
    dedup: Deduplicator
    events: list[PublishedEvent] = field(default_factory=list)
    received_at: list[float] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    error: BaseException | None = None

    def _handle(self, event: PublishedEvent) -> None:
        self.events.append(event)
        self.received_at.append(time.time())

    def _main(self) -> None:
        try:
            self.run(self._handle, self.stop)
        except BaseException as exc:
            self.error = exc

    def start(self) -> Collector:
        self.thread = threading.Thread(target=self._main, daemon=True)
        self.thread.start()
        return self

    def wait_for(self, count: int) -> None:
        wait_until(
            lambda: len(self.events) >= count or self.error is not None,
            f"{count} events (have {len(self.events)})",
        )
        if self.error is not None:
            raise self.error

    def close(self) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join(30)


@dataclass
class Broker:
    """One broker kind with names private to a test."""

    kind: str
    url: str
    name: str

    def publisher(self) -> Publisher:
        return open_publisher(self.url, name=self.name)

    def collector(self) -> Collector:
        """A started consumer; on RabbitMQ its queue is bound before this returns."""
        dedup = Deduplicator()
        if self.kind == "redis":
            consumer: RedisStreamConsumer | RabbitMQConsumer = RedisStreamConsumer(
                self.url, self.name, group="tests", dedup=dedup
            )
        else:
            consumer = RabbitMQConsumer(self.url, self.name, f"{self.name}.queue", dedup=dedup)
            consumer.connect()
        return Collector(consumer.run, dedup).start()

    @contextmanager
    def outage(self) -> Iterator[None]:
        """The real broker stopped for the body of the ``with``; always started again."""
        try:
            if self.kind == "redis":
                subprocess.run(
                    ["redis-cli", "-p", "6379", "shutdown", "nosave"],
                    check=False,
                    capture_output=True,
                    timeout=30,
                )
            else:
                subprocess.run(
                    ["rabbitmqctl", "stop_app"], check=True, capture_output=True, timeout=120
                )
            yield
        finally:
            if self.kind == "redis":
                if _unreachable("redis") is not None:
                    subprocess.run(
                        [
                            "redis-server",
                            "--daemonize",
                            "yes",
                            "--bind",
                            "127.0.0.1",
                            "-::1",
                            "--port",
                            "6379",
                            "--save",
                            "",
                            "--appendonly",
                            "no",
                            "--dir",
                            "/var/lib/redis",
                            "--logfile",
                            "/var/log/redis/ci.log",
                        ],
                        check=True,
                        capture_output=True,
                        timeout=30,
                    )
            else:
                subprocess.run(
                    ["rabbitmqctl", "start_app"], check=True, capture_output=True, timeout=180
                )
            wait_until(lambda: _unreachable(self.kind) is None, f"{self.kind} to come back")

    def cleanup(self) -> None:
        if _unreachable(self.kind) is not None:
            return
        if self.kind == "redis":
            client = redis.Redis.from_url(self.url)
            client.delete(self.name)
            client.close()
            return
        connection = pika.BlockingConnection(pika.URLParameters(self.url))
        channel = connection.channel()
        channel.queue_delete(queue=f"{self.name}.queue")
        channel.exchange_delete(exchange=self.name)
        connection.close()
