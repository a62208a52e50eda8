"""Consumer helpers: at-least-once delivery made effectively once by de-duplicating on event_id.

The relay may publish an event more than once (a crash between the broker's confirmation and the
checkpoint, a retried batch). Each helper hands an event to your handler only the first time its
``event_id`` is seen, acknowledges it after the handler returned, and keeps the broker's order,
which is each aggregate's version order. A handler that raises stops the loop with the event
unacknowledged, so it is delivered again.

The :class:`Deduplicator` remembers the most recent ids in memory. A consumer that must not
repeat work across its own restarts keeps the ids (or each aggregate's last version) in the same
transaction as its own state, and passes a ``Deduplicator`` loaded from there.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import pika
from redis import exceptions as redis_errors

from chronicle.errors import BrokerUnavailableError
from chronicle.publishing import rabbitmq
from chronicle.publishing import redis as redis_publishing
from chronicle.publishing.messages import PublishedEvent, decode

log = logging.getLogger(__name__)
Handler = Callable[[PublishedEvent], None]
# What makes the RabbitMQ consumer reconnect: the broker went away, or could not be reached.
RECONNECT_ON: tuple[type[BaseException], ...] = (*rabbitmq.BROKER_ERRORS, BrokerUnavailableError)


class Deduplicator:
    """The last ``capacity`` event ids handled; older ids are forgotten first."""

    def __init__(self, capacity: int = 1_000_000, seen: list[str] | None = None) -> None:
        self.capacity = capacity
        self._ids: OrderedDict[str, None] = OrderedDict()
        self.duplicates = 0
        for event_id in seen or ():
            self.remember(event_id)

    def is_duplicate(self, event_id: str) -> bool:
        if event_id in self._ids:
            self.duplicates += 1
            return True
        return False

    def remember(self, event_id: str) -> None:
        self._ids[event_id] = None
        if len(self._ids) > self.capacity:
            self._ids.popitem(last=False)


class RedisStreamConsumer:
    """Reads a Redis Stream through a consumer group; entries are acknowledged once handled.

    On start it first re-reads its own pending entries (delivered before a crash, never
    acknowledged), then new ones. If the stream or group vanished (a Redis restart without
    persistence), the group is created again from the start of the stream.
    """

    def __init__(
        self,
        url: str,
        stream: str,
        group: str,
        consumer: str = "consumer-1",
        *,
        dedup: Deduplicator | None = None,
        timeout: float = 5.0,
    ) -> None:
        self._url = url
        self.stream, self.group, self.consumer = stream, group, consumer
        self.dedup = dedup or Deduplicator()
        self._client = redis_publishing.redis_client(url, timeout=timeout)
        self._read_pending = True
        self._group_ready = False

    def _ensure_group(self) -> None:
        try:
            self._client.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except redis_errors.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True

    def poll(self, count: int = 100, block_ms: int = 500) -> list[tuple[bytes, PublishedEvent]]:
        """The next entries not seen before; duplicates are acknowledged and left out."""
        try:
            if not self._group_ready:
                self._ensure_group()
            start = "0" if self._read_pending else ">"
            try:
                reply = self._client.xreadgroup(
                    self.group,
                    self.consumer,
                    {self.stream: start},
                    count=count,
                    block=None if self._read_pending else block_ms,
                )
            except redis_errors.ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    raise
                self._ensure_group()
                self._read_pending = False
                return []
        except redis_errors.RedisError as exc:
            self._group_ready = False
            raise redis_publishing.unavailable(self._url, exc) from exc
        entries = reply[0][1] if reply else []
        if self._read_pending and not entries:
            self._read_pending = False
        fresh: list[tuple[bytes, PublishedEvent]] = []
        in_batch: set[str] = set()
        for entry_id, fields in entries:
            event = decode(fields[b"event"])
            if event.event_id in in_batch:
                self.dedup.duplicates += 1
                self.ack(entry_id)
            elif self.dedup.is_duplicate(event.event_id):
                self.ack(entry_id)
            else:
                in_batch.add(event.event_id)
                fresh.append((entry_id, event))
        return fresh

    def ack(self, entry_id: bytes) -> None:
        try:
            self._client.xack(self.stream, self.group, entry_id)
        except redis_errors.RedisError as exc:
            raise redis_publishing.unavailable(self._url, exc) from exc

    def run(
        self,
        handler: Handler,
        stop: threading.Event,
        *,
        max_events: int | None = None,
        retry_wait: float = 0.5,
    ) -> int:
        """Handle events until ``stop`` is set (or ``max_events`` were handled); return the count.

        A Redis outage is logged and retried; the handler's own errors propagate.
        """
        handled = 0
        while not stop.is_set() and (max_events is None or handled < max_events):
            try:
                for entry_id, event in self.poll():
                    handler(event)
                    self.dedup.remember(event.event_id)
                    self.ack(entry_id)
                    handled += 1
            except BrokerUnavailableError as exc:
                log.warning("consuming %s: %s", self.stream, exc)
                stop.wait(retry_wait)
        return handled

    def close(self) -> None:
        self._client.close()


class RabbitMQConsumer:
    """Consumes a durable queue bound to the relay's topic exchange; acks once handled.

    ``connect`` declares the exchange, the durable queue and its bindings (``#``: every event;
    ``Message.*``: one aggregate type), so run it once before the relay publishes.
    """

    def __init__(
        self,
        url: str,
        exchange: str,
        queue: str,
        *,
        binding_keys: tuple[str, ...] = ("#",),
        dedup: Deduplicator | None = None,
        prefetch: int = 500,
        timeout: float = 10.0,
    ) -> None:
        self._url = url
        self.exchange, self.queue, self.binding_keys = exchange, queue, binding_keys
        self.dedup = dedup or Deduplicator()
        self.prefetch = prefetch
        self._parameters = rabbitmq.connection_parameters(url, timeout=timeout)
        self._connection: Any = None
        self._channel: Any = None

    def connect(self) -> None:
        if self._channel is not None and self._channel.is_open:
            return
        self.close()
        try:
            self._connection = pika.BlockingConnection(self._parameters)
            self._channel = self._connection.channel()
            rabbitmq.declare_exchange(self._channel, self.exchange)
            self._channel.queue_declare(queue=self.queue, durable=True)
            for key in self.binding_keys:
                self._channel.queue_bind(queue=self.queue, exchange=self.exchange, routing_key=key)
            self._channel.basic_qos(prefetch_count=self.prefetch)
        except rabbitmq.BROKER_ERRORS as exc:
            self.close()
            raise rabbitmq.unavailable(self._url, exc) from exc

    def run(
        self,
        handler: Handler,
        stop: threading.Event,
        *,
        max_events: int | None = None,
        retry_wait: float = 0.5,
        inactivity: float = 0.2,
    ) -> int:
        """Handle events until ``stop`` is set (or ``max_events`` were handled); return the count.

        A RabbitMQ outage is logged and retried (unacknowledged messages come back); the
        handler's own errors propagate.
        """
        handled = 0
        while not stop.is_set() and (max_events is None or handled < max_events):
            try:
                self.connect()
                for method, _properties, raw in self._channel.consume(
                    self.queue, inactivity_timeout=inactivity
                ):
                    if method is None:
                        if stop.is_set():
                            break
                        continue
                    event = decode(raw)
                    if not self.dedup.is_duplicate(event.event_id):
                        handler(event)
                        self.dedup.remember(event.event_id)
                        handled += 1
                    self._channel.basic_ack(method.delivery_tag)
                    if stop.is_set() or (max_events is not None and handled >= max_events):
                        break
                self._channel.cancel()
            except RECONNECT_ON as exc:
                log.warning("consuming %s: %s", self.queue, exc)
                self.close()
                stop.wait(retry_wait)
        return handled

    def delete_queue(self) -> None:
        """Remove the queue (tests and throw-away consumers)."""
        self.connect()
        try:
            self._channel.queue_delete(queue=self.queue)
        except rabbitmq.BROKER_ERRORS as exc:
            raise rabbitmq.unavailable(self._url, exc) from exc

    def close(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is None or not connection.is_open:
            return
        try:
            connection.close()
        except rabbitmq.BROKER_ERRORS:
            # The broker dropped the connection first; that failure was already reported.
            return
