"""The scale case (12), run at two tiny sizes on each backend (no timing is asserted)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bench.cases import all_cases
from bench.run import _select, main

from bench import chat_mix

FIGURES = (
    "append one event, p50",
    "append one event, p99 (the same appends)",
    "GET /health/events",
    "GET /metrics",
    "audit page: the rare user",
    "audit page: TicketCreated since a day ago",
    "chronicle replay (every read model)",
    "chronicle verify",
    "chronicle verify: peak memory",
)


def _run(tmp_path: Path, *extra: str) -> list[dict]:
    output = tmp_path / "scale.json"
    argv = ["--cases", "scale", "--quick", "--repeat", "1", "--scale-sizes", "2000,4000"]
    status = main([*argv, *extra, "--output", str(output)])
    document = json.loads(output.read_text())
    assert document["failures"] == [] and status == 0
    return list(document["results"])


def _check(results: list[dict], backend: str) -> None:
    rows = [row for row in results if row["backend"] == backend]
    titles = [f"{figure}, {size:,} events" for size in (2000, 4000) for figure in FIGURES]
    assert sorted(row["title"] for row in rows) == sorted(titles)
    for row in rows:
        assert row["case"] == 12 and row["figures"]["chronicle"]["median"] > 0
        size = 2000 if row["title"].endswith("2,000 events") else 4000
        expected = "at 2,000 events" if size == 2000 else "at 4,000 events: "
        assert row["notes"][-1].startswith(expected)
        if size == 4000:
            assert row["notes"][-1].endswith("x the figure at 2,000")


def test_on_sqlite(tmp_path: Path) -> None:
    _check(_run(tmp_path, "--backend", "sqlite"), "sqlite")


@pytest.mark.postgres
def test_on_postgresql(tmp_path: Path, postgres_url: str) -> None:
    _check(_run(tmp_path, "--backend", "postgresql", "--postgres-url", postgres_url), "postgresql")


def test_the_scale_case_runs_only_when_named() -> None:
    cases = all_cases()
    assert "scale" not in {case.key for case in _select(cases, "all")}
    assert [case.key for case in _select(cases, "scale")] == ["scale"]
    assert [case.key for case in _select(cases, "12")] == ["scale"]


def test_the_chat_mix_is_the_same_on_every_run_and_holds_every_aggregate_type() -> None:
    first, second = chat_mix.ChatMix(), chat_mix.ChatMix()
    batches = [first.next_batch() for _ in range(2000)]
    assert [b.aggregate_id for b in batches] == [second.next_batch().aggregate_id for _ in batches]
    assert {b.aggregate_type for b in batches} == {"User", "Project", "Ticket", "Message"}
    rare = [b for b in batches if b.user_id == chat_mix.RARE_USER]
    assert [(b.aggregate_type, len(b.events)) for b in rare] == [("Message", 1)] * 3
    assert 5 < sum(len(b.events) for b in batches) / len(batches) < 8  # events per aggregate


@pytest.mark.parametrize("sizes", ["1000000,x", "5000,1000", "500", ""])
def test_bad_scale_sizes_are_refused(sizes: str, tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="--scale-sizes"):
        main(["--cases", "scale", "--scale-sizes", sizes, "--output", str(tmp_path / "x.json")])
