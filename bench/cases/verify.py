"""Case 9: verification throughput (``chronicle verify``) over a sealed log.

The log is filled through Chronicle's append path (valid per-aggregate hash chains), sealed once,
then verified whole on each repetition: every event's content digest and chain link recomputed,
every seal checked. The peer keeps no hash chains (nothing to verify) and the raw driver has no
such work of its own, so Chronicle is measured alone.
"""

from __future__ import annotations

import time

from bench import chat_log
from bench.cases import Case, Scale
from bench.contenders import chronicle_store
from bench.harness import Benchmark, Subject
from bench.places import Site
from chronicle.integrity import Sealer, Verifier


def build(site: Site, scale: Scale) -> list[Benchmark]:
    store, _ = chronicle_store(site, "verify")
    events = chat_log.fill(store, scale.verify_events)
    Sealer(store).run_once()

    def measure() -> float:
        start = time.perf_counter()
        report = Verifier(store).verify()
        elapsed = time.perf_counter() - start
        if not report.intact or report.events_checked != events:
            raise RuntimeError(
                f"verified {report.events_checked:,} of {events:,} events, "
                f"{len(report.problems)} problem(s)"
            )
        return events / elapsed

    return [
        Benchmark(
            case=9,
            key="verify",
            title=f"verify a sealed log of {events:,} events",
            backend=site.backend,
            unit="events/s",
            subjects=[Subject("chronicle", measure, store.close)],
            notes=["peer: no tamper evidence (no hash chain); raw: not applicable"],
        )
    ]


CASE = Case(9, "verify", "verify throughput", build)
