"""The benchmark harness's arithmetic and interleaving (no timing is asserted)."""

from __future__ import annotations

import itertools

import pytest
from bench.harness import Benchmark, Figure, Subject, interleaved_order, run_benchmark, speed_ratio


def test_each_repetition_rotates_who_goes_first() -> None:
    names = ["chronicle", "raw", "peer"]
    orders = [interleaved_order(names, repetition) for repetition in range(4)]
    assert orders == [
        ["chronicle", "raw", "peer"],
        ["raw", "peer", "chronicle"],
        ["peer", "chronicle", "raw"],
        ["chronicle", "raw", "peer"],
    ]


def test_a_ratio_above_one_always_means_chronicle_is_faster() -> None:
    assert speed_ratio(900.0, 1000.0, higher_is_better=True) == pytest.approx(0.9)
    # Durations: Chronicle taking 50 ms where the reference takes 100 ms is twice as fast.
    assert speed_ratio(50.0, 100.0, higher_is_better=False) == pytest.approx(2.0)


def test_a_figure_keeps_the_median_the_extremes_and_every_run() -> None:
    figure = Figure.of([3.0, 1.0, 10.0, 2.0, 4.0])
    assert (figure.median, figure.minimum, figure.maximum) == (3.0, 1.0, 10.0)
    assert figure.runs == (3.0, 1.0, 10.0, 2.0, 4.0)


def test_a_benchmark_runs_interleaved_summarises_and_closes_every_subject() -> None:
    calls: list[str] = []
    closed: list[str] = []

    def subject(name: str, values: list[float]) -> Subject:
        figures = itertools.cycle(values)

        def measure() -> float:
            calls.append(name)
            return next(figures)

        return Subject(name, measure, lambda: closed.append(name))

    benchmark = Benchmark(
        case=1,
        key="k",
        title="t",
        backend="sqlite",
        unit="events/s",
        subjects=[
            subject("chronicle", [90.0, 100.0, 80.0]),
            subject("raw", [200.0]),
            subject("peer", [25.0, 50.0, 75.0]),
        ],
        check=lambda: "checked",
    )
    result = run_benchmark(benchmark, repeat=3)
    assert calls == [
        "chronicle",
        "raw",
        "peer",
        "raw",
        "peer",
        "chronicle",
        "peer",
        "chronicle",
        "raw",
    ]
    assert result.figures["chronicle"].median == 90.0
    assert result.ratios == {"raw": pytest.approx(0.45), "peer": pytest.approx(1.8)}
    assert result.notes == ["checked"]
    assert sorted(closed) == ["chronicle", "peer", "raw"]


def test_subjects_are_closed_even_when_a_measurement_fails() -> None:
    closed: list[str] = []

    def broken() -> float:
        raise RuntimeError("the database went away")

    benchmark = Benchmark(
        case=1,
        key="k",
        title="t",
        backend="sqlite",
        unit="ms",
        subjects=[Subject("chronicle", broken, lambda: closed.append("chronicle"))],
    )
    with pytest.raises(RuntimeError):
        run_benchmark(benchmark, repeat=1)
    assert closed == ["chronicle"]
