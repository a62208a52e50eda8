"""The project-view benchmark, run at a tiny size on each backend (no timing is asserted)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import project_view_bench


def _run(tmp_path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> dict:
    output = tmp_path / "project_view.json"
    tiny = ["--messages", "40", "--tickets", "6", "--users", "2", "--repeat", "1"]
    assert project_view_bench.main([*tiny, *extra, "--output", str(output)]) == 0
    assert "| backend | instant | via |" in capsys.readouterr().out
    return json.loads(output.read_text())


def _check(document: dict, backend: str) -> None:
    [measured] = document["backends"]
    assert measured["backend"] == backend
    rows = {(row["instant"], row["via"]): row for row in measured["rows"]}
    assert set(rows) == {(i, v) for i in ("end", "halfway") for v in ("direct", "http")}
    # At the end the view holds the whole project, and only it (the build checks each call).
    assert rows[("end", "direct")]["returned"]["messages"] == 40
    assert rows[("end", "http")]["returned"]["tickets"] == 6
    assert rows[("halfway", "direct")]["returned"]["messages"] < 40


def test_on_sqlite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _check(_run(tmp_path, capsys, "--backends", "sqlite"), "sqlite")


@pytest.mark.postgres
def test_on_postgresql(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], postgres_url: str
) -> None:
    _check(
        _run(tmp_path, capsys, "--backends", "postgresql", "--postgres", postgres_url), "postgresql"
    )
