"""The ``broker`` fixture: each test taking it runs against the real Redis and RabbitMQ."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from broker_fixtures import AMQP_URL, BROKERS, REDIS_URL, Broker, require


@pytest.fixture(params=BROKERS)
def broker(request: pytest.FixtureRequest) -> Iterator[Broker]:
    """Each test taking ``broker`` runs against Redis and against RabbitMQ."""
    kind = request.param
    require(kind)
    url = REDIS_URL if kind == "redis" else AMQP_URL
    made = Broker(kind, url, f"chronicle.test.{uuid.uuid4().hex[:12]}")
    yield made
    made.cleanup()
