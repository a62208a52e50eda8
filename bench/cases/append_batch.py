"""Case 2: append, 100 events per transaction (one aggregate per transaction)."""

from __future__ import annotations

from bench.cases import Case, Scale
from bench.cases.append_one import append_benchmark
from bench.harness import Benchmark
from bench.places import Site

BATCH = 100


def build(site: Site, scale: Scale) -> list[Benchmark]:
    return [
        append_benchmark(
            site,
            scale,
            case=2,
            key="append100",
            title=f"append, {BATCH} events per transaction",
            batch=BATCH,
        )
    ]


CASE = Case(2, "append-batch", f"append, {BATCH} events per transaction", build)
