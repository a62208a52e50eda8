"""The audit routes after retention moved a message's events to the archive, on both backends:
the store's history starts later and says where, the archive's part is one parameter away,
states before the cut are named as archived, and the message can still be edited."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from chronicle.chat.wiring import retention_counted, retention_for
from tests.support.old_history import sealed_whole

from .conftest import Api, assert_problem, settings_for, start

pytestmark = pytest.mark.needs("retention")

LATER = datetime.now(UTC) + timedelta(days=800)


@pytest.fixture
def archived(store_url: str, tmp_path: Path) -> Iterator[tuple[Api, str]]:
    """The service, and a message (created, edited) whose events were all archived."""
    settings = settings_for(store_url, archive_dir=str(tmp_path / "archive"))
    (tmp_path / "archive").mkdir()
    for api in start(settings):
        message = api.post_message(content="before")["id"]
        edited = api.client.patch(
            f"/messages/{message}", json={"content": "after"}, headers=api.as_("alice")
        )
        assert edited.status_code == 200, edited.text
        store = api.services.chat.store
        sealed_whole(store)
        report = retention_for(store, settings).run(LATER, force=True)
        assert report.removed > 0
        retention_counted(api.services.chat)(report)  # what the worker does after a run
        yield api, message


def test_the_history_says_where_the_stores_part_starts_and_the_archive_gives_the_rest(
    archived: tuple[Api, str],
) -> None:
    api, message = archived
    url = f"/audit/{message}/history"
    hot = api.client.get(url, headers=api.as_("auditor"))
    assert hot.status_code == 200, hot.text
    assert hot.json()["hot_from_version"] == 3 and hot.json()["events"] == []

    whole = api.client.get(url, params={"include_archive": "true"}, headers=api.as_("auditor"))
    assert whole.status_code == 200, whole.text
    events = whole.json()["events"]
    assert [(e["version"], e["source"]) for e in events] == [(1, "archive"), (2, "archive")]
    assert events[0]["created"] and events[0]["actor"]["username"] == "alice"
    content = next(change for change in events[1]["changes"] if change["field"] == "content")
    assert (content["old"], content["new"]) == ("before", "after")


def test_a_state_before_the_cut_is_gone_and_the_current_one_is_served(
    archived: tuple[Api, str],
) -> None:
    api, message = archived
    url = f"/audit/{message}/state"
    body = assert_problem(
        api.client.get(url, params={"version": 1}, headers=api.as_("auditor")), 410
    )
    assert "archived" in body["detail"]
    now = api.client.get(url, headers=api.as_("auditor"))
    assert now.status_code == 200 and now.json()["state"]["content"] == "after"
    assert now.json()["version"] == 2


def test_an_archived_message_is_edited_at_its_next_version(archived: tuple[Api, str]) -> None:
    api, message = archived
    edited = api.client.patch(
        f"/messages/{message}", json={"content": "after the cut"}, headers=api.as_("alice")
    )
    assert edited.status_code == 200, edited.text
    history = api.client.get(f"/audit/{message}/history", headers=api.as_("auditor")).json()
    [entry] = history["events"]
    assert entry["version"] == 3 and entry["source"] == "store"
    content = next(change for change in entry["changes"] if change["field"] == "content")
    assert (content["old"], content["new"]) == ("after", "after the cut")


def test_include_archive_without_the_archive_folder_is_a_clear_409(
    archived: tuple[Api, str], tmp_path: Path
) -> None:
    api, message = archived
    shutil.rmtree(tmp_path / "archive")
    response = api.client.get(
        f"/audit/{message}/history", params={"include_archive": "true"}, headers=api.as_("auditor")
    )
    assert "CHRONICLE_ARCHIVE_DIR" in assert_problem(response, 409)["detail"]


def test_include_archive_refuses_an_archive_whose_receipt_is_not_the_stores(
    archived: tuple[Api, str], tmp_path: Path
) -> None:
    api, message = archived
    manifest = tmp_path / "archive" / "receipt-000001" / "manifest.json"
    document = json.loads(manifest.read_text())
    document["receipt"]["counts"]["archived"] += 1  # segments rewritten to match, say
    manifest.write_text(json.dumps(document))
    response = api.client.get(
        f"/audit/{message}/history", params={"include_archive": "true"}, headers=api.as_("auditor")
    )
    assert "not the receipt 1 the store recorded" in assert_problem(response, 409)["detail"]


def test_the_metrics_count_what_retention_archived(archived: tuple[Api, str]) -> None:
    api, _ = archived
    text = api.client.get("/metrics").text
    archived_total = next(
        line for line in text.splitlines() if line.startswith("chronicle_events_archived_total ")
    )
    assert float(archived_total.split()[1]) > 0
    assert "chronicle_retention_receipt 1.0" in text
