"""The personal-data benchmark, run at a tiny size on each backend (no timing is asserted)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import personal_bench


def _run(tmp_path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> dict:
    output = tmp_path / "personal.json"
    tiny = ["--events", "30", "--batch", "10", "--users", "3", "--repeat", "2"]
    assert personal_bench.main([*tiny, *extra, "--output", str(output)]) == 0
    printed = capsys.readouterr().out
    assert "| what | backend | unit | sealed | plain | raw driver | sealed/plain |" in printed
    assert "(reported, not asserted)" in printed
    return json.loads(output.read_text())


def _check_rows(document: dict, backend: str) -> None:
    rows = [row for row in document["rows"] if row["backend"] == backend]
    # registrations, messages, read the events, read every event's data (warm cache, 1 s cache)
    starts = (
        "register users:",
        "append messages:",
        "read the whole log (",
        "read the whole log and every event's data, as a projection does",
        "read the whole log and every event's data, key cache 1 s",
    )
    assert len(rows) == len(starts)
    assert all(row["what"].startswith(start) for row, start in zip(rows, starts, strict=True))
    for row in rows:
        assert set(row["figures"]) == {"sealed", "plain", "raw"}
        assert all(len(figure["runs"]) == 2 for figure in row["figures"].values())
        assert row["sealed_plain"] > 0
    # 2 runs of 3 users and 30 message events: every event read back as the plain store has
    # it, every stored row sealed, nothing personal in clear.
    assert rows[2]["notes"] == (
        "sealed store: 66 of 66 events read back equal to the plain store's; "
        "66 of 66 rows hold an envelope, 0 a content or email in clear"
    )


def test_on_sqlite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _check_rows(_run(tmp_path, capsys, "--backends", "sqlite"), "sqlite")


@pytest.mark.postgres
def test_on_postgresql(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], postgres_url: str
) -> None:
    document = _run(tmp_path, capsys, "--backends", "postgresql", "--postgres", postgres_url)
    _check_rows(document, "postgresql")


def test_the_same_events_go_to_every_contender_and_each_holds_personal_fields() -> None:
    text = ["One sentence of real text.", "Another one, a little longer than that."]
    first = personal_bench.workload(0, users=4, events=25, batch=10, text=text)
    again = personal_bench.workload(0, users=4, events=25, batch=10, text=text)
    assert [a.aggregate_id for a in first.messages] == [a.aggregate_id for a in again.messages]
    assert [len(a.events) for a in first.messages] == [10, 10, 5]
    assert personal_bench.count(first.registrations) == 4
    users = {append.aggregate_id for append in first.registrations}
    assert {append.user_id for append in first.messages} <= users
    declared = personal_bench.chat_personal_policy().events
    for append in (*first.registrations, *first.messages):
        for event in append.events:
            assert set(declared[event.event_type].fields) & set(event.data)
    later = personal_bench.workload(1, users=4, events=25, batch=10, text=text)
    assert not users & {append.aggregate_id for append in later.registrations}
