"""Strict request bodies: JSON only, once per key, before any route parses them.

A body sent to the API must be ``application/json`` (415 otherwise) and well-formed JSON with no
key repeated in any object and no ``NaN``/``Infinity`` (400 otherwise): a parser that keeps the
last of two keys, or reads ``text/plain`` as JSON, makes an audit trail record something the
sender may not have meant. The log-in form (``application/x-www-form-urlencoded``, OAuth2's
password grant) is the one exception.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .problems import MEDIA_TYPE

FORM_PATHS = frozenset({"/auth/token"})
_WITH_BODY = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class _Malformed(ValueError):
    pass


def _no_repeated_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _Malformed(f"the key {key[:60]!r} appears twice in one object")
        result[key] = value
    return result


def _no_constants(name: str) -> None:
    raise _Malformed(f"{name} is not JSON")


def check_json(body: bytes) -> None:
    """``ValueError`` naming what is wrong unless ``body`` is strict JSON."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _Malformed(f"the body is not UTF-8 ({exc.reason} at byte {exc.start})") from None
    try:
        json.loads(text, object_pairs_hook=_no_repeated_keys, parse_constant=_no_constants)
    except _Malformed:
        raise
    except (ValueError, RecursionError) as exc:
        raise _Malformed(f"the body is not JSON ({str(exc)[:120]})") from None


class StrictJSONBodies:
    """Refuses a request body that is not strict JSON, before the route sees it (then replays
    the body it read; the body limit outside it bounds how much that is)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in _WITH_BODY
            or scope["path"] in FORM_PATHS
        ):
            await self.app(scope, receive, send)
            return
        chunks = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay([message], receive), send)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if body:
            media = dict(scope["headers"]).get(b"content-type", b"").split(b";")[0]
            if media.strip().lower() != b"application/json":
                await _send_problem(
                    send, 415, "unsupported-media-type", "Unsupported Media Type",
                    "the body must be sent as Content-Type: application/json",
                )  # fmt: skip
                return
            try:
                check_json(body)
            except ValueError as exc:
                await _send_problem(send, 400, "malformed-json", "Bad Request", str(exc))
                return
        replayed: Message = {"type": "http.request", "body": body, "more_body": False}
        await self.app(scope, _replay([replayed], receive), send)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay


async def _send_problem(send: Send, status: int, slug: str, title: str, detail: str) -> None:
    body = orjson.dumps(
        {
            "type": f"urn:chronicle:problem:{slug}",
            "title": title,
            "status": status,
            "detail": detail,
        }
    )
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", MEDIA_TYPE.encode()),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
