"""The benchmark cases, one module each; ``ALL`` lists them in the order they run.

A case is a :class:`Case` whose ``build`` prepares its contenders on a site (a PostgreSQL database
or a SQLite directory) and returns the benchmarks to run. A later case plugs in as one more module
added to :func:`all_cases`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from bench.harness import Benchmark
from bench.places import Site


@dataclass(frozen=True)
class Scale:
    """How big and how long: ``--quick`` shrinks the figures, never the shape of the work."""

    quick: bool
    seconds: float  # one throughput measurement
    scan_events: int  # case 6: the whole log
    big_aggregate: int  # case 4: the long aggregate
    aggregate_events: int = 10_000  # case 5
    writers: int = 8  # case 3
    page: int = 10_000  # events per page when reading the whole log
    replay_events: int = 100_000  # case 7
    delay_events: int = 2_000  # case 8
    verify_events: int = 100_000  # case 9
    relay_events: int = 20_000  # case 10
    http_seconds: float = 10.0  # case 11: one wrk run
    scale_sizes: tuple[int, ...] = (1_000_000, 5_000_000)  # case 12: the log's sizes, in turn

    @classmethod
    def for_mode(cls, quick: bool) -> Scale:
        if quick:
            return cls(
                quick=True,
                seconds=0.2,
                scan_events=200_000,
                big_aggregate=10_000,
                replay_events=5_000,
                delay_events=300,
                verify_events=5_000,
                relay_events=1_000,
                http_seconds=3.0,
            )
        return cls(quick=False, seconds=2.0, scan_events=1_000_000, big_aggregate=100_000)


@dataclass(frozen=True)
class Case:
    number: int
    key: str
    title: str
    build: Callable[[Site, Scale], Iterable[Benchmark]]  # measured as they come
    only_when_named: bool = False  # not part of "all": too long for every run


def all_cases() -> list[Case]:
    from bench.cases import (
        append_batch,
        append_one,
        concurrent_writers,
        http_messages,
        load_aggregate,
        read_aggregate,
        read_model_delay,
        relay,
        replay,
        scale,
        scan_log,
        verify,
    )

    return [
        append_one.CASE,
        append_batch.CASE,
        concurrent_writers.CASE,
        load_aggregate.CASE,
        read_aggregate.CASE,
        scan_log.CASE,
        replay.CASE,
        read_model_delay.CASE,
        verify.CASE,
        relay.CASE,
        http_messages.CASE,
        scale.CASE,
    ]
