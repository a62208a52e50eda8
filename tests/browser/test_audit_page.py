"""The audit page in a real browser (headless Chromium) against ``chronicle serve --demo``."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder: Path = tmp_path_factory.mktemp("service")
    port = free_port()
    env = {
        **os.environ,
        "EVENT_STORE_TYPE": "sqlite",
        "EVENT_STORE_URL": f"sqlite:///{folder / 'chronicle.db'}",
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
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if CHROMIUM is None:
        message = "Chromium is not installed (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message + "; CI installs it in .ci/run")
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, service: str):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{service}/ui")
    yield page
    context.close()
    assert errors == [], f"the page raised: {errors}"


def sign_in(page, username: str) -> None:  # type: ignore[no-untyped-def]
    page.fill("#username", username)
    page.fill("#password", f"{username}-demo")
    page.click("#login button")


def test_an_auditor_opens_a_message_and_sees_it_as_it_was_before_the_edit(page) -> None:  # type: ignore[no-untyped-def]
    sign_in(page, "auditor")
    page.wait_for_selector("#events tbody tr")
    assert page.locator("#events tbody tr").count() >= 10  # the demo's events, oldest first

    page.locator("#events tbody tr", has_text="MessageUpdated").first.click()
    page.wait_for_selector("#history tbody tr")
    history = page.locator("#history tbody tr")
    assert history.count() >= 2
    assert "MessageUpdated" in history.nth(1).inner_text()
    assert "→" in history.nth(1).inner_text()  # a field change, old → new
    created = history.nth(0).inner_text()
    assert "content = " in created and "→" not in created  # a creation: its initial values

    history.first.click()
    page.locator("#state-title", has_text="after version 1").wait_for()
    original = page.inner_text("#state-body")
    history.nth(1).click()
    page.locator("#state-title", has_text="after version 2").wait_for()
    assert page.inner_text("#state-body") != original


def test_an_auditor_verifies_the_log_from_the_page(page) -> None:  # type: ignore[no-untyped-def]
    sign_in(page, "auditor")
    page.wait_for_selector("#signed-in:not([hidden])")
    page.click("#verify")
    page.wait_for_selector("#verification.intact")
    assert "Intact" in page.inner_text("#verification")


def test_a_member_is_told_the_audit_trail_is_not_theirs_to_read(page) -> None:  # type: ignore[no-untyped-def]
    sign_in(page, "alice")
    page.wait_for_selector("#message.error")
    assert "403" in page.inner_text("#message")


def test_a_wrong_password_is_refused_and_shows_nothing(page) -> None:  # type: ignore[no-untyped-def]
    page.fill("#username", "auditor")
    page.fill("#password", "not-the-password")
    page.click("#login button")
    page.wait_for_selector("#message.error")
    assert "Sign-in failed" in page.inner_text("#message")
    assert page.locator("#main").is_hidden()
