"""An oversized body, sent in full to a real server, is answered 413 and the client reads it.

The server reads the rest of a refused body before answering: answering and closing while the
client still sends makes the kernel reset the connection, and the client never sees the 413.
"""

from __future__ import annotations

import http.client
from collections.abc import Iterator

import orjson
import pytest

from tests.integration.faults.service import Service

BODY = b'{"content": "' + b"x" * 5_000_000 + b'"}'  # 5 MB: well over the limit, under the drain


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    folder = tmp_path_factory.mktemp("body-limit")
    running = Service(f"sqlite:///{folder / 'chronicle.db'}", folder / "serve.log")
    running.start()
    yield running
    running.stop()


def post(service: Service, **request: object) -> tuple[http.client.HTTPResponse, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", service.port, timeout=30)
    connection.request("POST", "/messages", **request)  # type: ignore[arg-type]
    response = connection.getresponse()
    return response, response.read()


def assert_413_problem(response: http.client.HTTPResponse, body: bytes) -> None:
    assert response.status == 413, body
    assert response.getheader("content-type") == "application/problem+json"
    problem = orjson.loads(body)
    assert problem["type"] == "urn:chronicle:problem:body-too-large" and problem["status"] == 413


def test_a_declared_length_over_the_limit_is_read_and_answered_413(service: Service) -> None:
    response, body = post(service, body=BODY, headers={"Content-Type": "application/json"})
    assert_413_problem(response, body)  # no ConnectionResetError, no BrokenPipeError


def test_a_chunked_body_over_the_limit_is_read_and_answered_413(service: Service) -> None:
    chunks = (BODY[start : start + 65536] for start in range(0, len(BODY), 65536))
    response, body = post(
        service, body=chunks, headers={"Content-Type": "application/json"}, encode_chunked=True
    )
    assert_413_problem(response, body)


def test_the_connection_stays_usable_after_a_drained_413(service: Service) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", service.port, timeout=30)
    connection.request("POST", "/messages", body=BODY, headers={"Content-Type": "application/json"})
    refused = connection.getresponse()
    assert_413_problem(refused, refused.read())
    connection.request("GET", "/health/events")  # the same connection: nothing was left unread
    assert connection.getresponse().status == 200


def test_a_client_waiting_for_100_continue_is_answered_at_once(service: Service) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", service.port, timeout=30)
    connection.putrequest("POST", "/messages")
    connection.putheader("Content-Type", "application/json")
    connection.putheader("Content-Length", str(len(BODY)))
    connection.putheader("Expect", "100-continue")
    connection.endheaders()  # and no body: it waits for 100 Continue, which never comes
    response = connection.getresponse()
    assert_413_problem(response, response.read())
    assert response.getheader("connection") == "close"
