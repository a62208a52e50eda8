"""Case 7: replay the whole log into the chat read models (``chronicle replay``).

Chronicle's ``rebuild`` fills every chat read model's fresh tables from the log and swaps them
in, one read model after the other, as ``chronicle replay`` does. The figure is the log's events
divided by the time to rebuild all of them (so each event is applied once per read model).
The peer has read models of its own design but no rebuild-and-swap of ours to compare, so it
is not measured here; neither is the raw driver (a read model is Chronicle's own logic).
"""

from __future__ import annotations

import time

from bench import chat_log
from bench.cases import Case, Scale
from bench.contenders import chronicle_store
from bench.harness import Benchmark, Subject
from bench.places import Site
from chronicle.chat.domain import chat_events
from chronicle.chat.read_models import READ_MODELS
from chronicle.projections.rebuild import rebuild

BATCH = 5000


def build(site: Site, scale: Scale) -> list[Benchmark]:
    store, _ = chronicle_store(site, "replay")
    events = chat_log.fill(store, scale.replay_events)
    names = ", ".join(cls.name for cls in READ_MODELS)

    def measure() -> float:
        start = time.perf_counter()
        for cls in READ_MODELS:
            result = rebuild(store, cls, chat_events, mode=cls.default_mode, batch_size=BATCH)
            if result.events != events:
                raise RuntimeError(f"{cls.name} replayed {result.events:,} of {events:,} events")
        return events / (time.perf_counter() - start)

    return [
        Benchmark(
            case=7,
            key="replay",
            title=f"replay {events:,} events into the {len(READ_MODELS)} chat read models",
            backend=site.backend,
            unit="events/s",
            subjects=[Subject("chronicle", measure, store.close)],
            notes=[
                f"rebuild + swap of {names}, batches of {BATCH:,}",
                "peer: no comparable rebuild-and-swap; raw: not applicable",
            ],
            repeat=None if scale.quick else 3,
        )
    ]


CASE = Case(7, "replay", "replay the log into the read models", build)
