"""Publishing to a Redis Stream: one ``XADD`` entry per event, a batch per pipeline.

Redis answers each ``XADD`` with the entry id once the entry is in the stream; the pipeline's
reply is the broker's confirmation. The stream is never trimmed here: a consumer group that lags
must not lose entries. Durability across a Redis restart is Redis's own (``appendonly yes``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import redis
from redis import exceptions as redis_errors

from chronicle.errors import BrokerUnavailableError, ConfigurationError
from chronicle.events import RecordedEvent
from chronicle.publishing.messages import body, envelope
from chronicle.publishing.publisher import redact


def redis_client(url: str, *, timeout: float) -> Any:
    """A client for ``url`` (nothing connects yet); ``ConfigurationError`` if it is malformed."""
    try:
        return redis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout, decode_responses=False
        )
    except ValueError as exc:
        raise ConfigurationError(
            "EVENT_QUEUE_URL", f"{redact(url)} is not a Redis URL: {exc}"
        ) from exc


def unavailable(url: str, exc: Exception) -> BrokerUnavailableError:
    return BrokerUnavailableError(
        f"Redis at EVENT_QUEUE_URL={redact(url)} is unavailable: {type(exc).__name__}: {exc or repr(exc)}"
    )


class RedisStreamPublisher:
    """Appends each event to the stream ``stream`` with its envelope fields and JSON body."""

    def __init__(self, url: str, stream: str, *, timeout: float = 5.0) -> None:
        self._url = url
        self.stream = stream
        self.destination = f"redis:{stream}"
        self._client = redis_client(url, timeout=timeout)

    def connect(self) -> None:
        try:
            self._client.ping()
        except redis_errors.RedisError as exc:
            raise unavailable(self._url, exc) from exc

    def publish(self, events: Sequence[RecordedEvent]) -> None:
        if not events:
            return
        try:
            pipe = self._client.pipeline(transaction=False)
            for event in events:
                pipe.xadd(self.stream, {**envelope(event), "event": body(event)})
            replies = pipe.execute(raise_on_error=True)
        except redis_errors.RedisError as exc:
            raise unavailable(self._url, exc) from exc
        if len(replies) != len(events) or not all(replies):
            raise BrokerUnavailableError(
                f"Redis confirmed {sum(1 for reply in replies if reply)} of {len(events)} entries"
            )

    def close(self) -> None:
        self._client.close()
