"""Schema-driven fuzzing: requests generated from the app's own OpenAPI never cause a 500."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from .conftest import Api

EXAMPLES_PER_OPERATION = 15


def running(api: Api) -> Any:
    """An ASGI app that serves requests through the already started app (no second lifespan)."""
    app = api.client.app

    async def serve(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                kind = message["type"].removeprefix("lifespan.")
                await send({"type": f"lifespan.{kind}.complete"})
                if kind == "shutdown":
                    return
        await app(scope, receive, send)

    return serve


@pytest.mark.parametrize(
    ("store_url", "who"),
    [
        ("sqlite", "admin"),
        ("sqlite", "alice"),
        ("sqlite", None),
        # PostgreSQL refuses what SQLite stores (NUL); its admin reaches every write route.
        ("postgresql", "admin"),
    ],
    indirect=["store_url"],
)
def test_no_generated_request_causes_a_server_error(api: Api, who: str | None) -> None:
    app = running(api)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    headers = api.as_(who) if who else {}
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in operations:
        fuzz(operation, headers, failures)
    assert failures == []
    served = sum(
        sample.value
        for metric in api.services.chat.metrics.http_requests.collect()
        for sample in metric.samples
        if sample.name.endswith("_total")
    )
    assert served >= 5 * len(operations), "the fuzzer sent too few requests to mean anything"


def fuzz(operation: Any, headers: dict[str, str], failures: list[str]) -> None:
    """Up to EXAMPLES_PER_OPERATION generated requests to one operation; note every 5xx."""

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: Any) -> None:
        response = case.call(headers=headers)
        if response.status_code >= 500:
            failures.append(f"{operation.label}: {response.status_code} {response.text[:200]}")
        assert response.status_code < 500

    # A failure is recorded above; go on with the other operations.
    with contextlib.suppress(AssertionError):
        check()
