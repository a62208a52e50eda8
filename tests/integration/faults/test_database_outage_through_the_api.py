"""A PostgreSQL outage seen through the API (the server reaches the database through a proxy
the test cuts; the shared server keeps running): writes answer a 503 problem while it lasts,
never a 500, and succeed again within 2 s of its end.

tests/integration/store/test_postgres_outage.py holds the store itself to the same promise.
"""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.integration.faults.service import Service, create_member, through
from tests.support.tcp_proxy import TcpProxy

RECOVERY_BOUND = 2.0  # seconds, the acceptance criterion


@pytest.mark.slow
@pytest.mark.postgres
def test_writes_are_503_while_the_database_is_away_and_back_within_two_seconds(
    postgres_schema_url: str, tmp_path: Path
) -> None:
    create_member(postgres_schema_url, "alice")
    target = urlsplit(postgres_schema_url)
    with TcpProxy(target.hostname or "127.0.0.1", target.port or 5432) as proxy:
        service = Service(
            through(proxy, postgres_schema_url), tmp_path / "serve.log",
            CHRONICLE_CONNECT_TIMEOUT="1", CHRONICLE_PG_POOL_MAX="4",
        )  # fmt: skip
        try:
            service.start()
            with httpx.Client(base_url=service.base, headers=service.token("alice")) as http:

                def post(content: str) -> httpx.Response:
                    return http.post("/messages", json={"content": content}, timeout=30)

                assert post("before").status_code == 201
                proxy.cut()
                down = [post(f"during {attempt}") for attempt in range(5)]
                assert [r.status_code for r in down] == [503] * 5, [r.text for r in down]
                for response in down:
                    assert response.headers["content-type"] == "application/problem+json"
                    assert response.json()["type"] == "urn:chronicle:problem:store-unavailable"
                assert http.get("/health/events", timeout=30).status_code == 503
                time.sleep(3)  # long enough for the pool to back off from reconnecting
                proxy.restore()
                restored = time.monotonic()
                statuses = []
                while True:
                    response = post("after")
                    statuses.append(response.status_code)
                    if response.status_code == 201 or time.monotonic() - restored > 15:
                        break
                    time.sleep(0.05)
                back_after = time.monotonic() - restored
        finally:
            service.stop()
    assert 500 not in statuses and statuses[-1] == 201, statuses
    assert back_after < RECOVERY_BOUND, f"writes came back {back_after:.2f} s after the outage"
