"""The in-memory event store: the whole contract, nothing on disk.

For unit tests, and for users' own tests of code written against the store's ports. Events,
snapshots and seals live in Python lists under one lock, so every append is atomic and the log
order is the commit order. Read models and checkpoints need SQL, so sessions run on a private
in-memory SQLite database (the standard library's, no server); an inline projection runs in a
transaction there, and the append is kept only if that transaction commits. Nothing survives
the process (``capabilities.durable`` is false).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from itertools import islice

from orjson import dumps, loads

from chronicle.errors import (
    ConcurrencyError,
    DuplicateEventError,
    DuplicateKeyError,
    SealConflictError,
    StoreUnavailableError,
    UnsupportedOperationError,
)
from chronicle.events import RecordedEvent, Unopened, recorded_event
from chronicle.store.checked import CheckedStore
from chronicle.store.codec import decode
from chronicle.store.integrity import GENESIS, chain
from chronicle.store.ports import LAG_COUNT_LIMIT, Capabilities, InlineHandler, Session, Wakeup
from chronicle.store.prepare import PreparedAppend, matching_retry, now_utc, recorded_from
from chronicle.store.queries import Filters
from chronicle.store.records import (
    MerkleNode,
    Seal,
    Snapshot,
    SnapshotKey,
    StoredSnapshot,
    StoreStats,
    StoreSummary,
    state_digest,
)
from chronicle.store.sql import checkpoints
from chronicle.store.sql.rows import SEALED_MARK, Opener, SealedRows
from chronicle.store.sqlite.session import DIALECT, SQLiteSession

SCHEMA_VERSION = 1
_CHECKPOINTS = (
    "CREATE TABLE chronicle_checkpoints "
    "(name TEXT PRIMARY KEY, position INTEGER NOT NULL, updated_at TEXT NOT NULL)"
)


def _kept(events: Iterable[RecordedEvent]) -> list[RecordedEvent]:
    """The log's own copies of appended events: their data as stored (sealed fields sealed)."""
    return [
        recorded_event(
            event.event_id,
            event.aggregate_id,
            event.aggregate_type,
            event.event_type,
            event.version,
            event.position,
            event.timestamp,
            event.user_id,
            loads(dumps(event.stored_data)),
            loads(dumps(event.metadata)),
            event.schema_version,
            event.partition,
            event.hash,
        )
        for event in events
    ]


def _copies(events: Iterable[RecordedEvent], open_sealed: Opener) -> list[RecordedEvent]:
    """Events of their own for a caller, as a database read gives: same values, new objects,
    sealed personal fields opened when first asked for."""
    copies = []
    sealed = SealedRows(open_sealed)
    for event in events:
        raw, opened = dumps(event.data), None
        if SEALED_MARK in raw:  # the log's own copies are canonical: the mark finds them all
            data = opened = Unopened(sealed, event.event_type, raw)
        else:
            data = loads(raw)
        copies.append(
            recorded_event(
                event.event_id,
                event.aggregate_id,
                event.aggregate_type,
                event.event_type,
                event.version,
                event.position,
                event.timestamp,
                event.user_id,
                data,
                loads(dumps(event.metadata)),
                event.schema_version,
                event.partition,
                event.hash,
                opened,
            )
        )
    return copies


class MemoryWakeup:
    """Woken by the store's own appends (there is no other process to hear from)."""

    def __init__(self, store: MemoryEventStore) -> None:
        self._store = store
        self._seen = store._appends

    def wait(self, timeout: float) -> None:
        with self._store._changed:
            self._store._changed.wait_for(lambda: self._store._appends != self._seen, timeout)
            self._seen = self._store._appends

    def close(self) -> None:
        return None


class MemoryEventStore(CheckedStore):
    """Event store in the process's memory. Thread-safe; gone when the process ends."""

    backend = "memory"
    capabilities = Capabilities(
        gap_free_order=True,
        server_wakeup=True,
        roles=False,
        raw_sql=False,
        durable=False,
        compression=False,  # events are kept as objects: there are no stored bytes to shrink
        retention=False,  # gone with the process: nothing to archive
    )

    def __init__(self, *, max_event_bytes: int = 1024 * 1024) -> None:
        self._max_event_bytes = max_event_bytes
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._appends = 0
        self._log: list[RecordedEvent] = []  # position n is self._log[n - 1]
        self._aggregates: dict[str, list[RecordedEvent]] = {}
        self._ids: dict[str, set[str]] = {}  # each aggregate's event ids (a unique key)
        self._stored_bytes = 0
        self._snapshots: dict[str, dict[int, tuple[Snapshot, bytes]]] = {}
        self._attestations: dict[SnapshotKey, tuple[bytes, int, datetime]] = {}
        self._sealed: dict[int, Seal] = {}
        self._nodes: dict[tuple[int, int], MerkleNode] = {}
        self._leaf_at: dict[int, MerkleNode] = {}  # leaves by their event's position
        self._db = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        self._db.execute(_CHECKPOINTS)
        self._closed = False

    # -- sessions ----------------------------------------------------------------------------

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with self._lock:
            if self._closed:
                raise StoreUnavailableError("the store is closed")
            yield

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction on the private SQL database of read models and checkpoints.

        Opened inside another session of the same thread (a checkpoint read by a handler), it
        is a savepoint of the outer one.
        """
        with self._locked(), DIALECT.errors():
            nested = self._db.in_transaction
            self._db.execute("SAVEPOINT inner" if nested else "BEGIN")
            try:
                yield SQLiteSession(self._db)
            except BaseException:
                if nested:
                    self._db.execute("ROLLBACK TO inner")
                    self._db.execute("RELEASE inner")
                else:
                    self._db.execute("ROLLBACK")
                raise
            self._db.execute("RELEASE inner" if nested else "COMMIT")

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        """A read-only view of the read models (writes are refused, as on every backend)."""
        with self.session() as session:
            session.execute("PRAGMA query_only = ON")
            try:
                yield session
            finally:
                session.execute("PRAGMA query_only = OFF")

    def open_wakeup(self) -> Wakeup:
        return MemoryWakeup(self)

    # -- append ------------------------------------------------------------------------------

    def _append(self, batch: PreparedAppend, inline: InlineHandler | None) -> list[RecordedEvent]:
        aggregate_id, expected = batch.aggregate_id, batch.expected_version
        with self._locked():
            stream = self._aggregates.get(aggregate_id, [])
            known = self._ids.setdefault(aggregate_id, set())
            ids = [event.event_id for event in batch.events]
            current = stream[-1].version if stream else 0
            if expected is None or expected != current:
                # Only a batch that does not fit the current version can be a retry.
                stored = [event for event in stream if event.event_id in ids]
                if stored:
                    return matching_retry(batch, _copies(stored, self._open_event))
                if expected is not None:
                    raise ConcurrencyError(aggregate_id, expected, current)
            if known.intersection(ids):
                raise DuplicateEventError(
                    f"an event id of this append is already stored for {aggregate_id!r}"
                )
            previous = stream[-1].hash if stream else GENESIS
            rows = []
            for offset, event in enumerate(batch.events, start=1):
                previous = chain(previous, current + offset, event.digest)
                rows.append((len(self._log) + offset, current + offset, previous))
            recorded = recorded_from(batch, rows)
            if inline is not None:
                with self.session() as session:
                    inline(session, recorded)
            kept = _kept(recorded)  # what a caller does to its events never reaches the log
            self._log.extend(kept)
            self._aggregates.setdefault(aggregate_id, []).extend(kept)
            known.update(ids)
            self._stored_bytes += sum(len(e.data) + len(e.metadata) for e in batch.events)
            self._appends += 1
            self._changed.notify_all()
        return recorded

    # -- reads -------------------------------------------------------------------------------

    def _aggregate_events(
        self, aggregate_id: str, from_version: int, to_version: int | None
    ) -> list[RecordedEvent]:
        last = to_version if to_version is not None else float("inf")
        with self._locked():
            stream = self._aggregates.get(aggregate_id, [])
            return _copies(
                (event for event in stream if from_version <= event.version <= last),
                self._open_event,
            )

    def _events_of_aggregates(self, aggregate_ids: tuple[str, ...]) -> list[RecordedEvent]:
        with self._locked():
            streams = [self._aggregates.get(aggregate_id, []) for aggregate_id in aggregate_ids]
            return _copies((event for stream in streams for event in stream), self._open_event)

    def _aggregate_version(self, aggregate_id: str) -> int:
        with self._locked():
            stream = self._aggregates.get(aggregate_id)
            return stream[-1].version if stream else 0

    def _event_count(self, aggregate_id: str | None) -> int:
        with self._locked():
            if aggregate_id is None:
                return len(self._log)
            return len(self._aggregates.get(aggregate_id, []))

    def _read_all(self, after: int, limit: int, *, gap_free: bool) -> list[RecordedEvent]:
        # Every append is committed whole under the lock: all that is stored is visible.
        with self._locked():
            return _copies(self._log[after : after + limit], self._open_event)

    def _lag(self, after: int) -> tuple[int, datetime | None]:
        with self._locked():
            behind = self._log[after : after + LAG_COUNT_LIMIT]
        return len(behind), behind[0].timestamp if behind else None

    @staticmethod
    def _matching(events: Sequence[RecordedEvent], filters: Filters) -> Iterator[RecordedEvent]:
        """The events that pass every one of ``filters``."""
        equal = [
            (name, filters[name])
            for name in ("user_id", "aggregate_type", "event_type")
            if name in filters
        ]
        since, until = filters.get("since"), filters.get("until")
        users = filters.get("user_ids")
        for event in events:
            if any(getattr(event, name) != value for name, value in equal):
                continue
            if users is not None and event.user_id not in users:
                continue
            if (since is not None and event.timestamp < since) or (
                until is not None and event.timestamp > until
            ):
                continue
            yield event

    def _search(
        self, filters: Filters, after: int, limit: int, *, newest_first: bool
    ) -> list[RecordedEvent]:
        with self._locked():
            if not newest_first:
                candidates = self._log[after:]
            else:
                candidates = self._log[: after - 1 if after else None][::-1]
        return _copies(islice(self._matching(candidates, filters), limit), self._open_event)

    def _all_events(self, filters: Filters, limit: int, offset: int) -> list[RecordedEvent]:
        with self._locked():
            log = list(self._log)
        return _copies(
            islice(self._matching(log, filters), offset, offset + limit), self._open_event
        )

    def _newest_of_type(self, filters: Filters, limit: int) -> list[RecordedEvent]:
        with self._locked():
            newest_first = self._log[::-1]
        return _copies(islice(self._matching(newest_first, filters), limit), self._open_event)

    # -- snapshots ---------------------------------------------------------------------------

    def _save_snapshot(self, snapshot: Snapshot, state: bytes) -> None:
        with self._locked():
            versions = self._snapshots.setdefault(snapshot.aggregate_id, {})
            if snapshot.version not in versions:  # one per version, as on every backend
                versions[snapshot.version] = (replace(snapshot, created_at=now_utc()), state)

    def _load_snapshot(self, aggregate_id: str, max_version: int | None) -> Snapshot | None:
        with self._locked():
            versions = self._snapshots.get(aggregate_id, {})
            usable = [v for v in versions if max_version is None or v <= max_version]
            if not usable:
                return None
            snapshot, state = versions[max(usable)]
        return replace(snapshot, state=decode(state))

    def _attested_snapshots(
        self, aggregate_id: str, max_version: int, limit: int
    ) -> list[StoredSnapshot]:
        with self._locked():
            versions = self._snapshots.get(aggregate_id, {})
            keys = sorted(
                (
                    (aggregate_id, version)
                    for version in versions
                    if version <= max_version and (aggregate_id, version) in self._attestations
                ),
                reverse=True,
            )
            return [self._stored(key) for key in keys[:limit]]

    def _stored_snapshots(
        self, after: SnapshotKey, limit: int, *, unattested_only: bool
    ) -> list[StoredSnapshot]:
        with self._locked():
            keys = sorted(
                (aggregate_id, version)
                for aggregate_id, versions in self._snapshots.items()
                for version in versions
                if (aggregate_id, version) > after
                and not (unattested_only and (aggregate_id, version) in self._attestations)
            )
            return [self._stored(key) for key in keys[:limit]]

    def _stored(self, key: SnapshotKey) -> StoredSnapshot:
        snapshot, state = self._snapshots[key[0]][key[1]]
        attestation = self._attestations.get(key)
        return StoredSnapshot(
            snapshot=replace(snapshot, state=decode(state)),
            digest=state_digest(state),
            attested=None if attestation is None else attestation[0],
            seal_number=None if attestation is None else attestation[1],
        )

    def _attest_snapshot(
        self, aggregate_id: str, version: int, digest: bytes, seal_number: int, at: datetime
    ) -> bool:
        with self._locked():
            if (aggregate_id, version) in self._attestations:
                return False
            self._attestations[aggregate_id, version] = (digest, seal_number, at)
            return True

    # -- checkpoints -------------------------------------------------------------------------

    def _get_checkpoint(self, name: str) -> int | None:
        with self.session() as session:
            return checkpoints.get(session, name)

    def _set_checkpoint(self, name: str, position: int) -> None:
        with self.session() as session:
            checkpoints.put(session, name, position)

    # -- seals -------------------------------------------------------------------------------

    def _append_seal(self, seal: Seal, sealed_at: datetime, nodes: Sequence[MerkleNode]) -> None:
        with self._locked():
            if seal.number in self._sealed:
                raise SealConflictError(f"seal {seal.number} is already recorded")
            self._check_new_nodes(nodes)
            self._sealed[seal.number] = replace(seal, sealed_at=sealed_at)
            self._store_nodes(nodes)

    def _append_merkle_nodes(self, nodes: Sequence[MerkleNode]) -> None:
        with self._locked():
            self._check_new_nodes(nodes)
            self._store_nodes(nodes)

    def _check_new_nodes(self, nodes: Sequence[MerkleNode]) -> None:
        keys = [(node.level, node.index) for node in nodes]
        positions = [node.position for node in nodes if node.level == 0]
        taken = any(key in self._nodes for key in keys) or any(
            position in self._leaf_at for position in positions
        )
        if taken or len(set(keys)) != len(keys) or len(set(positions)) != len(positions):
            raise DuplicateKeyError("a Merkle node is already stored")

    def _store_nodes(self, nodes: Sequence[MerkleNode]) -> None:
        for node in nodes:
            self._nodes[node.level, node.index] = node
            if node.level == 0:
                self._leaf_at[node.position] = node  # type: ignore[index]

    def _merkle_node(self, level: int, index: int) -> bytes | None:
        with self._locked():
            node = self._nodes.get((level, index))
        return None if node is None else node.hash

    def _merkle_leaf(self, position: int) -> MerkleNode | None:
        with self._locked():
            return self._leaf_at.get(position)

    def _event_by_id(self, event_id: str) -> RecordedEvent | None:
        with self._locked():
            found = next((event for event in self._log if event.event_id == event_id), None)
        return None if found is None else _copies([found], self._open_event)[0]

    def _merkle_leaf_at(self, index: int) -> MerkleNode | None:
        with self._locked():
            return self._nodes.get((0, index))

    def merkle_size(self) -> int:
        with self._locked():
            return len(self._leaf_at)

    def _rows_up_to(self, position: int) -> tuple[int, int | None]:
        with self._locked():
            below = min(max(position, 0), len(self._log))
        return below, below or None

    def _raw_rows(self, after: int, limit: int) -> list[RecordedEvent]:
        with self._locked():
            start = max(after, 0)
            return _copies(self._log[start : start + limit], self._open_event)

    def _seals(self, after: int, limit: int) -> list[Seal]:
        with self._locked():
            numbers = sorted(number for number in self._sealed if number > after)[:limit]
            return [self._sealed[number] for number in numbers]

    def latest_seal(self) -> Seal | None:
        with self._locked():
            return self._sealed[max(self._sealed)] if self._sealed else None

    # -- administration ----------------------------------------------------------------------

    def migrate(self) -> int:
        return SCHEMA_VERSION

    def schema_version(self) -> int:
        return SCHEMA_VERSION

    def stats(self) -> StoreStats:
        with self._locked():
            log = list(self._log)
            size = self._stored_bytes
        by_type: dict[str, int] = {}
        by_event: dict[str, int] = {}
        for event in log:
            by_type[event.aggregate_type] = by_type.get(event.aggregate_type, 0) + 1
            by_event[event.event_type] = by_event.get(event.event_type, 0) + 1
        return StoreStats(
            backend=self.backend,
            total_events=len(log),
            aggregates=len({event.aggregate_id for event in log}),
            by_aggregate_type=dict(sorted(by_type.items())),
            by_event_type=dict(sorted(by_event.items())),
            oldest_event=min((event.timestamp for event in log), default=None),
            newest_event=max((event.timestamp for event in log), default=None),
            size_bytes=size,
            schema_version=SCHEMA_VERSION,
        )

    def summary(self) -> StoreSummary:
        oldest, newest = self._time_range()
        with self._locked():
            size = self._stored_bytes
        return StoreSummary(self.backend, self._total_events(), oldest, newest, size)

    def _time_range(self) -> tuple[datetime | None, datetime | None]:
        # A scan: the in-memory store keeps no time index (it is for tests and demos).
        with self._locked():
            times = [event.timestamp for event in self._log]
        return min(times, default=None), max(times, default=None)

    def refresh_statistics(self) -> None:
        """Nothing to refresh: there is no query planner."""

    def create_app_role(self, role: str) -> list[str]:
        raise UnsupportedOperationError("the in-memory store has no database roles")

    def create_sealer_role(self, role: str) -> list[str]:
        raise UnsupportedOperationError("the in-memory store has no database roles")

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._db.close()
