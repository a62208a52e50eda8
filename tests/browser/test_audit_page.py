"""The audit page in a real browser (headless Chromium) against ``chronicle serve --demo``.

The demo's alice wrote a message in the project "Launch" and edited it; the service seals every
second with a signing key the test made, so the auditor can check that edit's proof in the page
against the public key pasted into it. Screenshots of the path at 390, 1366 and 1920 px wide
are written to ``build/screenshots/`` for review.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from playwright.sync_api import expect

from chronicle.integrity.keys import key_entry
from chronicle.integrity.signing import load_signing_key, new_signing_key_text
from tests.browser.conftest import free_port

SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
SIGNING_KEY = new_signing_key_text()
PUBLIC_KEY = key_entry(load_signing_key(SIGNING_KEY).public)  # KEY_ID:BASE64, as pasted
KEY_ID = PUBLIC_KEY.split(":")[0]


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder: Path = tmp_path_factory.mktemp("service")
    port = free_port()
    env = {
        **os.environ,
        "EVENT_STORE_TYPE": "sqlite",
        "EVENT_STORE_URL": f"sqlite:///{folder / 'chronicle.db'}",
        "CHRONICLE_SIGNING_KEY": SIGNING_KEY,
        "CHRONICLE_TRUSTED_KEYS": PUBLIC_KEY,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "chronicle", "serve", "--demo", "--port", str(port)],
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/health/events", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None, process.stdout.read().decode() if process.stdout else ""
            assert time.monotonic() < deadline, "the service did not start"
            time.sleep(0.2)
        wait_until_sealed(base)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def wait_until_sealed(base: str) -> None:
    """Until the worker's sealer (every second) has sealed the demo's events."""
    login = httpx.post(
        f"{base}/auth/token", data={"username": "auditor", "password": "auditor-demo"}
    )
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    deadline = time.monotonic() + 30
    while True:
        report = httpx.get(f"{base}/audit/verify", headers=headers, timeout=10).json()
        if report["unsealed_events"] == 0 and report["seals_checked"] > 0:
            return
        assert time.monotonic() < deadline, f"the demo's events were not sealed: {report}"
        time.sleep(0.5)


def open_page(browser: Any, service: str, width: int = 1366, height: int = 900) -> Any:
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.goto(f"{service}/ui")
    return page


@pytest.fixture
def page(browser: Any, service: str) -> Iterator[Any]:
    page = open_page(browser, service)
    yield page
    page.context.close()
    assert page.errors == [], f"the page raised: {page.errors}"


def sign_in(page: Any, username: str) -> None:
    page.get_by_label("Username", exact=True).fill(username)
    page.get_by_label("Password", exact=True).fill(f"{username}-demo")
    page.get_by_role("button", name="Sign in").click()


def pin_the_key(page: Any, key: str = PUBLIC_KEY) -> None:
    page.locator("#pinned-key").fill(key)
    page.get_by_role("button", name="Pin this key").click()
    page.locator("#pin-status", has_text="Pinned key").wait_for()


def alices_edits_of_last_week(page: Any) -> None:
    page.get_by_label("User", exact=True).fill("alice")
    page.get_by_label("Event type", exact=True).select_option("MessageUpdated")
    page.get_by_role("button", name="Last 7 days").click()
    page.get_by_role("button", name="Find events").click()
    page.locator("#events-status", has_text="1 event(s) shown").wait_for()  # the demo's one


def the_edit(page: Any) -> Any:
    return page.locator("#history li.entry", has_text="MessageUpdated")


def test_an_auditor_finds_alices_edit_sees_the_words_the_project_before_and_the_proof(
    page: Any,
) -> None:
    sign_in(page, "auditor")
    pin_the_key(page)
    alices_edits_of_last_week(page)
    rows = page.locator("#events tbody tr")
    assert rows.count() == 1  # the demo's one edit, by alice, this week
    assert "alice (member)" in rows.first.inner_text()
    assert "MessageUpdated" in rows.first.inner_text()

    rows.first.click()
    the_edit(page).wait_for()
    edit = the_edit(page)
    assert edit.locator("ins").inner_text().strip() == "for review"  # exactly the words added
    assert edit.locator("del").count() == 0
    created = page.locator("#history li.entry", has_text="(created)")
    assert "content = Hello @bob, the launch plan is ready" in created.inner_text()

    edit.get_by_role("button", name="Check proof").click()
    edit.locator(".proof.good").wait_for()
    assert f"signed by key {KEY_ID}" in edit.locator(".proof").inner_text()
    assert "Proven by seal" in edit.locator(".proof").inner_text()

    edit.get_by_role("button", name="Project just before").click()
    page.locator("#project-view:not([hidden])").wait_for()
    assert 'Project "Launch"' in page.inner_text("#project-title")
    messages = page.locator("#project-messages li")
    assert messages.count() == 1  # bob had not answered yet
    assert "alice: Hello @bob, the launch plan is ready" in messages.first.inner_text()
    assert "for review" not in messages.first.inner_text()  # as it read before the edit
    assert page.locator("#history-view").is_hidden()


def test_the_same_path_works_with_the_keyboard_alone(page: Any) -> None:
    def tab_to(selector: str, within: int = 80) -> None:
        for _ in range(within):
            page.keyboard.press("Tab")
            if page.evaluate(f"document.activeElement.matches({selector!r})"):
                return
        raise AssertionError(f"Tab never reached {selector}")

    tab_to("#username")
    page.keyboard.type("auditor")
    tab_to("#password")
    page.keyboard.type("auditor-demo")
    page.keyboard.press("Enter")
    page.locator("#main:not([hidden])").wait_for()
    tab_to("#user")
    page.keyboard.type("alice")
    tab_to("#event-type")
    page.keyboard.type("MessageU")  # a focused select picks the option typed
    tab_to("#last-week")
    page.keyboard.press("Enter")
    tab_to("#filters button[type=submit]")
    page.keyboard.press("Enter")
    page.locator("#events-status", has_text="1 event(s) shown").wait_for()
    tab_to("#events tbody tr")
    page.keyboard.press("Enter")
    the_edit(page).wait_for()
    tab_to("#pinned-key")
    page.keyboard.type(PUBLIC_KEY)
    page.keyboard.press("Enter")
    page.locator("#pin-status", has_text="Pinned key").wait_for()
    page.keyboard.press("Shift+Tab")  # back into the history, towards the edit's buttons
    for _ in range(40):
        label = page.evaluate("document.activeElement.getAttribute('aria-label') || ''")
        if label.startswith("Check proof of version 2"):
            break
        page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")
    the_edit(page).locator(".proof.good").wait_for()
    for _ in range(5):
        page.keyboard.press("Shift+Tab")
        if page.evaluate("document.activeElement.textContent") == "Project just before":
            break
    assert page.evaluate("document.activeElement.textContent") == "Project just before"
    page.keyboard.press("Enter")
    page.locator("#project-messages li", has_text="the launch plan is ready").wait_for()


def test_a_tampered_proof_fails_in_the_browser_and_says_what(page: Any) -> None:
    def tamper(route: Any) -> None:
        proof = orjson.loads(route.fetch().body())
        proof["event"]["metadata"]["correlation_id"] = "someone-else"
        route.fulfill(status=200, content_type="application/json", body=orjson.dumps(proof))

    page.route("**/audit/events/*/proof", tamper)
    sign_in(page, "auditor")
    pin_the_key(page)
    alices_edits_of_last_week(page)
    page.locator("#events tbody tr").first.click()
    the_edit(page).get_by_role("button", name="Check proof").click()
    result = the_edit(page).locator(".proof.bad")
    result.wait_for()
    assert "Proof failed" in result.inner_text()
    assert "hash" in result.inner_text()


def test_a_proof_signed_by_another_key_than_the_pinned_one_fails(page: Any) -> None:
    sign_in(page, "auditor")
    pin_the_key(page, key_entry(load_signing_key(new_signing_key_text()).public))
    alices_edits_of_last_week(page)
    page.locator("#events tbody tr").first.click()
    the_edit(page).get_by_role("button", name="Check proof").click()
    result = the_edit(page).locator(".proof.bad")
    result.wait_for()
    assert KEY_ID in result.inner_text()


def test_every_view_has_a_link_that_reopens_it(browser: Any, service: str, page: Any) -> None:
    sign_in(page, "auditor")
    alices_edits_of_last_week(page)
    page.locator("#events tbody tr").first.click()
    the_edit(page).wait_for()
    the_edit(page).get_by_role("button", name="Project just before").click()
    page.locator("#project-view:not([hidden])").wait_for()
    link = page.url
    assert "user=alice" in link and "project=project_" in link and "at=" in link
    page.reload()
    page.locator("#project-messages li", has_text="the launch plan is ready").wait_for()
    assert page.input_value("#user") == "alice"
    assert page.input_value("#event-type") == "MessageUpdated"


def test_an_error_replaces_what_was_shown_and_an_empty_search_says_so(page: Any) -> None:
    sign_in(page, "auditor")
    alices_edits_of_last_week(page)
    page.locator("#events tbody tr").first.click()
    the_edit(page).wait_for()
    page.get_by_label("Aggregate id", exact=True).fill("message_" + "0" * 32)
    page.get_by_role("button", name="Open history").click()
    page.locator("#detail-status.error").wait_for()
    assert page.locator("#history-view").is_hidden()  # no stale history beside the error
    page.get_by_label("Text", exact=True).fill("no message says this")
    page.get_by_role("button", name="Find events").click()
    page.locator("#events-status", has_text="No events match.").wait_for()
    assert page.locator("#events tbody tr").count() == 0


WIDEST = """[...document.querySelectorAll('body *')]
  .filter((e) => e.scrollWidth > e.clientWidth + 1 || e.getBoundingClientRect().right > innerWidth)
  .slice(-3).map((e) => `${e.tagName}#${e.id}: ${e.scrollWidth} px of content`)"""
"""What makes a page wider than its window (named in the failure, to fix it)."""


def test_the_page_fits_a_phone_and_a_laptop_and_is_photographed_for_review(
    browser: Any, service: str
) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for width in (390, 1366, 1920):
        page = open_page(browser, service, width=width, height=1100)
        try:
            sign_in(page, "auditor")
            pin_the_key(page)
            alices_edits_of_last_week(page)
            page.locator("#events tbody tr").first.click()
            the_edit(page).get_by_role("button", name="Check proof").click()
            the_edit(page).locator(".proof.good").wait_for()
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            widest = page.evaluate(WIDEST)
            assert overflow <= 0, f"{overflow} px wider than a {width} px window: {widest}"
            page.screenshot(path=str(SCREENSHOTS / f"audit-history-{width}.png"), full_page=True)
            the_edit(page).get_by_role("button", name="Project just before").click()
            page.locator("#project-view:not([hidden])").wait_for()
            page.screenshot(path=str(SCREENSHOTS / f"audit-project-{width}.png"), full_page=True)
            assert page.errors == []
        finally:
            page.context.close()
    assert (SCREENSHOTS / "audit-history-390.png").stat().st_size > 10_000


def api_get(service: str, path: str) -> Any:
    login = httpx.post(
        f"{service}/auth/token", data={"username": "auditor", "password": "auditor-demo"}
    )
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    return httpx.get(f"{service}{path}", headers=headers, timeout=30).json()


def test_an_auditor_verifies_the_log_and_is_told_how_far_it_is_trusted(
    page: Any, service: str
) -> None:
    sign_in(page, "auditor")
    page.wait_for_selector("#signed-in:not([hidden])")
    page.get_by_role("button", name="Verify the log").click()
    page.wait_for_selector("#verification.intact")
    banner = page.inner_text("#verification")
    assert "Intact" in banner and "signed by a trusted key" in banner
    counted = re.search(r"and (\d+) seal\(s\) \(all signed\) checked", banner)
    assert counted, banner  # the sealer goes on: as many as there were when the page asked
    assert 0 < int(counted[1]) <= api_get(service, "/audit/verify")["seals_checked"]


def test_the_verify_banner_counts_unsigned_seals_and_the_unsealed_tail(page: Any) -> None:
    def older_seals_unsigned(route: Any) -> None:
        report = orjson.loads(route.fetch().body())
        report.update(seals_checked=5, unsigned_seals=2, unsealed_events=7, unsealed_seconds=12.4)
        route.fulfill(status=200, content_type="application/json", body=orjson.dumps(report))

    page.route("**/audit/verify", older_seals_unsigned)
    sign_in(page, "auditor")
    page.get_by_role("button", name="Verify the log").click()
    page.wait_for_selector("#verification.warning")  # trusted, but not every seal is vouched for
    banner = page.inner_text("#verification")
    assert "5 seal(s) (2 of them unsigned: no key vouches for them)" in banner
    assert "7 event(s) not sealed yet (for 12 s)" in banner


def test_events_come_newest_first_and_the_order_toggles_and_stays_in_the_link(
    page: Any, service: str
) -> None:
    newest = api_get(service, "/audit/events?order=newest&limit=1")["events"][0]
    oldest = api_get(service, "/audit/events?order=oldest&limit=1")["events"][0]
    sign_in(page, "auditor")
    rows = page.locator("#events tbody tr")
    page.locator("#events-status", has_text="event(s) shown").wait_for()
    assert page.input_value("#order") == ""  # newest first, the default
    assert f"{newest['event_type']} v{newest['version']}" in rows.first.inner_text()
    assert newest["aggregate_id"] in rows.first.inner_text()

    page.get_by_label("Order", exact=True).select_option("oldest")
    # The old table may hold a row of the oldest aggregate too: wait for the first row itself.
    expect(rows.first).to_contain_text(f"{oldest['event_type']} v{oldest['version']}")
    assert oldest["aggregate_id"] in rows.first.inner_text()
    assert "order=oldest" in page.url
    page.reload()
    page.locator("#events-status", has_text="event(s) shown").wait_for()
    assert page.input_value("#order") == "oldest"
    assert oldest["aggregate_id"] in rows.first.inner_text()


def test_a_member_is_told_the_audit_trail_is_for_auditors(page: Any) -> None:
    sign_in(page, "alice")
    page.wait_for_selector("#message.error")
    assert "for auditors and admins" in page.inner_text("#message")
    assert page.locator("#main").is_hidden()


def test_a_wrong_password_is_refused_and_shows_nothing(page: Any) -> None:
    page.get_by_label("Username", exact=True).fill("auditor")
    page.get_by_label("Password", exact=True).fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("#message.error")
    assert "Sign-in failed" in page.inner_text("#message")
    assert page.locator("#main").is_hidden()


def test_any_two_versions_compare_with_the_words_that_changed(page: Any) -> None:
    sign_in(page, "auditor")
    alices_edits_of_last_week(page)
    page.locator("#events tbody tr").first.click()
    the_edit(page).wait_for()
    page.get_by_label("Compare version", exact=True).select_option("1")
    page.get_by_label("with version", exact=True).select_option("2")
    page.get_by_role("button", name="Compare", exact=True).click()
    page.locator("#comparison:not([hidden])").wait_for()
    assert "From version 1 to version 2" in page.inner_text("#comparison-title")
    content = page.locator("#comparison-changes .change", has_text="content:")
    assert content.locator("ins").inner_text().strip() == "for review"


def test_one_requests_footprint_lists_every_event_it_caused(page: Any) -> None:
    sign_in(page, "auditor")
    alices_edits_of_last_week(page)
    page.locator("#events tbody tr").first.click()
    the_edit(page).get_by_role("button", name="Same request").click()
    page.locator("#events-status", has_text="event(s) shown").wait_for()
    assert "correlation_id=" in page.url and "user=" not in page.url
    rows = page.locator("#events tbody tr")
    assert rows.count() == 1 and "MessageUpdated v2" in rows.first.inner_text()
    assert page.input_value("#correlation-id") != ""


def test_the_export_holds_exactly_the_events_of_the_current_filter(page: Any) -> None:
    sign_in(page, "auditor")
    alices_edits_of_last_week(page)
    for format, parse in (("NDJSON", orjson.loads), ("CSV", None)):
        with page.expect_download() as download:
            page.get_by_role("button", name=f"Export {format}").click()
        text = Path(download.value.path()).read_text()
        lines = text.splitlines()
        if parse is not None:
            assert [parse(line)["event_type"] for line in lines] == ["MessageUpdated"]
        else:
            assert lines[0].startswith("position,event_id") and len(lines) == 2
            assert "MessageUpdated" in lines[1] and "alice" in lines[1]


def post_as(service: str, username: str, path: str, body: dict[str, Any]) -> Any:
    login = httpx.post(
        f"{service}/auth/token", data={"username": username, "password": f"{username}-demo"}
    )
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    response = httpx.post(f"{service}{path}", json=body, headers=headers, timeout=30)
    assert response.status_code == 201, response.text
    return response.json()


def test_a_long_value_is_cut_and_shown_in_full_on_demand(page: Any, service: str) -> None:
    content = "The whole plan, line by line: " + "every step is written down here. " * 12
    ending = "The last words of a long message."
    message = post_as(service, "alice", "/messages", {"content": content + ending})
    sign_in(page, "auditor")
    page.locator("#main:not([hidden])").wait_for()
    page.goto(f"{service}/ui#aggregate={message['id']}")
    created = page.locator("#history li.entry", has_text="(created)")
    created.wait_for()
    value = created.locator(".change", has_text="content")
    assert ending not in value.inner_text()  # cut, with a way to see it all
    value.get_by_role("button", name="Show all").click()
    assert ending in value.inner_text()
    value.get_by_role("button", name="Show less").click()
    assert ending not in value.inner_text()


def test_the_token_stays_in_the_tab_and_the_page_loads_nothing_from_elsewhere(
    browser: Any, service: str
) -> None:
    page = open_page(browser, service)
    requested: list[str] = []
    refused: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.on("console", lambda message: message.type == "error" and refused.append(message.text))
    try:
        policy = httpx.get(f"{service}/ui").headers["content-security-policy"]
        assert "script-src 'self'" in policy and "connect-src 'self'" in policy, policy
        page.reload()
        sign_in(page, "auditor")
        pin_the_key(page)
        alices_edits_of_last_week(page)
        stored = page.evaluate("JSON.stringify(Object.assign({}, localStorage))")
        assert "eyJ" not in stored and "token" not in stored  # the pinned key only
        assert page.evaluate("sessionStorage.getItem('chronicle.token')").startswith("eyJ")
        assert requested and all(url.startswith(service) for url in requested), requested
        assert refused == [] and page.errors == []
        page.get_by_role("button", name="Sign out").click()
        assert page.evaluate("sessionStorage.getItem('chronicle.token')") is None
    finally:
        page.context.close()


def test_the_control_in_focus_is_outlined(page: Any) -> None:
    sign_in(page, "auditor")
    alices_edits_of_last_week(page)
    page.locator("#user").focus()
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.matches('#events tbody tr')"):
            break
    outline = page.evaluate(
        "(() => { const style = getComputedStyle(document.activeElement);"
        " return [style.outlineStyle, parseFloat(style.outlineWidth)]; })()"
    )
    assert outline[0] != "none" and outline[1] >= 2, outline


def test_more_pages_on_newest_first_without_skipping_or_repeating(page: Any, service: str) -> None:
    posted = [
        post_as(service, "bob", "/messages", {"content": f"paging {n}"})["id"] for n in range(55)
    ]
    sign_in(page, "auditor")
    page.get_by_label("User", exact=True).fill("bob")
    page.get_by_label("Event type", exact=True).select_option("MessageCreated")
    page.get_by_label("Text", exact=True).fill("paging")
    page.get_by_role("button", name="Find events").click()
    page.locator("#events-status", has_text="50 event(s) shown, more to load").wait_for()
    page.locator("#more").click()
    page.locator("#events-status", has_text="55 event(s) shown.").wait_for()
    shown = page.eval_on_selector_all(
        "#events tbody tr", "(rows) => rows.map((row) => row.dataset.aggregate)"
    )
    assert shown == posted[::-1]  # newest first, each once


def test_turning_the_order_keeps_what_was_typed_in_the_filters(page: Any) -> None:
    sign_in(page, "auditor")
    page.locator("#events-status", has_text="event(s) shown").wait_for()
    page.get_by_label("User", exact=True).fill("alice")  # typed, not submitted yet
    page.get_by_label("Order", exact=True).select_option("oldest")
    page.wait_for_url("**order=oldest**")
    assert "user=alice" in page.url and page.input_value("#user") == "alice"
    page.locator("#events-status", has_text="event(s) shown").wait_for()
    assert "alice (member)" in page.locator("#events tbody tr").first.inner_text()
