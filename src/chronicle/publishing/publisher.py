"""The port a relay publishes through; one adapter per broker (``redis``, ``rabbitmq``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from chronicle.events import RecordedEvent


@runtime_checkable
class Publisher(Protocol):
    """Hands events to a broker and returns only once the broker has confirmed every one."""

    #: Where events go, for messages and metrics (``redis:chronicle.events``); never credentials.
    destination: str

    def connect(self) -> None:
        """Connect now (and declare what the broker needs); ``BrokerUnavailableError`` if it can't."""
        ...

    def publish(self, events: Sequence[RecordedEvent]) -> None:
        """Publish ``events`` in order; return once all are confirmed.

        Raises ``BrokerUnavailableError`` when any is not confirmed: some of the batch may then
        have reached the broker, so the caller re-publishes the whole batch (at least once).
        """
        ...

    def close(self) -> None: ...


def redact(url: str) -> str:
    """``url`` without its password, fit for error messages and logs."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    credentials, _, host = rest.rpartition("@")
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in credentials else f"{scheme}://{user}@{host}"
