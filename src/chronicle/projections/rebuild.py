"""Rebuilding a read model from the whole log without readers ever seeing it empty.

The rebuild fills fresh tables (``<table>__rebuild``) from the log in batches, each batch and the
rebuild's own checkpoint committing together, so an interrupted rebuild resumes where it stopped.
Once caught up, one short transaction swaps the tables: it locks the live tables (writers to them
wait a moment), applies what arrived meanwhile, moves the live checkpoint, drops the old tables
and renames the new ones into place. Until that commit, readers see the old read model; after
it, the new one.
"""

from __future__ import annotations

from collections.abc import Callable
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
    fresh = projection_class(registry, suffix=REBUILD_SUFFIX)
    live = projection_class(registry)
    name = fresh.checkpoint_name
    resuming = store.get_checkpoint(name) is not None
    with store.session() as session:
        if not resuming:
            fresh.drop_tables(session)
        fresh.create_tables(session, with_indexes=False)
        live.create_tables(session)
        checkpoints.ensure(session, name)
        checkpoints.ensure(session, live.checkpoint_name)

    total = store.get_event_count()
    applied = 0
    while True:
        position = store.get_checkpoint(name) or 0
        events = store.read_all(after=position, limit=batch_size)
        if events:
            try:
                with store.session() as session:
                    if checkpoints.lock(session, name) != position:
                        raise CheckpointMovedError(name)
                    with session.pipeline():
                        for event in events:
                            fresh.apply(session, event)
                    checkpoints.move(session, name, position, events[-1].position)
            except CheckpointMovedError:
                continue
            applied += len(events)
            if progress is not None:
                progress(applied, max(total, applied))
        if len(events) < batch_size:
            break

    with store.session() as session:
        position = _swap(store, session, fresh, live, mode=mode, batch_size=batch_size)
    if progress is not None:
        progress(max(total, applied), max(total, applied))
    return RebuildResult(live.name, applied, position)


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
