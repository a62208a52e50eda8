"""The store's public face, written once: every argument checked before any backend runs.

:class:`CheckedStore` implements the ports' reading and writing methods by checking their
arguments (names, versions, limits, instants, JSON) and handing normalised values to a small
set of hooks that a backend implements. The SQL core and the in-memory store are both built on
it, so the same bad input gets the same error on every backend, and no check is written twice.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from chronicle.errors import InvalidEventError, SubjectErasedError
from chronicle.events import NewEvent, RecordedEvent, Replay
from chronicle.store import arguments
from chronicle.store.codec import canonical_object
from chronicle.store.integrity import ENVELOPE
from chronicle.store.ports import InlineHandler
from chronicle.store.prepare import (
    PreparedAppend,
    check_name,
    check_recorded_at,
    check_version,
    now_utc,
    prepare_append,
)
from chronicle.store.queries import Filters, check_instant, check_limit
from chronicle.store.records import (
    MerkleNode,
    Seal,
    Snapshot,
    SnapshotKey,
    StoredSnapshot,
    state_digest,
)

if TYPE_CHECKING:
    from chronicle.personal.protector import PersonalData


class CheckedStore:
    """Checks arguments, then calls the ``_hooks`` a backend implements."""

    _max_event_bytes: int = 1024 * 1024
    _personal: PersonalData | None = None
    """Seals and opens declared personal fields (see :mod:`chronicle.personal`); without it
    events are stored as given, and sealed ones are read in their stored form."""

    def protect_personal_data(self, personal: PersonalData | None) -> None:
        """Seal the personal fields ``personal`` declares on every later append and snapshot,
        and open them on every read."""
        self._personal = personal

    @property
    def personal_data(self) -> PersonalData | None:
        return self._personal

    def scrub(self, tables: Sequence[str] = ()) -> None:
        """After an erasure redacted rows of ``tables``, leave as few old copies of them as the
        backend allows: SQLite checkpoints and truncates its write-ahead log, PostgreSQL
        vacuums and analyzes those tables (see the README on freed space); nothing in memory."""

    def _open_event(self, event_type: str, data: dict[str, Any]) -> tuple[dict[str, Any], Any]:
        """Stored ``data`` (holding an envelope) opened, as the row readers call it."""
        if self._personal is None:
            return data, None
        return self._personal.open_event(event_type, data, owned=True)

    def opened(self, event: RecordedEvent) -> RecordedEvent:
        """``event`` read elsewhere in its stored form (an archive's) with its sealed personal
        fields opened as a read of the store opens them."""
        if ENVELOPE not in event.data or event.personal is not None:
            return event
        data, opened = self._open_event(event.event_type, dict(event.data))
        return dataclasses.replace(event, data=data, personal=opened)

    def _stored_state(self, snapshot: Snapshot, *, renew: bool = False) -> bytes:
        """A snapshot's state as stored: canonical JSON, its personal fields sealed
        (``SubjectErasedError`` once an erasure destroyed its key, unless ``renew``)."""
        state = snapshot.state
        if self._personal is not None:
            state = self._personal.seal_state(
                snapshot.aggregate_type, snapshot.aggregate_id, state, renew=renew
            )
        return canonical_object(state, "snapshot state")

    def _opened_snapshot(self, snapshot: Snapshot) -> tuple[Snapshot, bool]:
        if self._personal is None:
            return snapshot, True
        state, readable = self._personal.open_state(snapshot.aggregate_type, snapshot.state)
        if state is snapshot.state:
            return snapshot, readable
        return dataclasses.replace(snapshot, state=state), readable

    def _opened_stored(self, stored: StoredSnapshot) -> StoredSnapshot:
        """A stored snapshot with its state opened; ``opened_digest`` is the digest of the state
        as opened (what a replay is compared with), None when its key was destroyed."""
        snapshot, readable = self._opened_snapshot(stored.snapshot)
        if snapshot is stored.snapshot and readable:
            return stored
        opened = state_digest(canonical_object(snapshot.state, "snapshot state"))
        return dataclasses.replace(
            stored, snapshot=snapshot, opened_digest=opened if readable else None, readable=readable
        )

    # -- hooks -------------------------------------------------------------------------------

    def _append(self, batch: PreparedAppend, inline: InlineHandler | None) -> list[RecordedEvent]:
        raise NotImplementedError

    def _aggregate_events(
        self, aggregate_id: str, from_version: int, to_version: int | None
    ) -> list[RecordedEvent]:
        raise NotImplementedError

    def _events_of_aggregates(self, aggregate_ids: tuple[str, ...]) -> list[RecordedEvent]:
        """Every event of ``aggregate_ids`` (a few), each aggregate's in version order."""
        raise NotImplementedError

    def _replay(self, aggregate_id: str, from_version: int, to_version: int | None) -> Replay:
        """What loading reads; a backend with a narrower read than whole events overrides it."""
        events = self._aggregate_events(aggregate_id, from_version, to_version)
        return Replay(
            events[0].aggregate_type if events else None,
            [(event.event_type, event.schema_version, event.data) for event in events],
        )

    def _aggregate_version(self, aggregate_id: str) -> int:
        raise NotImplementedError

    def _event_count(self, aggregate_id: str | None) -> int:
        raise NotImplementedError

    def _read_all(self, after: int, limit: int, *, gap_free: bool) -> list[RecordedEvent]:
        """``gap_free``: hold back what transactions still running may yet precede (``read_all``);
        otherwise everything visible now (``read_visible``)."""
        raise NotImplementedError

    def _search(
        self, filters: Filters, after: int, limit: int, *, newest_first: bool
    ) -> list[RecordedEvent]:
        raise NotImplementedError

    def _all_events(self, filters: Filters, limit: int, offset: int) -> list[RecordedEvent]:
        raise NotImplementedError

    def _newest_of_type(self, filters: Filters, limit: int) -> list[RecordedEvent]:
        raise NotImplementedError

    def _lag(self, after: int) -> tuple[int, datetime | None]:
        """Events after the cursor, and the timestamp of the oldest of them."""
        raise NotImplementedError

    def _save_snapshot(self, snapshot: Snapshot, state: bytes) -> None:
        raise NotImplementedError

    def _load_snapshot(self, aggregate_id: str, max_version: int | None) -> Snapshot | None:
        raise NotImplementedError

    def _attested_snapshots(
        self, aggregate_id: str, max_version: int, limit: int
    ) -> list[StoredSnapshot]:
        """The aggregate's attested snapshots at or below ``max_version``, newest first."""
        raise NotImplementedError

    def _stored_snapshots(
        self, after: SnapshotKey, limit: int, *, unattested_only: bool
    ) -> list[StoredSnapshot]:
        """Snapshots (with their attestations) by key after ``after``."""
        raise NotImplementedError

    def _attest_snapshot(
        self, aggregate_id: str, version: int, digest: bytes, seal_number: int, at: datetime
    ) -> bool:
        raise NotImplementedError

    def _get_checkpoint(self, name: str) -> int | None:
        raise NotImplementedError

    def _set_checkpoint(self, name: str, position: int) -> None:
        raise NotImplementedError

    def _append_seal(self, seal: Seal, sealed_at: datetime, nodes: Sequence[MerkleNode]) -> None:
        raise NotImplementedError

    def _append_merkle_nodes(self, nodes: Sequence[MerkleNode]) -> None:
        raise NotImplementedError

    def _merkle_node(self, level: int, index: int) -> bytes | None:
        raise NotImplementedError

    def _merkle_leaf(self, position: int) -> MerkleNode | None:
        raise NotImplementedError

    def _event_by_id(self, event_id: str) -> RecordedEvent | None:
        raise NotImplementedError

    def _merkle_leaf_at(self, index: int) -> MerkleNode | None:
        raise NotImplementedError

    def _raw_rows(self, after: int, limit: int) -> list[RecordedEvent]:
        raise NotImplementedError

    def _rows_up_to(self, position: int) -> tuple[int, int | None]:
        raise NotImplementedError

    def _seals(self, after: int, limit: int) -> list[Seal]:
        raise NotImplementedError

    def _time_range(self) -> tuple[datetime | None, datetime | None]:
        """The oldest and newest event's time (one index lookup each on SQL)."""
        raise NotImplementedError

    # -- the event log -----------------------------------------------------------------------

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
        batch = prepare_append(
            aggregate_id,
            events,
            expected_version=expected_version,
            aggregate_type=aggregate_type,
            user_id=user_id,
            max_event_bytes=self._max_event_bytes,
            personal=self._personal,
        )
        return self._append(batch, inline)

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
        """``append`` for history recorded elsewhere: the batch keeps ``recorded_at``.

        Everything else is the normal append (checks, limits, hash chain, an expected version
        required, a retry of the same batch returning the stored events); no inline handler
        runs, so read models catch up by replay. ``seal_personal=False`` stores the events
        exactly as given, personal fields in clear included: history whose recorded hashes
        must stay what they were.
        """
        check_version(expected_version, "expected_version", allow_none=False)
        batch = prepare_append(
            aggregate_id,
            events,
            expected_version=expected_version,
            aggregate_type=aggregate_type,
            user_id=user_id,
            max_event_bytes=self._max_event_bytes,
            recorded_at=check_recorded_at(recorded_at),
            personal=self._personal if seal_personal else None,
        )
        return self._append(batch, None)

    def get_events_for_aggregate(
        self, aggregate_id: str, from_version: int = 0, to_version: int | None = None
    ) -> list[RecordedEvent]:
        return self._aggregate_events(
            *arguments.aggregate_range(aggregate_id, from_version, to_version)
        )

    def get_events_for_aggregates(
        self, aggregate_ids: Sequence[str]
    ) -> dict[str, list[RecordedEvent]]:
        ids = arguments.aggregate_ids(aggregate_ids)
        return arguments.by_aggregate(ids, self._events_of_aggregates(ids) if ids else [])

    def get_replay(
        self, aggregate_id: str, from_version: int = 1, to_version: int | None = None
    ) -> Replay:
        return self._replay(*arguments.replay_range(aggregate_id, from_version, to_version))

    def get_aggregate_version(self, aggregate_id: str) -> int:
        return self._aggregate_version(check_name(aggregate_id, "aggregate_id"))

    def get_event_count(self, aggregate_id: str | None = None) -> int:
        return self._event_count(arguments.optional_aggregate(aggregate_id))

    # -- the log in commit order -------------------------------------------------------------

    def read_all(self, after: int | None = None, limit: int = 1000) -> list[RecordedEvent]:
        return self._read_all(*arguments.log_page(after, limit), gap_free=True)

    def read_visible(self, after: int | None = None, limit: int = 1000) -> list[RecordedEvent]:
        return self._read_all(*arguments.log_page(after, limit), gap_free=False)

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
        filters, cursor, limit, newest_first = arguments.search_page(
            user_id=user_id,
            user_ids=user_ids,
            aggregate_type=aggregate_type,
            event_type=event_type,
            since=since,
            until=until,
            after=after,
            limit=limit,
            newest_first=newest_first,
        )
        return self._search(filters, cursor, limit, newest_first=newest_first)

    def get_all_events(
        self,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 1000,
        offset: int = 0,
    ) -> list[RecordedEvent]:
        return self._all_events(*arguments.time_page(since, until, limit, offset))

    def get_event(self, event_id: str) -> RecordedEvent | None:
        canonical = arguments.event_id_or_none(event_id)
        return None if canonical is None else self._event_by_id(canonical)

    def get_events_by_type(
        self, event_type: str, since: datetime | None = None, limit: int = 100
    ) -> list[RecordedEvent]:
        return self._newest_of_type(*arguments.type_page(event_type, since, limit))

    def lag(self, after: int | None) -> tuple[int, float]:
        check_version(after, "after", allow_none=True)
        count, oldest = self._lag(after or 0)
        if oldest is None:
            return count, 0.0
        return count, max(0.0, (datetime.now(UTC) - oldest).total_seconds())

    # -- snapshots, checkpoints, seals -------------------------------------------------------

    def save_snapshot(self, snapshot: Snapshot) -> None:
        arguments.snapshot_to_save(snapshot)
        try:
            state = self._stored_state(snapshot)
        except SubjectErasedError:
            return  # its personal data was erased: loads replay the events instead
        self._save_snapshot(snapshot, state)

    def load_snapshot(self, aggregate_id: str, max_version: int | None = None) -> Snapshot | None:
        """The newest snapshot at or below ``max_version``; None also when the key of its
        personal fields was destroyed (the events, with their placeholders, then say more)."""
        snapshot = self._load_snapshot(*arguments.snapshot_to_load(aggregate_id, max_version))
        if snapshot is None:
            return None
        opened, readable = self._opened_snapshot(snapshot)
        return opened if readable else None

    def load_attested_snapshot(
        self, aggregate_id: str, max_version: int | None = None
    ) -> Snapshot | None:
        check_name(aggregate_id, "aggregate_id")
        check_version(max_version, "max_version", allow_none=True)
        below = _ANY_VERSION if max_version is None else max_version
        # Newest first, a page at a time: a snapshot whose state no longer has the attested
        # digest (changed after it was attested) is passed over for the next older one.
        while below > 0:
            page = self._attested_snapshots(aggregate_id, below, _ATTESTED_PAGE)
            for stored in page:
                if stored.trusted:
                    return self._opened_snapshot(stored.snapshot)[0]
            if len(page) < _ATTESTED_PAGE:
                return None
            below = page[-1].snapshot.version - 1
        return None

    def attest_snapshot(
        self, aggregate_id: str, version: int, *, state_digest: bytes, seal_number: int
    ) -> bool:
        check_name(aggregate_id, "aggregate_id")
        if type(version) is not int or version < 1:
            raise InvalidEventError(
                f"a snapshot's version is a whole number from 1, not {version!r:.40}"
            )
        if type(state_digest) is not bytes or len(state_digest) != 32:
            raise InvalidEventError("a state digest is the 32 bytes of a SHA-256")
        if type(seal_number) is not int or seal_number < 1:
            raise InvalidEventError(
                f"a seal number is a whole number from 1, not {seal_number!r:.40}"
            )
        return self._attest_snapshot(aggregate_id, version, state_digest, seal_number, now_utc())

    def unattested_snapshots(
        self, after: SnapshotKey | None = None, limit: int = 100
    ) -> list[StoredSnapshot]:
        stored = self._stored_snapshots(
            _checked_key(after), check_limit(limit), unattested_only=True
        )
        return [self._opened_stored(snapshot) for snapshot in stored]

    def stored_snapshots(
        self, after: SnapshotKey | None = None, limit: int = 100
    ) -> list[StoredSnapshot]:
        stored = self._stored_snapshots(
            _checked_key(after), check_limit(limit), unattested_only=False
        )
        return [self._opened_stored(snapshot) for snapshot in stored]

    def get_checkpoint(self, name: str) -> int | None:
        return self._get_checkpoint(check_name(name, "checkpoint name"))

    def set_checkpoint(self, name: str, position: int) -> None:
        check_name(name, "checkpoint name")
        check_version(position, "position", allow_none=False)
        self._set_checkpoint(name, position)

    def append_seal(self, seal: Seal, nodes: Sequence[MerkleNode] = ()) -> None:
        sealed_at = check_instant(seal.sealed_at, "sealed_at")
        self._append_seal(seal, sealed_at, _checked_nodes(nodes))

    def append_merkle_nodes(self, nodes: Sequence[MerkleNode]) -> None:
        self._append_merkle_nodes(_checked_nodes(nodes))

    def merkle_node(self, level: int, index: int) -> bytes | None:
        check_version(level + 1, "level", allow_none=False)
        check_version(index + 1, "index", allow_none=False)
        return self._merkle_node(level, index)

    def merkle_leaf(self, position: int) -> MerkleNode | None:
        if type(position) is not int:
            raise InvalidEventError(f"a position is a whole number, not {position!r:.40}")
        return self._merkle_leaf(position)

    def merkle_leaf_at(self, index: int) -> MerkleNode | None:
        check_version(index + 1, "index", allow_none=False)
        return self._merkle_leaf_at(index)

    def raw_rows(self, after: int | None, limit: int) -> list[RecordedEvent]:
        if after is not None and type(after) is not int:
            raise InvalidEventError(f"a position is a whole number, not {after!r:.40}")
        return self._raw_rows(_BEFORE_ANY_POSITION if after is None else after, check_limit(limit))

    def rows_up_to(self, position: int | None = None) -> tuple[int, int | None]:
        if position is not None and type(position) is not int:
            raise InvalidEventError(f"a position is a whole number, not {position!r:.40}")
        return self._rows_up_to(_AFTER_ANY_POSITION if position is None else position)

    def get_seals(self, after: int = 0, limit: int = 1000) -> list[Seal]:
        check_version(after, "after", allow_none=False)
        return self._seals(after, check_limit(limit))

    def latest_seal(self) -> Seal | None:
        raise NotImplementedError

    def _total_events(self) -> int:
        """How many events are stored, without counting the sealed part again: the latest
        seal's ``event_count`` (every event up to it in commit order) plus the events committed
        after it. Events are never deleted, so this is exact; it costs the unsealed tail."""
        seal = self.latest_seal()
        if seal is None:
            return self._lag(0)[0]
        return seal.event_count + self._lag(seal.position)[0]

    def merkle_size(self) -> int:
        raise NotImplementedError


_BEFORE_ANY_POSITION = -(2**63)
_AFTER_ANY_POSITION = 2**63 - 1
_ANY_VERSION = 2**63 - 1
_ATTESTED_PAGE = 8
# Before every key: each aggregate id has a character, each snapshot a version from 1.
_BEFORE_ANY_SNAPSHOT: SnapshotKey = ("", 0)


def _checked_key(after: SnapshotKey | None) -> SnapshotKey:
    if after is None:
        return _BEFORE_ANY_SNAPSHOT
    # Not check_name: the cursor is a key read back from the table, whatever a row holds.
    if not (
        isinstance(after, tuple)
        and len(after) == 2
        and type(after[0]) is str
        and type(after[1]) is int
    ):
        raise InvalidEventError(f"a snapshot cursor is (aggregate_id, version), not {after!r:.60}")
    return after


def _checked_nodes(nodes: Sequence[MerkleNode]) -> list[MerkleNode]:
    checked = list(nodes)
    for node in checked:
        if not isinstance(node, MerkleNode):
            raise InvalidEventError(f"a Merkle node is a MerkleNode, not {type(node).__name__}")
        if type(node.level) is not int or type(node.index) is not int:
            raise InvalidEventError("a Merkle node's level and index are whole numbers")
        if node.level < 0 or node.index < 0 or len(node.hash) != 32:
            raise InvalidEventError(f"Merkle node ({node.level}, {node.index}) is malformed")
        names = (node.position, node.aggregate_id, node.version)
        if (node.level == 0) != all(name is not None for name in names):
            raise InvalidEventError("a Merkle leaf, and only a leaf, names its event")
    return checked
