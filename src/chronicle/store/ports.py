"""The event store's ports: small protocols by role, and the capabilities a backend declares.

A consumer types against the role it uses: a repository needs an :class:`EventLog` and
:class:`SnapshotStore` (:class:`AggregateStore`), the relay a :class:`LogReader` and
:class:`CheckpointStore` (:class:`CheckpointedLog`), the sealer and the verifier a
:class:`LogReader` and :class:`SealStore` (:class:`SealedLog`), the snapshot attestor an
aggregate store, the seals and :class:`AttestationStore` (:class:`AttestingStore`).
:class:`EventStore` is every role at once: what ``open_store`` gives back and what the contract
suite holds each backend to. Nothing here imports a driver.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from chronicle.events import NewEvent, RecordedEvent, Replay
from chronicle.store.records import (
    MerkleNode,
    Seal,
    Snapshot,
    SnapshotKey,
    StoredSnapshot,
    StoreStats,
    StoreSummary,
)

Params = Mapping[str, Any] | Sequence[Any]


class SqlDialect(Protocol):
    """What SQL written for every backend needs to know of the database it runs on."""

    @property
    def for_update(self) -> str:
        """Appended to a SELECT that must lock the rows it reads until the transaction ends."""
        ...

    def lock_tables(self, tables: Sequence[str]) -> str | None:
        """A statement that keeps other writers off ``tables`` until commit, if one is needed."""
        ...


class Session(Protocol):
    """One open transaction on the store's database, for read models kept beside the events.

    SQL is written once with ``:name`` placeholders; ``dialect`` says what differs between
    databases (row locks, table locks), so callers never compare backend names.
    """

    @property
    def backend(self) -> str: ...

    @property
    def dialect(self) -> SqlDialect: ...

    def execute(self, sql: str, params: Params = ()) -> int:
        """Run a statement; return the number of rows it changed."""
        ...

    def fetchall(
        self, sql: str, params: Params = (), *, replan: bool = False
    ) -> list[tuple[Any, ...]]:
        """The rows of a query. ``replan``: plan it for these values on every call (PostgreSQL:
        never from a prepared, generic plan; for range filters such as an audit page's
        ``since``, whose narrowness only the values tell)."""
        ...

    def fetchone(self, sql: str, params: Params = ()) -> tuple[Any, ...] | None: ...

    def pipeline(self) -> AbstractContextManager[object]:
        """Send the statements run inside without waiting for each result (where it helps).

        Use it around many writes whose results are not read (a projection's batch); leave it
        before reading a result.
        """
        ...


InlineHandler = Callable[[Session, list[RecordedEvent]], None]
"""Called inside an append's transaction with the events just recorded (inline projections)."""


class Wakeup(Protocol):
    """A waiter for log followers, woken soon after new events commit."""

    def wait(self, timeout: float) -> None:
        """Return when new events may have committed, or after ``timeout`` seconds."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a backend can do; the contract suite runs each test where its needs are declared.

    ``gap_free_order``: ``read_all`` never skips an event committed late by a concurrent writer.
    ``sessions``: ``session()`` and ``read_session()`` run SQL (read models beside the events).
    ``server_wakeup``: ``open_wakeup()`` is woken by commits (of every writer that can reach the
    store), not only by polling.
    ``roles``: ``create_app_role`` makes a least-privilege database role.
    ``raw_sql``: ``execute_raw`` runs SQL against the event tables (maintenance, attack tests).
    ``durable``: what is committed survives the process.
    ``compression``: old events' payloads can be re-encoded (``uncompressed_payloads``,
    ``rewrite_payloads``, ``dictionaries``…; see :mod:`chronicle.compression`).
    ``retention``: old events can move to archive segments and leave the store
    (``sealed_events``, ``remove_events``, ``retention_cuts``…; see :mod:`chronicle.retention`).
    """

    gap_free_order: bool = True
    sessions: bool = True
    server_wakeup: bool = False
    roles: bool = False
    raw_sql: bool = True
    durable: bool = True
    compression: bool = True
    retention: bool = True

    def has(self, name: str) -> bool:
        value = getattr(self, name, None)
        if not isinstance(value, bool):
            raise ValueError(f"no capability is called {name!r}")
        return value


@runtime_checkable
class EventLog(Protocol):
    """Appends, and each aggregate's events in version order."""

    def append(
        self,
        aggregate_id: str,
        events: Sequence[NewEvent],
        *,
        expected_version: int | None,
        aggregate_type: str,
        user_id: str | None = None,
        inline: InlineHandler | None = None,
    ) -> list[RecordedEvent]:
        """Append all events or none, at versions ``expected_version + 1, + 2, …``.

        ``expected_version=None`` appends at whatever the current version is; ``0`` requires that
        the aggregate does not exist yet. A stale expected version raises ``ConcurrencyError``.
        Re-sending a batch whose event ids are already stored at those versions returns the
        stored events and writes nothing. ``inline`` runs inside the append's transaction (an
        exception there rolls the append back).
        """
        ...

    def get_events_for_aggregate(
        self, aggregate_id: str, from_version: int = 0, to_version: int | None = None
    ) -> list[RecordedEvent]:
        """The aggregate's events with ``from_version <= version <= to_version``, in order."""
        ...

    def get_events_for_aggregates(
        self, aggregate_ids: Sequence[str]
    ) -> dict[str, list[RecordedEvent]]:
        """Every event of each of ``aggregate_ids`` (at most 1,000) in one read: a mapping from
        each id, in the order given, to its events in version order (empty when it has none)."""
        ...

    def get_replay(
        self, aggregate_id: str, from_version: int = 1, to_version: int | None = None
    ) -> Replay:
        """What loading the aggregate needs of the same events (read from version 1 at the
        earliest): their aggregate type, and each one's event type, schema version and data."""
        ...

    def get_event(self, event_id: str) -> RecordedEvent | None:
        """The stored event with this id (None when there is none, or it is not a UUID)."""
        ...

    def get_aggregate_version(self, aggregate_id: str) -> int:
        """The aggregate's current version; 0 when it has no events."""
        ...

    def get_event_count(self, aggregate_id: str | None = None) -> int: ...


@runtime_checkable
class EventImporter(Protocol):
    """Appends of history recorded elsewhere, each batch with the instant it was recorded."""

    def import_events(
        self,
        aggregate_id: str,
        events: Sequence[NewEvent],
        *,
        expected_version: int,
        aggregate_type: str,
        user_id: str | None,
        recorded_at: datetime,
        seal_personal: bool = True,
    ) -> list[RecordedEvent]:
        """An append (same checks, hash chain and idempotent retry) whose events all keep the
        timestamp ``recorded_at``: timezone-aware UTC, not in the future beyond a few minutes
        (``InvalidEventError`` otherwise). No inline handler runs."""
        ...


LAG_COUNT_LIMIT = 10_000
"""Where ``lag`` stops counting: a reader further behind than that is simply far behind. The
bound keeps a scrape of ``/metrics`` to a few milliseconds however far an async read model
is behind (counting 100,000 index entries took about 50 ms)."""


@runtime_checkable
class LogReader(Protocol):
    """The whole log in commit order, and the audit queries over it."""

    def read_all(self, after: int | None = None, limit: int = 1000) -> list[RecordedEvent]:
        """The whole log in commit order, continuing after the event at position ``after``.

        Never skips an event committed by a concurrent writer: an event that is not yet safe to
        hand out is held back until every earlier append has finished.
        """
        ...

    def read_visible(self, after: int | None = None, limit: int = 1000) -> list[RecordedEvent]:
        """Like ``read_all`` but without holding back events behind running transactions.

        Only for idempotent catch-up (a read-model swap): a transaction still running may later
        commit events *before* these in commit order, so never move a follower's checkpoint
        past what ``read_all`` returned.
        """
        ...

    def lag(self, after: int | None) -> tuple[int, float]:
        """Events stored after the cursor (counted up to ``LAG_COUNT_LIMIT``: a bigger lag
        reads as that), and the age in seconds of the first of them in commit order; both
        from an index, so a health probe or a scrape costs the same however far behind."""
        ...

    def search_events(
        self,
        *,
        user_id: str | None = None,
        user_ids: Sequence[str] | None = None,
        aggregate_type: str | None = None,
        event_type: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        after: int | None = None,
        limit: int = 100,
        newest_first: bool = False,
    ) -> list[RecordedEvent]:
        """A page of the events matching every filter given, in commit order after ``after``
        (``newest_first``: backwards, from the newest event or from before ``after``).
        ``user_ids`` (a list, instead of ``user_id``) matches the events of any of those users.

        The cursor works as in ``read_all`` (pass the last event's ``position``), so paging never
        skips nor repeats an event while writers go on; newest first, the pages after the first
        hold exactly the events the first could see, as ``read_all`` would have handed them out
        then (those committed since, or behind a writer still running then, are the next first
        page's). ``since``/``until`` are inclusive, timezone-aware bounds on the timestamp. Bad
        arguments raise ``InvalidEventError``.
        """
        ...

    def get_all_events(
        self,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 1000,
        offset: int = 0,
    ) -> list[RecordedEvent]:
        """A page of events in commit order, optionally within ``[since, until]``."""
        ...

    def get_events_by_type(
        self, event_type: str, since: datetime | None = None, limit: int = 100
    ) -> list[RecordedEvent]:
        """The newest ``limit`` events of a type (newest first), optionally at or after ``since``."""
        ...

    def open_wakeup(self) -> Wakeup:
        """A waiter for log followers, woken soon after new events commit."""
        ...


@runtime_checkable
class SnapshotStore(Protocol):
    """Snapshots are caches, never evidence: loads use only attested ones."""

    def save_snapshot(self, snapshot: Snapshot) -> None:
        """Record a snapshot; one per aggregate and version (a second one is ignored)."""
        ...

    def load_snapshot(self, aggregate_id: str, max_version: int | None = None) -> Snapshot | None:
        """The newest snapshot of the aggregate at or below ``max_version``, attested or not
        (what a load may trust is :meth:`load_attested_snapshot`)."""
        ...

    def load_attested_snapshot(
        self, aggregate_id: str, max_version: int | None = None
    ) -> Snapshot | None:
        """The newest snapshot at or below ``max_version`` that is attested and whose stored
        state still has the attested digest. Any other snapshot is passed over (the caller
        replays instead), so a row written straight into the snapshot table changes nothing."""
        ...


@runtime_checkable
class AttestationStore(Protocol):
    """Attestations that a snapshot's state is what its events replay to, written by the
    snapshot attestor (the sealer's role) only, and immutable once written."""

    def attest_snapshot(
        self, aggregate_id: str, version: int, *, state_digest: bytes, seal_number: int
    ) -> bool:
        """Record that the snapshot at ``version`` has the state whose digest is given, checked
        against events covered by seal ``seal_number``. False when it is attested already
        (the first attestation stays; nothing is written)."""
        ...

    def unattested_snapshots(
        self, after: SnapshotKey | None = None, limit: int = 100
    ) -> list[StoredSnapshot]:
        """A page of the snapshots without an attestation, by key after ``after``."""
        ...

    def stored_snapshots(
        self, after: SnapshotKey | None = None, limit: int = 100
    ) -> list[StoredSnapshot]:
        """A page of every stored snapshot with its attestation if any, by key after ``after``."""
        ...


@runtime_checkable
class CheckpointStore(Protocol):
    def get_checkpoint(self, name: str) -> int | None:
        """The position a named follower (relay, sealer, …) has processed up to, if any."""
        ...

    def set_checkpoint(self, name: str, position: int) -> None:
        """Record that the named follower has processed everything up to ``position``."""
        ...


@runtime_checkable
class SealStore(Protocol):
    """The seals and the Merkle log they are tree heads of, both written by the sealer only."""

    def append_seal(self, seal: Seal, nodes: Sequence[MerkleNode] = ()) -> None:
        """Record a seal and the Merkle nodes it completed, in one transaction.

        ``SealConflictError`` when its number is taken, ``DuplicateKeyError`` when a node is
        already stored (nothing is written either way).
        """
        ...

    def append_merkle_nodes(self, nodes: Sequence[MerkleNode]) -> None:
        """Record Merkle nodes without a seal (building the Merkle log of an older store)."""
        ...

    def merkle_node(self, level: int, index: int) -> bytes | None:
        """The stored hash of a complete subtree, or None when none is stored."""
        ...

    def merkle_leaf(self, position: int) -> MerkleNode | None:
        """The leaf of the event at ``position`` (its index in the Merkle log), if sealed."""
        ...

    def merkle_leaf_at(self, index: int) -> MerkleNode | None:
        """The leaf at ``index`` in the Merkle log (with its event's position), if stored."""
        ...

    def merkle_size(self) -> int:
        """How many leaves the stored Merkle log holds."""
        ...

    def get_seals(self, after: int = 0, limit: int = 1000) -> list[Seal]:
        """Seals with ``number > after``, in number order."""
        ...

    def latest_seal(self) -> Seal | None: ...


@runtime_checkable
class SessionFactory(Protocol):
    def session(self) -> AbstractContextManager[Session]:
        """A transaction on the store's database, for read models and their checkpoints."""
        ...

    def read_session(self) -> AbstractContextManager[Session]:
        """A read-only view of the store's database (read-model queries; never blocks writers)."""
        ...


@runtime_checkable
class StoreAdmin(Protocol):
    @property
    def backend(self) -> str:
        """The backend's name: ``sqlite``, ``postgresql``, ``memory``."""
        ...

    @property
    def capabilities(self) -> Capabilities: ...

    def migrate(self) -> int:
        """Create or upgrade the schema; return the schema version now in force. Idempotent."""
        ...

    def schema_version(self) -> int: ...

    def stats(self) -> StoreStats:
        """Exact figures by full count (``chronicle stats``): the cost grows with the log."""
        ...

    def summary(self) -> StoreSummary:
        """Totals for health and metrics, in time that does not grow with the log (see
        :class:`StoreSummary`)."""
        ...

    def refresh_statistics(self) -> None:
        """Have the database's planner statistics re-read the events (after bulk work)."""
        ...

    def raw_rows(self, after: int | None, limit: int) -> list[RecordedEvent]:
        """Every row of the events table by position, ignoring commit order and visibility.

        What the verifier counts against what it checked: a row the log does not hand out
        (a position no follower reads, a transaction id beyond the horizon) is hidden.
        """
        ...

    def rows_up_to(self, position: int | None = None) -> tuple[int, int | None]:
        """How many rows the events table holds at or below ``position`` (all when None), and
        the highest position among them: counted unfiltered, like :meth:`raw_rows`."""
        ...

    def create_app_role(self, role: str) -> list[str]:
        """Create (or update) the application's least-privilege role; return the SQL run.

        It may INSERT and SELECT events and snapshots and read the evidence (seals, the Merkle
        log, attestations) but never write it.

        ``UnsupportedOperationError`` where the backend has no roles (see ``capabilities``).
        """
        ...

    def create_sealer_role(self, role: str) -> list[str]:
        """Create (or update) the sealer's role: read, and write only seals, the Merkle log and
        snapshot attestations; return the SQL run. ``UnsupportedOperationError`` as above."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class AggregateStore(EventLog, SnapshotStore, Protocol):
    """What a repository needs: the aggregate's events and its snapshots."""


@runtime_checkable
class AttestingStore(AggregateStore, AttestationStore, SealStore, Protocol):
    """What the snapshot attestor and the snapshot check need: aggregates, their snapshots and
    attestations, and the seals that say how far the log is sealed."""


@runtime_checkable
class ImportingLog(EventLog, EventImporter, Protocol):
    """What an importer needs: the aggregates' events to compare with, and imports."""


@runtime_checkable
class CheckpointedLog(LogReader, CheckpointStore, Protocol):
    """What a log follower with a named checkpoint needs (the relay)."""


@runtime_checkable
class SealedLog(LogReader, SealStore, Protocol):
    """What the sealer and the verifier need: the log in commit order and the seals."""


@runtime_checkable
class ProjectionStore(LogReader, EventLog, CheckpointStore, SessionFactory, Protocol):
    """What projections need: the log, sessions for their read models, their checkpoints."""


@runtime_checkable
class EventStore(
    EventLog,
    EventImporter,
    LogReader,
    SnapshotStore,
    AttestationStore,
    CheckpointStore,
    SealStore,
    SessionFactory,
    StoreAdmin,
    Protocol,
):
    """An append-only log of events, per aggregate and in global commit order: every role."""
