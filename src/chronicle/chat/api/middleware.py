"""ASGI middleware: a request-body size limit, and HTTP metrics per route template."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chronicle.metrics import Metrics

from .problems import MEDIA_TYPE

DRAIN_BYTES = 16 * 1024 * 1024
"""How much of a refused body is read (and dropped) before the 413 is sent.

A client still sending its body when the server answers and closes sees the connection reset,
not the answer (the unread bytes make the kernel send RST). Reading the rest first lets every
client read the 413; a body larger than this is refused at once, closing the connection.
"""


async def _send_413(send: Send, limit: int, *, close: bool) -> None:
    body = orjson.dumps(
        {
            "type": "urn:chronicle:problem:body-too-large",
            "title": "Request Entity Too Large",
            "status": 413,
            "detail": f"the request body is larger than {limit} bytes",
        }
    )
    headers = [
        (b"content-type", MEDIA_TYPE.encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})


SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]
"""Sent with every response: no MIME sniffing, no referrer leaking ids, no framing."""


class SecurityHeaders:
    """Adds :data:`SECURITY_HEADERS` to every response (``serve`` also drops uvicorn's
    ``server`` header, so no server version is announced)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", [])}
                extra = [header for header in SECURITY_HEADERS if header[0] not in names]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyLimit:
    """Answers 413 to a body over ``limit`` bytes before any route sees it.

    A declared Content-Length over the limit is refused without buffering; a chunked body is
    read up to the limit (at most ``limit`` bytes buffered) and then replayed to the app. A
    refused body is first drained (read and dropped, up to ``drain`` bytes) so that a client
    still sending reads the 413 instead of a reset connection; a client waiting for
    ``100 Continue`` is answered at once, as it sends nothing more.
    """

    def __init__(self, app: ASGIApp, limit: int, drain: int = DRAIN_BYTES) -> None:
        self.app = app
        self.limit = limit
        self.drain = drain

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length")
        if declared is not None:
            if not declared.isdigit() or int(declared) > self.limit:
                waiting = headers.get(b"expect", b"").lower() == b"100-continue"
                if waiting or not declared.isdigit() or int(declared) > self.drain:
                    await _send_413(send, self.limit, close=True)
                else:
                    await self._drain_then_refuse(receive, send, received=0)
                return
            await self.app(scope, receive, send)
            return
        if headers.get(b"transfer-encoding") is None:
            await self.app(scope, receive, send)
            return
        buffered: list[Message] = []
        size = 0
        while True:
            message = await receive()
            buffered.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > self.limit:
                if message.get("more_body", False):
                    await self._drain_then_refuse(receive, send, received=size)
                else:
                    await _send_413(send, self.limit, close=False)
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return buffered.pop(0) if buffered else await receive()

        await self.app(scope, replay, send)

    async def _drain_then_refuse(self, receive: Receive, send: Send, *, received: int) -> None:
        """Read and drop the rest of the body (up to the bound), then send the 413; the
        connection stays open when the whole body was read, and closes otherwise."""
        while received <= self.drain:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away: nobody to answer
            received += len(message.get("body", b""))
            if not message.get("more_body", False):
                await _send_413(send, self.limit, close=False)
                return
        await _send_413(send, self.limit, close=True)


class HTTPMetrics:
    """Counts requests by method, route template and status, and times them."""

    def __init__(self, app: ASGIApp, metrics: Callable[[], Metrics | None]) -> None:
        self.app = app
        self.metrics = metrics  # the running service's metrics, once its lifespan started

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            self._record(scope, status, time.perf_counter() - started)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        metrics = self.metrics()
        if metrics is None:
            return
        route: Any = scope.get("route")
        template = getattr(route, "path", None) or "unmatched"
        method = scope.get("method", "?")
        metrics.requests_by_route(method, template, str(status)).inc()
        metrics.seconds_by_route(method, template).observe(seconds)
