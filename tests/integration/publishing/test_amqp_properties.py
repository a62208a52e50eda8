"""What an AMQP consumer sees besides the body: standard properties and typed headers."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pika
from broker_fixtures import AMQP_URL, require

from chronicle import NewEvent
from chronicle.publishing.rabbitmq import RabbitMQPublisher
from chronicle.store.memory import MemoryEventStore


def test_a_published_message_carries_timestamp_correlation_id_app_id_and_integer_headers() -> None:
    require("rabbitmq")
    exchange = f"chronicle.test.{uuid.uuid4().hex}"
    store = MemoryEventStore()
    [event] = store.append(
        "message_a",
        [NewEvent("MessageCreated", {"content": "hi"}, {"correlation_id": "request-7"})],
        expected_version=0,
        aggregate_type="Message",
    )
    publisher = RabbitMQPublisher(AMQP_URL, exchange)
    connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    channel = connection.channel()
    try:
        publisher.connect()  # declares the exchange
        queue = channel.queue_declare("", exclusive=True).method.queue
        channel.queue_bind(queue, exchange, routing_key="#")
        publisher.publish([event])
        method, properties, _ = channel.basic_get(queue, auto_ack=True)
        assert method is not None, "the message did not arrive"
        assert properties.message_id == event.event_id
        assert properties.correlation_id == "request-7"
        assert properties.app_id == "chronicle"
        assert properties.timestamp == int(event.timestamp.timestamp())
        assert abs(properties.timestamp - datetime.now(UTC).timestamp()) < 60
        assert properties.headers["version"] == 1 and properties.headers["position"] == 1
        assert properties.headers["aggregate_id"] == "message_a"
    finally:
        channel.exchange_delete(exchange)
        connection.close()
        publisher.close()
        store.close()
