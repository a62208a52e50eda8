"""Logging in, bearer tokens and user management, through HTTP on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import orjson

from chronicle.chat.service import Credentials
from chronicle.chat.service.accounts import update_user

from .conftest import Api, assert_problem, settings_for, start

VOIDED = "the token was issued before a password or role change: log in again"


def bearer(api: Api, username: str, password: str) -> dict[str, str]:
    """The auth header of a fresh log-in."""
    response = api.client.post("/auth/token", data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_the_password_form_returns_a_bearer_token_that_opens_the_api(api: Api) -> None:
    response = api.client.post("/auth/token", data={"username": "bob", "password": "bob-password"})
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 60 * 60  # CHRONICLE_TOKEN_MINUTES' default, in seconds
    me = api.client.get("/users/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json()["username"] == "bob" and me.json()["role"] == "member"


def test_a_wrong_password_or_unknown_user_gets_401(api: Api) -> None:
    for username, password in (("bob", "wrong-password"), ("nobody", "bob-password")):
        response = api.client.post("/auth/token", data={"username": username, "password": password})
        problem = assert_problem(response, 401)
        assert problem["type"].endswith(":invalid-credentials")  # not a token problem
        assert response.headers["www-authenticate"] == "Bearer"


def test_a_request_without_a_token_or_with_a_bad_one_gets_401(api: Api) -> None:
    assert_problem(api.client.get("/messages"), 401)
    assert_problem(api.client.get("/messages", headers={"Authorization": "Bearer nope"}), 401)
    forged = jwt.encode(
        {"sub": api.ids["admin"], "exp": datetime.now(UTC) + timedelta(minutes=5)},
        "another-secret-key-of-at-least-32-chars",
        algorithm="HS256",
    )
    assert_problem(api.client.get("/messages", headers={"Authorization": f"Bearer {forged}"}), 401)


def test_an_expired_token_gets_401(api: Api) -> None:
    token = jwt.encode(
        {"sub": api.ids["alice"], "exp": datetime.now(UTC) - timedelta(seconds=5)},
        api.services.tokens.secret,
        algorithm="HS256",
    )
    body = assert_problem(
        api.client.get("/messages", headers={"Authorization": f"Bearer {token}"}), 401
    )
    assert "expired" in body["detail"]


def test_an_admin_creates_a_user_who_can_then_log_in(api: Api) -> None:
    response = api.client.post(
        "/users",
        json={"username": "carol", "email": "carol@example.com", "role": "auditor",
              "password": "carol-password"},
        headers=api.as_("admin"),
    )  # fmt: skip
    assert response.status_code == 201
    assert response.json()["version"] == 1 and response.json()["role"] == "auditor"
    login = api.client.post("/auth/token", data={"username": "carol", "password": "carol-password"})
    assert login.status_code == 200
    [created] = api.services.chat.store.get_events_for_aggregate(response.json()["id"])
    assert created.user_id == api.ids["admin"]  # the admin caused it, not the new user


def test_no_password_or_hash_ever_enters_an_event(api: Api) -> None:
    everything = orjson.dumps([e.to_dict() for e in api.services.chat.store.read_all()])
    assert b"password" not in everything and b"argon2" not in everything


def test_members_and_auditors_may_not_create_users_and_nothing_is_stored(api: Api) -> None:
    before = api.events()
    for username in ("alice", "auditor"):
        response = api.client.post(
            "/users",
            json={"username": "mallory", "email": "m@example.com", "role": "admin",
                  "password": "mallory-password"},
            headers=api.as_(username),
        )  # fmt: skip
        assert_problem(response, 403)
    assert api.events() == before


def test_a_taken_username_is_a_409_and_stores_nothing(api: Api) -> None:
    before = api.events()
    response = api.client.post(
        "/users",
        json={"username": "bob", "email": "bob2@example.com", "role": "member",
              "password": "bob2-password"},
        headers=api.as_("admin"),
    )  # fmt: skip
    assert_problem(response, 409)
    assert api.events() == before


def test_invalid_user_fields_get_422(api: Api) -> None:
    before = api.events()
    for body in (
        {"username": "X", "email": "x@example.com", "role": "member", "password": "long-enough"},
        {"username": "xavier", "email": "nope", "role": "member", "password": "long-enough"},
        {"username": "xavier", "email": "x@example.com", "role": "king", "password": "long-enough"},
        {"username": "xavier", "email": "x@example.com", "role": "member", "password": "short"},
        {"username": "xavier", "email": "x@example.com", "password": "long-enough", "extra": 1},
    ):
        body_problem = assert_problem(
            api.client.post("/users", json=body, headers=api.as_("admin")), 422
        )
        assert body_problem["errors"]
    assert api.events() == before


def test_users_read_themselves_and_only_admins_and_auditors_read_others(api: Api) -> None:
    bob = api.ids["bob"]
    assert api.client.get(f"/users/{bob}", headers=api.as_("bob")).status_code == 200
    assert api.client.get(f"/users/{bob}", headers=api.as_("auditor")).status_code == 200
    assert_problem(api.client.get(f"/users/{bob}", headers=api.as_("alice")), 403)
    assert_problem(api.client.get("/users/user_nobody", headers=api.as_("admin")), 404)


def test_patching_a_user_records_an_event_and_a_renamed_user_logs_in_by_the_new_name(
    api: Api,
) -> None:
    bob = api.ids["bob"]
    response = api.client.patch(
        f"/users/{bob}", json={"username": "robert", "expected_version": 1},
        headers=api.as_("bob"),
    )  # fmt: skip
    assert response.status_code == 200 and response.json()["version"] == 2
    login = api.client.post("/auth/token", data={"username": "robert", "password": "bob-password"})
    assert login.status_code == 200
    old = api.client.post("/auth/token", data={"username": "bob", "password": "bob-password"})
    assert_problem(old, 401)


def test_only_an_admin_changes_roles_or_other_users(api: Api) -> None:
    before = api.events()
    bob = api.ids["bob"]
    assert_problem(
        api.client.patch(f"/users/{bob}", json={"role": "admin"}, headers=api.as_("bob")), 403
    )
    assert_problem(
        api.client.patch(f"/users/{bob}", json={"email": "x@y.zz"}, headers=api.as_("alice")), 403
    )
    assert api.events() == before
    promoted = api.client.patch(f"/users/{bob}", json={"role": "admin"}, headers=api.as_("admin"))
    assert promoted.json()["role"] == "admin"
    # The role change voided bob's token; logged in anew, he is an admin.
    assert_problem(api.client.get("/users/me", headers=api.as_("bob")), 401)
    fresh = bearer(api, "bob", "bob-password")
    assert api.client.post("/projects", json={"name": "Bob's"}, headers=fresh).status_code == 201


def test_a_password_change_takes_effect_and_records_no_event(api: Api) -> None:
    before = api.events()
    alice = api.ids["alice"]
    response = api.client.patch(
        f"/users/{alice}", json={"password": "a-new-password"}, headers=api.as_("alice")
    )
    assert response.status_code == 200
    assert api.events() == before
    login = api.client.post("/auth/token", data={"username": "alice", "password": "a-new-password"})
    assert login.status_code == 200


def test_a_token_issued_before_a_password_change_gets_401_and_a_fresh_log_in_works(
    api: Api,
) -> None:
    alice = api.ids["alice"]
    other_session = bearer(api, "alice", "alice-password")
    changed = api.client.patch(
        f"/users/{alice}", json={"password": "a-new-password"}, headers=api.as_("alice")
    )
    assert changed.status_code == 200
    for stale in (api.as_("alice"), other_session):
        body = assert_problem(api.client.get("/users/me", headers=stale), 401)
        assert body["type"].endswith(":invalid-token") and body["detail"] == VOIDED
    fresh = bearer(api, "alice", "a-new-password")
    assert api.client.get("/users/me", headers=fresh).json()["username"] == "alice"
    # Only alice's tokens were voided.
    assert api.client.get("/users/me", headers=api.as_("bob")).status_code == 200


def test_an_admin_setting_someones_password_voids_only_that_users_tokens(api: Api) -> None:
    bob = api.ids["bob"]
    response = api.client.patch(
        f"/users/{bob}", json={"password": "set-by-admin"}, headers=api.as_("admin")
    )
    assert response.status_code == 200
    assert_problem(api.client.get("/users/me", headers=api.as_("bob")), 401)
    assert api.client.get("/users/me", headers=api.as_("admin")).status_code == 200


def test_a_token_issued_before_a_role_change_gets_401_and_a_fresh_log_in_works(api: Api) -> None:
    bob = api.ids["bob"]
    demoted = api.client.patch(f"/users/{bob}", json={"role": "auditor"}, headers=api.as_("admin"))
    assert demoted.status_code == 200 and demoted.json()["role"] == "auditor"
    body = assert_problem(api.client.get("/users/me", headers=api.as_("bob")), 401)
    assert body["detail"] == VOIDED
    fresh = bearer(api, "bob", "bob-password")
    assert api.client.get("/users/me", headers=fresh).json()["role"] == "auditor"


def test_changing_only_a_username_or_email_keeps_tokens_and_never_revives_voided_ones(
    api: Api,
) -> None:
    bob = api.ids["bob"]
    before_role_change = api.as_("bob")
    api.client.patch(f"/users/{bob}", json={"role": "auditor"}, headers=api.as_("admin"))
    fresh = bearer(api, "bob", "bob-password")
    for change in ({"email": "robert@example.com"}, {"username": "robert"}, {"role": "auditor"}):
        response = api.client.patch(f"/users/{bob}", json=change, headers=api.as_("admin"))
        assert response.status_code == 200, response.text
    # A rename re-inserts bob's credentials row; the generation lives apart and is kept.
    assert api.client.get("/users/me", headers=fresh).json()["username"] == "robert"
    assert_problem(api.client.get("/users/me", headers=before_role_change), 401)


def test_a_token_without_a_generation_claim_works_until_the_first_change(api: Api) -> None:
    now = datetime.now(UTC)
    legacy = jwt.encode(
        {"sub": api.ids["alice"], "iat": now, "exp": now + timedelta(minutes=5)},
        api.services.tokens.secret,
        algorithm="HS256",
    )
    headers = {"Authorization": f"Bearer {legacy}"}
    assert api.client.get("/users/me", headers=headers).status_code == 200
    api.client.patch(
        f"/users/{api.ids['alice']}", json={"password": "a-new-password"}, headers=headers
    )
    assert_problem(api.client.get("/users/me", headers=headers), 401)


def test_a_token_with_a_generation_that_is_not_a_whole_number_gets_401(api: Api) -> None:
    for generation in ("1", -1, 1.5, True, None):
        token = jwt.encode(
            {"sub": api.ids["alice"], "gen": generation,
             "exp": datetime.now(UTC) + timedelta(minutes=5)},
            api.services.tokens.secret,
            algorithm="HS256",
        )  # fmt: skip
        body = assert_problem(
            api.client.get("/users/me", headers={"Authorization": f"Bearer {token}"}), 401
        )
        assert body["type"].endswith(":invalid-token")


def test_a_change_made_elsewhere_applies_here_once_the_cached_caller_expires(
    store_url: str,
) -> None:
    for api in start(settings_for(store_url, caller_cache_seconds=60)):
        alice = api.ids["alice"]
        assert api.client.get("/users/me", headers=api.as_("alice")).json()["role"] == "member"
        # Another process (here: the service layer, not this service's routes) demotes alice.
        chat = api.services.chat
        update_user(
            chat.writer(), Credentials(chat.store), alice, {"role": "auditor"},
            acting_user=api.ids["admin"],
        )  # fmt: skip
        # This process remembers alice for its cache seconds: her old token still passes …
        assert api.client.get("/users/me", headers=api.as_("alice")).status_code == 200
        api.services.callers.forget(alice)  # … until they pass (here: forgotten at once)
        body = assert_problem(api.client.get("/users/me", headers=api.as_("alice")), 401)
        assert body["detail"] == VOIDED


def test_a_change_made_through_this_service_applies_on_its_next_request(store_url: str) -> None:
    for api in start(settings_for(store_url, caller_cache_seconds=60)):
        bob = api.ids["bob"]
        assert api.client.get("/users/me", headers=api.as_("bob")).status_code == 200  # cached
        renamed = api.client.patch(
            f"/users/{bob}", json={"username": "robert"}, headers=api.as_("admin")
        )
        assert renamed.status_code == 200, renamed.text
        assert api.post_message("bob", "signed by my new name")["username"] == "robert"
        api.client.patch(f"/users/{bob}", json={"role": "auditor"}, headers=api.as_("admin"))
        assert_problem(api.client.get("/users/me", headers=api.as_("bob")), 401)
