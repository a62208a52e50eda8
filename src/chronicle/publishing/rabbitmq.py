"""Publishing to a RabbitMQ topic exchange, one broker transaction per batch.

The exchange is durable, every message persistent (``delivery_mode=2``) with ``message_id`` =
``event_id``, the event's ``correlation_id``, ``timestamp`` and ``app_id``, typed headers, and
routing key ``<aggregate_type>.<event_type>``. A batch is published inside an
AMQP transaction: the messages stream out without waiting, and ``tx.commit`` returns only once
the broker has taken responsibility for all of them (persistent messages routed to durable
queues: written to disk); a failure before that discards the whole batch, which the relay then
publishes again. One round trip per batch, where synchronous publisher confirms (the blocking
client's only kind) cost one per message.

RabbitMQ drops a message that no queue is bound for: bind the consumers' durable queues (see
:mod:`chronicle.publishing.consumer`) before the relay first runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pika
from pika import exceptions as pika_errors

from chronicle.errors import BrokerUnavailableError, ConfigurationError
from chronicle.events import RecordedEvent
from chronicle.publishing.messages import APP_ID, CONTENT_TYPE, body, routing_key, typed_envelope
from chronicle.publishing.publisher import redact

# What pika raises when the broker, the socket or the channel fails.
BROKER_ERRORS: tuple[type[BaseException], ...] = (pika_errors.AMQPError, OSError)


def connection_parameters(url: str, *, timeout: float) -> pika.URLParameters:
    """Parameters for ``url``; ``ConfigurationError`` naming EVENT_QUEUE_URL if it is malformed."""
    try:
        parameters = pika.URLParameters(url)
    except (ValueError, TypeError) as exc:
        raise ConfigurationError(
            "EVENT_QUEUE_URL", f"{redact(url)} is not an AMQP URL: {exc}"
        ) from exc
    parameters.socket_timeout = timeout
    parameters.blocked_connection_timeout = timeout
    parameters.connection_attempts = 1
    return parameters


def unavailable(url: str, exc: BaseException) -> BrokerUnavailableError:
    return BrokerUnavailableError(
        f"RabbitMQ at EVENT_QUEUE_URL={redact(url)} is unavailable: {type(exc).__name__}: {exc or repr(exc)}"
    )


def declare_exchange(channel: Any, exchange: str) -> None:
    channel.exchange_declare(exchange=exchange, exchange_type="topic", durable=True)


class RabbitMQPublisher:
    """Publishes each event as a persistent message to the durable topic exchange ``exchange``."""

    def __init__(self, url: str, exchange: str, *, timeout: float = 10.0) -> None:
        self._url = url
        self.exchange = exchange
        self.destination = f"amqp:{exchange}"
        self._parameters = connection_parameters(url, timeout=timeout)
        self._connection: Any = None
        self._channel: Any = None

    def connect(self) -> None:
        if self._channel is not None and self._channel.is_open:
            return
        self.close()
        try:
            self._connection = pika.BlockingConnection(self._parameters)
            self._channel = self._connection.channel()
            self._channel.tx_select()
            declare_exchange(self._channel, self.exchange)
        except BROKER_ERRORS as exc:
            self.close()
            raise unavailable(self._url, exc) from exc

    def publish(self, events: Sequence[RecordedEvent]) -> None:
        if not events:
            return
        self.connect()
        try:
            for event in events:
                self._channel.basic_publish(
                    exchange=self.exchange,
                    routing_key=routing_key(event),
                    body=body(event),
                    properties=pika.BasicProperties(
                        content_type=CONTENT_TYPE,
                        delivery_mode=pika.DeliveryMode.Persistent,
                        message_id=event.event_id,
                        correlation_id=event.correlation_id,
                        # AMQP timestamps are whole seconds; the body keeps the microseconds.
                        timestamp=int(event.timestamp.timestamp()),
                        app_id=APP_ID,
                        type=event.event_type,
                        headers=typed_envelope(event),
                    ),
                )
            self._channel.tx_commit()
        except BROKER_ERRORS as exc:
            # A broken channel is of no further use; the next publish reconnects.
            self.close()
            raise unavailable(self._url, exc) from exc

    def close(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is None or not connection.is_open:
            return
        try:
            connection.close()
        except BROKER_ERRORS:
            # Closing a connection the broker already dropped: the error that made us close it
            # has been raised to the caller; this one adds nothing.
            return
