"""Running contenders side by side: interleaved repetitions, medians, ratios.

A case builds :class:`Benchmark` objects, one per measured figure and backend, each holding up to
three :class:`Subject` contenders (``chronicle``, ``raw``, ``peer``). :func:`run_benchmark`
measures them in turn, once per repetition, rotating who goes first, so that the machine's drift
hits every contender alike; the figures kept are the median, the minimum and the maximum.

Ratios always read as "Chronicle's speed relative to the reference": for a throughput it is
``chronicle / reference``, for a duration ``reference / chronicle``. Above 1, Chronicle is faster.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

CONTENDERS = ("chronicle", "async", "raw", "peer")
"""Chronicle, Chronicle through its async API, the fastest plain-driver shape, the peer."""


@dataclass
class Subject:
    """One contender of a benchmark: ``measure()`` runs once and returns the figure."""

    name: str
    measure: Callable[[], float]
    close: Callable[[], None] = lambda: None


@dataclass
class Benchmark:
    """One figure to compare, on one backend."""

    case: int
    key: str
    title: str
    backend: str
    unit: str  # "events/s" or "ms"
    subjects: list[Subject]
    notes: list[str] = field(default_factory=list)
    check: Callable[[], str] | None = None  # run once after the measurements; its note is kept
    repeat: int | None = None  # overrides the run's --repeat (a case too long to repeat)

    @property
    def higher_is_better(self) -> bool:
        return self.unit.endswith("/s")


@dataclass(frozen=True)
class Figure:
    median: float
    minimum: float
    maximum: float
    runs: tuple[float, ...]

    @classmethod
    def of(cls, runs: list[float]) -> Figure:
        return cls(statistics.median(runs), min(runs), max(runs), tuple(runs))


@dataclass
class Result:
    case: int
    key: str
    title: str
    backend: str
    unit: str
    figures: dict[str, Figure]
    ratios: dict[str, float]
    notes: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "case": self.case,
            "key": self.key,
            "title": self.title,
            "backend": self.backend,
            "unit": self.unit,
            "figures": {
                name: {
                    "median": figure.median,
                    "min": figure.minimum,
                    "max": figure.maximum,
                    "runs": list(figure.runs),
                }
                for name, figure in self.figures.items()
            },
            "ratios": self.ratios,
            "notes": self.notes,
        }


def speed_ratio(chronicle: float, reference: float, *, higher_is_better: bool) -> float:
    """Chronicle's speed relative to the reference (above 1: Chronicle is faster)."""
    if higher_is_better:
        return chronicle / reference if reference else float("nan")
    return reference / chronicle if chronicle else float("nan")


def interleaved_order(names: list[str], repetition: int) -> list[str]:
    """The contenders' order in one repetition: rotated by one each time (A B C, B C A, …)."""
    if not names:
        return []
    shift = repetition % len(names)
    return names[shift:] + names[:shift]


def run_benchmark(benchmark: Benchmark, repeat: int) -> Result:
    """Measure every subject ``repeat`` times, interleaved, and summarise."""
    by_name = {subject.name: subject for subject in benchmark.subjects}
    runs: dict[str, list[float]] = {name: [] for name in by_name}
    repeat = benchmark.repeat or repeat
    try:
        for repetition in range(repeat):
            for name in interleaved_order(list(by_name), repetition):
                runs[name].append(by_name[name].measure())
        notes = list(benchmark.notes)
        if benchmark.check is not None:
            notes.append(benchmark.check())
    finally:
        for subject in benchmark.subjects:
            subject.close()
    figures = {name: Figure.of(values) for name, values in runs.items()}
    ratios: dict[str, float] = {}
    if "chronicle" in figures:
        for reference in ("raw", "peer"):
            if reference in figures:
                ratios[reference] = speed_ratio(
                    figures["chronicle"].median,
                    figures[reference].median,
                    higher_is_better=benchmark.higher_is_better,
                )
    if "async" in figures and "raw" in figures:
        ratios["async_raw"] = speed_ratio(
            figures["async"].median,
            figures["raw"].median,
            higher_is_better=benchmark.higher_is_better,
        )
    return Result(
        benchmark.case,
        benchmark.key,
        benchmark.title,
        benchmark.backend,
        benchmark.unit,
        figures,
        ratios,
        notes,
    )


# -- measuring helpers ------------------------------------------------------------------------


def throughput(operation: Callable[[], object], seconds: float, events_per_call: int) -> float:
    """Events per second of ``operation`` called back to back for about ``seconds``."""
    calls = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        operation()
        calls += 1
        now = time.perf_counter()
        if now >= deadline:
            break
    return calls * events_per_call / (now - start)


def concurrent_throughput(
    operations: list[Callable[[], object]], seconds: float, events_per_call: int
) -> float:
    """Events per second of several threads, each calling its operation for about ``seconds``."""
    counts = [0] * len(operations)
    errors: list[BaseException] = []
    start_line = threading.Barrier(len(operations) + 1)
    stop = threading.Event()

    def work(index: int) -> None:
        operation = operations[index]
        start_line.wait()
        try:
            while not stop.is_set():
                operation()
                counts[index] += 1
        except BaseException as exc:
            errors.append(exc)
            stop.set()

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(len(counts))]
    for thread in threads:
        thread.start()
    start_line.wait()
    start = time.perf_counter()
    stop.wait(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise errors[0]
    return sum(counts) * events_per_call / elapsed


def duration_ms(operation: Callable[[], object]) -> float:
    """Milliseconds one call of ``operation`` takes."""
    start = time.perf_counter()
    operation()
    return (time.perf_counter() - start) * 1000


def speed_of(read: Callable[[], int], expected: int) -> Callable[[], float]:
    """A measurement: events per second of one ``read()`` that must return ``expected``."""

    def measure() -> float:
        start = time.perf_counter()
        count = read()
        elapsed = time.perf_counter() - start
        if count != expected:
            raise RuntimeError(f"read {count:,} events, expected {expected:,}")
        return count / elapsed

    return measure
