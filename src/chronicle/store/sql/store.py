"""The SQL core: every store operation the SQL backends share, written once.

A backend subclasses :class:`SQLStore` and supplies its dialect, its connections (through the
four session hooks below), its append path, its schema and what only it can do (roles, wake-up).
Argument checks run before any connection is touched; driver errors are translated once, by the
dialect, where a connection is handed out.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, ClassVar

from chronicle.errors import (
    DuplicateKeyError,
    ImmutableEventError,
    SealConflictError,
    UnsupportedOperationError,
)
from chronicle.events import RecordedEvent, Replay
from chronicle.store.checked import CheckedStore
from chronicle.store.payloads import RAW, Decoder, Dictionary, StoredPayload
from chronicle.store.ports import LAG_COUNT_LIMIT, Capabilities, Session
from chronicle.store.prepare import PreparedAppend, matching_retry
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
from chronicle.store.sql.dialect import Dialect
from chronicle.store.sql.plans import Plans
from chronicle.store.sql.retention import RetentionTables
from chronicle.store.sql.rows import event_reader, replay_reader, seal_reader, snapshot_from
from chronicle.store.sql.statements import (
    MERKLE_LEAF_ROW,
    MERKLE_NODE_ROW,
    Statements,
    values_rows,
)

_ROWS_PER_INSERT = 500
"""Rows per multi-row insert: 2,500 parameters at most, well under SQLite's 32,766."""


class SQLStore(RetentionTables, CheckedStore):
    """The shared half of a SQL event store. Subclasses set ``backend``, ``capabilities`` and
    ``dialect`` and implement the hooks marked below."""

    backend: ClassVar[str]
    capabilities: ClassVar[Capabilities]
    dialect: Dialect

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self._sql = Statements().render(dialect)
        self._plans = Plans(self._sql, dialect)
        self._timestamp = dialect.timestamp()
        self._payloads = Decoder(self._dictionary_content)
        self._event = event_reader(self._timestamp, self._payloads.decode, self._open_event)
        self._replayed = replay_reader(self._payloads.decode, self._open_event)
        self._seal = seal_reader(self._timestamp)

    # -- hooks a backend implements ----------------------------------------------------------

    def session(self) -> AbstractContextManager[Session]:
        """A transaction on the store's database, for read models and their checkpoints."""
        raise NotImplementedError

    def read_session(self) -> AbstractContextManager[Session]:
        """A read-only view of the store's database (read-model queries; never blocks writers)."""
        raise NotImplementedError

    def _reading(self) -> AbstractContextManager[Session]:
        """A connection for reads that need no transaction of their own."""
        raise NotImplementedError

    def _writing(self) -> AbstractContextManager[Session]:
        """A connection for one write that commits on its own."""
        raise NotImplementedError

    def _size_bytes(self) -> int:
        raise NotImplementedError

    # -- shared helpers ----------------------------------------------------------------------

    def _events(
        self,
        statement: str,
        params: dict[str, Any],
        *,
        gap_free: bool = False,
        replan: bool = False,
    ) -> list[RecordedEvent]:
        """The events ``statement`` selects; ``gap_free`` when it holds back what running
        writers may yet commit behind the cursor (its ``{visible}`` slot); ``replan`` when its
        filters need a plan for their values (see ``Session.fetchall``)."""
        horizon = self.dialect.horizon
        with self._reading() as session:
            if gap_free and horizon is not None:
                row = session.fetchone(horizon)
                params = {**params, "horizon": None if row is None else row[0]}
            rows = session.fetchall(statement, params, replan=replan)
        read = self._event
        return [read(row) for row in rows]

    def _scalar(self, statement: str, params: dict[str, Any] | None = None) -> Any:
        with self._reading() as session:
            row = session.fetchone(statement, params or {})
        return None if row is None else row[0]

    def _stored_in(self, session: Session, batch: PreparedAppend) -> list[RecordedEvent]:
        """The events of ``batch`` (by id) already stored for its aggregate."""
        rows = session.fetchall(*self._plans.stored_of_batch(batch))
        return [self._event(row) for row in rows]

    def _retry_result(self, session: Session, batch: PreparedAppend) -> list[RecordedEvent] | None:
        """The stored events when ``batch`` is a retry of one already appended, else None."""
        stored = self._stored_in(session, batch)
        return matching_retry(batch, stored) if stored else None

    # -- reads -------------------------------------------------------------------------------

    def _aggregate_events(
        self, aggregate_id: str, from_version: int, to_version: int | None
    ) -> list[RecordedEvent]:
        return self._events(*self._plans.aggregate_events(aggregate_id, from_version, to_version))

    def _events_of_aggregates(self, aggregate_ids: tuple[str, ...]) -> list[RecordedEvent]:
        return self._events(*self._plans.aggregates_events(aggregate_ids))

    def _replay(self, aggregate_id: str, from_version: int, to_version: int | None) -> Replay:
        with self._reading() as session:
            rows = session.fetchall(*self._plans.replay(aggregate_id, from_version, to_version))
        return self._replayed(rows)

    def _event_by_id(self, event_id: str) -> RecordedEvent | None:
        found = self._events(*self._plans.event_by_id(event_id))
        return found[0] if found else None

    def _aggregate_version(self, aggregate_id: str) -> int:
        return int(self._scalar(*self._plans.aggregate_version(aggregate_id)))

    def _event_count(self, aggregate_id: str | None) -> int:
        return int(self._scalar(*self._plans.event_count(aggregate_id)))

    def _read_all(self, after: int, limit: int, *, gap_free: bool) -> list[RecordedEvent]:
        plan = self._plans.read_all(after, limit, gap_free=gap_free)
        return self._events(*plan, gap_free=gap_free)

    def _search(
        self, filters: Filters, after: int, limit: int, *, newest_first: bool
    ) -> list[RecordedEvent]:
        plan = self._plans.search(filters, after, limit, newest_first=newest_first)
        return self._events(*plan, gap_free=True, replan=True)

    def _all_events(self, filters: Filters, limit: int, offset: int) -> list[RecordedEvent]:
        return self._events(*self._plans.all_events(filters, limit, offset), replan=True)

    def _newest_of_type(self, filters: Filters, limit: int) -> list[RecordedEvent]:
        return self._events(*self._plans.newest_of_type(filters, limit), replan=True)

    def _lag(self, after: int) -> tuple[int, datetime | None]:
        params: dict[str, Any] = {"after": after, "most": LAG_COUNT_LIMIT}
        with self._reading() as session:
            if self.dialect.cursor_place is not None:  # the count's bound, known to the planner
                place = session.fetchone(self.dialect.cursor_place, params)
                params["after_transaction"] = None if place is None else place[0]
            row = session.fetchone(self._sql.lag, params)
        count, oldest = row if row is not None else (0, None)
        return int(count), None if oldest is None else self._timestamp(oldest)

    # -- snapshots ---------------------------------------------------------------------------

    def _save_snapshot(self, snapshot: Snapshot, state: bytes) -> None:
        with self._writing() as session:
            session.execute(*self._plans.save_snapshot(snapshot, state))

    def _load_snapshot(self, aggregate_id: str, max_version: int | None) -> Snapshot | None:
        with self._reading() as session:
            row = session.fetchone(*self._plans.load_snapshot(aggregate_id, max_version))
        return None if row is None else snapshot_from(row, self._timestamp)

    def _attested_snapshots(
        self, aggregate_id: str, max_version: int, limit: int
    ) -> list[StoredSnapshot]:
        params = {"aggregate_id": aggregate_id, "max_version": max_version, "limit": limit}
        return self._snapshot_rows(self._sql.attested_snapshots, params)

    def _stored_snapshots(
        self, after: SnapshotKey, limit: int, *, unattested_only: bool
    ) -> list[StoredSnapshot]:
        statement = (
            self._sql.unattested_snapshots if unattested_only else self._sql.stored_snapshots
        )
        params = {"after_id": after[0], "after_version": after[1], "limit": limit}
        return self._snapshot_rows(statement, params)

    def _snapshot_rows(self, statement: str, params: dict[str, Any]) -> list[StoredSnapshot]:
        with self._reading() as session:
            rows = session.fetchall(statement, params)
        return [
            StoredSnapshot(
                snapshot=snapshot_from(row, self._timestamp),
                digest=state_digest(bytes(row[4])),
                attested=None if row[6] is None else bytes(row[6]),
                seal_number=row[7],
            )
            for row in rows
        ]

    def _attest_snapshot(
        self, aggregate_id: str, version: int, digest: bytes, seal_number: int, at: datetime
    ) -> bool:
        key = {"aggregate_id": aggregate_id, "version": version}
        params = {
            **key,
            "state_digest": digest,
            "seal_number": seal_number,
            "attested_at": self.dialect.instant(at),
        }
        try:
            with self._writing() as session:
                session.execute(self._sql.attest_snapshot, params)
        except (DuplicateKeyError, ImmutableEventError):
            # Attested first by another attestor (SQLite's guard refuses the insert before its
            # key does); anything else is a real failure.
            if self._scalar(self._sql.attestation_exists, key):
                return False
            raise
        return True

    # -- checkpoints -------------------------------------------------------------------------

    def _get_checkpoint(self, name: str) -> int | None:
        with self._reading() as session:
            return checkpoints.get(session, name)

    def _set_checkpoint(self, name: str, position: int) -> None:
        with self._writing() as session:
            checkpoints.put(session, name, position)

    # -- seals -------------------------------------------------------------------------------

    def _append_seal(self, seal: Seal, sealed_at: datetime, nodes: Sequence[MerkleNode]) -> None:
        params = {
            "number": seal.number,
            "position": seal.position,
            "event_count": seal.event_count,
            "head": seal.head,
            "last_hash": seal.last_hash,
            "sealed_at": self.dialect.instant(sealed_at),
            "public_key": seal.public_key,
            "signature": seal.signature,
            "root": seal.root,
            "previous": seal.previous,
            "key_id": seal.key_id,
        }
        try:
            with self.session() as session:
                session.execute(self._sql.append_seal, params)
                self._insert_nodes(session, nodes)
        except (DuplicateKeyError, ImmutableEventError) as exc:
            # SQLite's guard refuses an insert colliding with a stored seal before its key does.
            if self._scalar(self._sql.seal_exists, {"number": seal.number}):
                raise SealConflictError(f"seal {seal.number} is already recorded") from exc
            raise

    def _append_merkle_nodes(self, nodes: Sequence[MerkleNode]) -> None:
        with self.session() as session:
            self._insert_nodes(session, nodes)

    def _insert_nodes(self, session: Session, nodes: Sequence[MerkleNode]) -> None:
        """Leaves and nodes, a few hundred rows per statement (one round trip each)."""
        leaves = [node for node in nodes if node.level == 0]
        inner = [node for node in nodes if node.level > 0]
        for rows, names, template in (
            (leaves, MERKLE_LEAF_ROW, self._sql.insert_merkle_leaves),
            (inner, MERKLE_NODE_ROW, self._sql.insert_merkle_nodes),
        ):
            for start in range(0, len(rows), _ROWS_PER_INSERT):
                chunk = rows[start : start + _ROWS_PER_INSERT]
                params = {
                    f"{name}_{row}": getattr(node, name)
                    for row, node in enumerate(chunk)
                    for name in names
                }
                statement = template.replace("{rows}", values_rows(names, len(chunk)))
                session.execute(statement, params)

    def _merkle_node(self, level: int, index: int) -> bytes | None:
        if level == 0:
            found = self._scalar(self._sql.merkle_leaf_hash, {"index": index})
        else:
            found = self._scalar(self._sql.merkle_node_hash, {"level": level, "index": index})
        return None if found is None else bytes(found)

    def _merkle_leaf(self, position: int) -> MerkleNode | None:
        with self._reading() as session:
            row = session.fetchone(self._sql.merkle_leaf_of, {"position": position})
        return None if row is None else MerkleNode(0, row[0], bytes(row[1]), *row[2:])

    def _merkle_leaf_at(self, index: int) -> MerkleNode | None:
        with self._reading() as session:
            row = session.fetchone(self._sql.merkle_leaf_at, {"index": index})
        return None if row is None else MerkleNode(0, row[0], bytes(row[1]), *row[2:])

    def merkle_size(self) -> int:
        return int(self._scalar(self._sql.merkle_size))

    def _raw_rows(self, after: int, limit: int) -> list[RecordedEvent]:
        return self._events(self._sql.raw_rows, {"after": after, "limit": limit})

    def _rows_up_to(self, position: int) -> tuple[int, int | None]:
        with self._reading() as session:
            row = session.fetchone(self._sql.rows_up_to, {"position": position})
        count, highest = row if row is not None else (0, None)
        return int(count), None if highest is None else int(highest)

    def _seals(self, after: int, limit: int) -> list[Seal]:
        with self._reading() as session:
            rows = session.fetchall(self._sql.seals_after, {"after": after, "limit": limit})
        return [self._seal(row) for row in rows]

    def latest_seal(self) -> Seal | None:
        with self._reading() as session:
            row = session.fetchone(self._sql.latest_seal, {})
        return None if row is None else self._seal(row)

    # -- administration ----------------------------------------------------------------------

    def schema_version(self) -> int:
        with self._reading() as session:
            if not session.fetchone(self.dialect.schema_table_exists, {})[0]:  # type: ignore[index]
                return 0
            row = session.fetchone(self._sql.schema_version, {})
        return int(row[0]) if row else 0

    def stats(self) -> StoreStats:
        with self._reading() as session:
            totals = session.fetchone(self._sql.stats_totals, {})
            by_type = dict(session.fetchall(self._sql.stats_by_aggregate_type, {}))
            by_event = dict(session.fetchall(self._sql.stats_by_event_type, {}))
        total, aggregates, oldest, newest = totals or (0, 0, None, None)
        return StoreStats(
            backend=self.backend,
            total_events=int(total),
            aggregates=int(aggregates),
            by_aggregate_type=by_type,
            by_event_type=by_event,
            oldest_event=self._timestamp(oldest) if oldest is not None else None,
            newest_event=self._timestamp(newest) if newest is not None else None,
            size_bytes=self._size_bytes(),
            schema_version=self.schema_version(),
        )

    def summary(self) -> StoreSummary:
        oldest, newest = self._time_range()
        return StoreSummary(
            backend=self.backend,
            total_events=self._total_events(),
            oldest_event=oldest,
            newest_event=newest,
            size_bytes=self._size_bytes(),
        )

    def _total_events(self) -> int:
        """As the base class counts, less what retention archived (see
        :class:`~chronicle.store.records.RetentionCut`): of the cut's events only those still
        stored count, found below its highest position."""
        total = super()._total_events()
        cuts = self.retention_cuts()
        if not cuts:
            return total
        return total - cuts[-1].tree_size + self._prefix_kept(cuts[-1])

    def _time_range(self) -> tuple[datetime | None, datetime | None]:
        with self._reading() as session:
            row = session.fetchone(self._sql.time_range, {})
        oldest, newest = row if row is not None else (None, None)
        return (
            None if oldest is None else self._timestamp(oldest),
            None if newest is None else self._timestamp(newest),
        )

    # -- payloads (compression; see chronicle.store.payloads) ----------------------------------

    def uncompressed_payloads(
        self, before: datetime, after: int = 0, limit: int = 1000
    ) -> list[StoredPayload]:
        """Rows still stored raw, appended before ``before``, after position ``after``."""
        params = {"before": self.dialect.instant(before), "after": after, "limit": limit}
        with self._reading() as session:
            rows = session.fetchall(self._sql.uncompressed_payloads, params)
        return [StoredPayload(row[0], RAW, bytes(row[1]), bytes(row[2])) for row in rows]

    def encoded_payloads(self, after: int = 0, limit: int = 1000) -> list[StoredPayload]:
        """Rows stored with a codec other than raw, by position after ``after``."""
        with self._reading() as session:
            rows = session.fetchall(self._sql.encoded_payloads, {"after": after, "limit": limit})
        return [StoredPayload(row[0], row[1], bytes(row[2]), bytes(row[3])) for row in rows]

    def rewrite_payloads(self, rewrites: Sequence[StoredPayload], old_codec: int = RAW) -> int:
        """Re-encode rows in one transaction (the maintenance path the guard triggers allow:
        payload and codec only); a row no longer in ``old_codec`` is left alone. Returns how
        many rows changed."""
        batched = self.dialect.rewrite_payloads
        if batched is not None:
            params = {
                "positions": [rewrite.position for rewrite in rewrites],
                "codecs": [rewrite.codec for rewrite in rewrites],
                "data": [rewrite.data for rewrite in rewrites],
                "metadata": [rewrite.metadata for rewrite in rewrites],
                "old_codec": old_codec,
            }
            with self.session() as session:
                return session.execute(batched, params)
        changed = 0
        with self.session() as session:
            for rewrite in rewrites:
                changed += session.execute(
                    self._sql.rewrite_payload,
                    {
                        "codec": rewrite.codec,
                        "data": rewrite.data,
                        "metadata": rewrite.metadata,
                        "position": rewrite.position,
                        "old_codec": old_codec,
                    },
                )
        return changed

    def payload_bytes(self) -> dict[int, tuple[int, int]]:
        """By codec: how many rows, and the stored bytes of their payloads."""
        with self._reading() as session:
            rows = session.fetchall(self._sql.payload_bytes, {})
        return {int(codec): (int(count), int(size)) for codec, count, size in rows}

    def decode_payload(self, codec: int, blob: bytes) -> bytes:
        """A stored payload's canonical bytes (``PayloadError`` when it cannot be decoded)."""
        return self._payloads.decode(codec, blob)

    def dictionaries(self) -> list[Dictionary]:
        with self._reading() as session:
            rows = session.fetchall(self._sql.dictionaries, {})
        return [
            Dictionary(row[0], bytes(row[1]), row[2], float(row[3]), self._timestamp(row[4]))
            for row in rows
        ]

    def add_dictionary(self, dictionary: Dictionary) -> None:
        """Keep a new dictionary (forever); ``DuplicateKeyError`` when its number is taken."""
        with self._writing() as session:
            session.execute(
                self._sql.insert_dictionary,
                {
                    "number": dictionary.number,
                    "digest": dictionary.digest,
                    "dictionary": dictionary.content,
                    "samples": dictionary.samples,
                    "ratio": dictionary.ratio,
                    "trained_at": self.dialect.instant(dictionary.trained_at),
                },
            )

    def _dictionary_content(self, number: int) -> bytes | None:
        content = self._scalar(*self._plans.dictionary(number))
        return None if content is None else bytes(content)

    def create_app_role(self, role: str) -> list[str]:
        raise UnsupportedOperationError(f"the {self.backend} store has no database roles")

    def create_sealer_role(self, role: str) -> list[str]:
        raise UnsupportedOperationError(f"the {self.backend} store has no database roles")

    def execute_raw(self, sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
        """Run one statement in its own transaction (maintenance and tests), errors translated.

        Parameters are the driver's own (positional ``?`` on SQLite, ``%s`` on PostgreSQL).
        """
        with self._raw() as run:
            return run(sql, params)

    def _raw(self) -> AbstractContextManager[Any]:
        raise NotImplementedError
