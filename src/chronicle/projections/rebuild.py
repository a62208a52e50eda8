"""Rebuilding a read model from the whole log without readers ever seeing it empty.

The rebuild fills fresh tables (``<table>__rebuild``) from the log in batches, each batch and the
rebuild's own checkpoint committing together, so an interrupted rebuild resumes where it stopped.
Once caught up, one short transaction swaps the tables: it locks the live tables (writers to them
wait a moment), applies what arrived meanwhile, moves the live checkpoint, drops the old tables
and renames the new ones into place. Until that commit, readers see the old read model; after
it, the new one. :func:`rebuild_all` does this for several read models in one pass over the log.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from chronicle.errors import CheckpointMovedError
from chronicle.projections.projection import REBUILD_SUFFIX, Mode, Projection
from chronicle.registry import EventRegistry
from chronicle.store.ports import ProjectionStore, Session
from chronicle.store.sql import checkpoints

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class RebuildResult:
    projection: str
    events: int
    position: int


def rebuild(
    store: ProjectionStore,
    projection_class: type[Projection],
    registry: EventRegistry,
    *,
    mode: Mode,
    batch_size: int = 2000,
    progress: Progress | None = None,
) -> RebuildResult:
    """Rebuild one projection's read model from the log and swap it in. Safe to rerun."""
    [result] = rebuild_all(
        store,
        [(projection_class, mode)],
        registry,
        batch_size=batch_size,
        progress=progress,
    )
    return result


def rebuild_all(
    store: ProjectionStore,
    projections: Sequence[tuple[type[Projection], Mode]],
    registry: EventRegistry,
    *,
    batch_size: int = 2000,
    progress: Progress | None = None,
) -> list[RebuildResult]:
    """Rebuild several read models in one pass over the log, then swap each in. Safe to rerun.

    Each batch is applied to every read model in one transaction that moves all their rebuild
    checkpoints, so an interrupted run resumes them together. Read models whose rebuilds stopped
    at different places (a rebuild of one of them alone in between) each catch up from their
    own checkpoint: one pass per distinct checkpoint, one in the usual case.
    """
    pairs = [
        (projection_class(registry, suffix=REBUILD_SUFFIX), projection_class(registry), mode)
        for projection_class, mode in projections
    ]
    if len({fresh.checkpoint_name for fresh, _, _ in pairs}) < len(pairs):
        raise ValueError("rebuild_all: name each read model once")
    for fresh, live, _ in pairs:
        _prepare(store, fresh, live)

    total = store.get_event_count()
    cohorts: dict[int, list[Projection]] = {}
    for fresh, _, _ in pairs:
        cohorts.setdefault(store.get_checkpoint(fresh.checkpoint_name) or 0, []).append(fresh)
    applied: dict[str, int] = {}
    done = 0

    def advanced(count: int) -> None:
        nonlocal done
        done += count
        if progress is not None:
            progress(done, max(total, done))

    for cohort in cohorts.values():
        applied.update(_fill(store, cohort, batch_size=batch_size, advanced=advanced))

    results = []
    for fresh, live, mode in pairs:
        with store.session() as session:
            position = _swap(store, session, fresh, live, mode=mode, batch_size=batch_size)
        _refresh_statistics(store, live)
        results.append(RebuildResult(live.name, applied[fresh.checkpoint_name], position))
    if progress is not None:
        progress(max(total, done), max(total, done))
    return results


def _prepare(store: ProjectionStore, fresh: Projection, live: Projection) -> None:
    """The fresh tables (emptied unless a stopped rebuild resumes) and both checkpoints."""
    name = fresh.checkpoint_name
    resuming = store.get_checkpoint(name) is not None
    with store.session() as session:
        if not resuming:
            fresh.drop_tables(session)
        fresh.create_tables(session, with_indexes=False)
        live.create_tables(session)
        checkpoints.ensure(session, name)
        checkpoints.ensure(session, live.checkpoint_name)


def _fill(
    store: ProjectionStore,
    cohort: list[Projection],
    *,
    batch_size: int,
    advanced: Callable[[int], None],
) -> dict[str, int]:
    """Apply the log to every projection of ``cohort`` (all at the same checkpoint) until the
    end, batch by batch; how many events each got."""
    names = [fresh.checkpoint_name for fresh in cohort]
    applied = 0
    while True:
        positions = {store.get_checkpoint(name) or 0 for name in names}
        if len(positions) > 1:  # another rebuild moved one of them: each goes on alone
            counts: dict[str, int] = {}
            for fresh in cohort:
                [(name, count)] = _fill(
                    store, [fresh], batch_size=batch_size, advanced=advanced
                ).items()
                counts[name] = applied + count
            return counts
        [position] = positions
        events = store.read_all(after=position, limit=batch_size)
        if events:
            try:
                with store.session() as session:
                    for name in names:
                        if checkpoints.lock(session, name) != position:
                            raise CheckpointMovedError(name)
                    with session.pipeline():
                        for fresh in cohort:
                            for event in events:
                                fresh.apply(session, event)
                    for name in names:
                        checkpoints.move(session, name, position, events[-1].position)
            except CheckpointMovedError:
                continue
            applied += len(events)
            advanced(len(events))
        if len(events) < batch_size:
            return dict.fromkeys(names, applied)


def _refresh_statistics(store: ProjectionStore, live: Projection) -> None:
    """The swapped-in tables were filled in bulk: let the planner know what they now hold.

    Not an empty one: statistics that say "empty" are believed as the table grows, until the
    next ANALYZE, and every lookup in it would become a scan."""
    with store.session() as session:
        for table in live.tables:
            name = live.t(table.name)
            if session.fetchone(f"SELECT EXISTS (SELECT 1 FROM {name})") in ((True,), (1,)):
                session.execute(f"ANALYZE {name}")


def _swap(
    store: ProjectionStore,
    session: Session,
    fresh: Projection,
    live: Projection,
    *,
    mode: Mode,
    batch_size: int,
) -> int:
    # Lock order (checkpoint row, then tables) matches the async runner's: no deadlock.
    live_position = checkpoints.lock(session, live.checkpoint_name)
    position = checkpoints.lock(session, fresh.checkpoint_name)
    lock = session.dialect.lock_tables([live.t(table.name) for table in live.tables])
    if lock is not None:
        session.execute(lock)

    # Everything read_all hands out now is safe for the live checkpoint.
    while events := store.read_all(after=position, limit=batch_size):
        with session.pipeline():
            for event in events:
                fresh.apply(session, event)
        position = events[-1].position
    if mode == "async":
        checkpoints.move(session, live.checkpoint_name, live_position, position)
    if fresh.idempotent and mode == "inline":
        # Inline writers' events committed behind `position` wrote to the old tables: apply them
        # now, under the table lock that keeps this projection's writers from committing more
        # between pages; version guards make any repeat harmless. In async mode the runner
        # applies everything after the live checkpoint, in order: reading that tail here, page by
        # page while writers commit, could apply an aggregate's version 3 before its version 2,
        # which the guard would then drop.
        after = position
        while events := store.read_visible(after=after, limit=batch_size):
            with session.pipeline():
                for event in events:
                    fresh.apply(session, event)
            after = events[-1].position

    live.drop_tables(session)
    for table in fresh.tables:
        session.execute(f"ALTER TABLE {fresh.t(table.name)} RENAME TO {live.t(table.name)}")
    live.create_tables(session)  # the indexes, under their live names
    checkpoints.delete(session, fresh.checkpoint_name)
    return position
