"""Every response carries the security headers, errors and the audit page included."""

from __future__ import annotations

from .conftest import Api


def test_every_kind_of_response_carries_the_security_headers(api: Api) -> None:
    responses = [
        api.client.get("/health/events"),  # 200, anonymous
        api.client.get("/messages"),  # 401 problem
        api.client.get("/ui"),  # the audit page
        api.client.get("/no-such-route"),  # 404
        api.client.post(  # 413, answered by the body limit before any route
            "/messages", content=b"x" * (4 * 1024 * 1024), headers={"Content-Type": "text/plain"}
        ),
    ]
    for response in responses:
        assert response.headers["x-content-type-options"] == "nosniff", response.url
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["x-frame-options"] == "DENY"
        assert "server" not in response.headers
    assert [response.status_code for response in responses][:2] == [200, 401]
    assert responses[-1].status_code == 413
