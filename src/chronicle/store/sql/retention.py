"""The SQL half of retention: what the hot store keeps of archived history, and its removal.

Cuts, kept heads and legal holds are written only inside the append of their own event (the
receipt, a hold placed or released), through the inline handlers :meth:`RetentionTables.receipt_handler`
and :meth:`RetentionTables.hold_handler` give; archived rows leave by :meth:`remove_events`, one
DELETE per row that the guard trigger lets through only under a cut (see the schemas).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from chronicle.events import RecordedEvent
from chronicle.store.ports import InlineHandler, Session
from chronicle.store.prepare import now_utc
from chronicle.store.records import HoldRow, RetentionCut, RetentionHead, Snapshot, state_digest
from chronicle.store.sql.statements import RETENTION_HEAD_ROW, values_rows

if TYPE_CHECKING:
    from chronicle.store.sql.statements import Statements

_HEADS_PER_INSERT = 400
"""Kept heads per multi-row insert (2,000 parameters)."""


class RetentionTables:
    """Mixed into the SQL store: ``_sql``, ``_reading``, ``session``, ``_event``,
    ``_timestamp`` and ``dialect`` are the store's."""

    _sql: Statements
    dialect: Any

    def sealed_events(
        self, start: int, stop: int, limit: int = 1000
    ) -> list[tuple[int, RecordedEvent]]:
        """The stored events whose Merkle leaf index is in ``[start, stop)``, by that index
        (commit order), each with its index; archived events are no longer there."""
        params = {"start": start, "stop": stop, "limit": limit}
        with self._reading() as session:  # type: ignore[attr-defined]
            rows = session.fetchall(self._sql.sealed_events, params)
        read = self._event  # type: ignore[attr-defined]
        return [(int(row[-1]), read(row[:-1])) for row in rows]

    def kept_below(self, cut: RetentionCut) -> list[tuple[int, RecordedEvent]]:
        """The events still stored below ``cut`` (kept by a hold, or a run not yet complete),
        by leaf index, each with its index."""
        params = {"tree_size": cut.tree_size, "max_position": cut.max_position}
        with self._reading() as session:  # type: ignore[attr-defined]
            rows = session.fetchall(self._sql.kept_below_cut, params)
        read = self._event  # type: ignore[attr-defined]
        return [(int(row[-1]), read(row[:-1])) for row in rows]

    def save_attested_snapshots(self, snapshots: Sequence[Snapshot], seal_number: int) -> None:
        """Store snapshots replayed from their sealed events, each with its attestation, in one
        transaction (retention's snapshots at the cut: one commit, not two per aggregate)."""
        instant = self.dialect.instant(now_utc())
        with self.session() as session:  # type: ignore[attr-defined]
            for snapshot in snapshots:
                # Replayed from the store just now: after an erasure, a new key seals it.
                state = self._stored_state(snapshot, renew=True)  # type: ignore[attr-defined]
                key = {"aggregate_id": snapshot.aggregate_id, "version": snapshot.version}
                session.execute(
                    self._sql.save_snapshot,
                    {
                        **key,
                        "aggregate_type": snapshot.aggregate_type,
                        "state_schema_version": snapshot.state_schema_version,
                        "state": state,
                        "created_at": instant,
                    },
                )
                session.execute(
                    self._sql.attest_snapshot,
                    {
                        **key,
                        "state_digest": state_digest(state),
                        "seal_number": seal_number,
                        "attested_at": instant,
                    },
                )

    def remove_events(self, events: Sequence[tuple[int, bytes]]) -> int:
        """Delete the rows at these (position, hash) pairs in one transaction; the guard refuses
        any the cuts do not cover (``ImmutableEventError``, nothing deleted). Returns how many
        rows went (a row already gone counts nothing)."""
        batched = self.dialect.remove_events
        if batched is not None:
            params = {"positions": [p for p, _ in events], "hashes": [h for _, h in events]}
            with self.session() as session:  # type: ignore[attr-defined]
                return int(session.execute(batched, params))
        removed = 0
        with self.session() as session:  # type: ignore[attr-defined]
            for position, digest in events:
                removed += session.execute(
                    self._sql.delete_event, {"position": position, "hash": digest}
                )
        return removed

    def retention_cuts(self) -> list[RetentionCut]:
        with self._reading() as session:  # type: ignore[attr-defined]
            rows = session.fetchall(self._sql.retention_cuts, {})
        return [
            RetentionCut(
                int(number), int(size), bytes(head), bytes(root), int(receipt), int(highest),
                self._timestamp(recorded),  # type: ignore[attr-defined]
            )
            for number, size, head, root, receipt, highest, recorded in rows
        ]  # fmt: skip

    def retention_head(self, aggregate_id: str) -> RetentionHead | None:
        """The newest head kept for the aggregate, if retention archived any of its events."""
        with self._reading() as session:  # type: ignore[attr-defined]
            row = session.fetchone(self._sql.retention_head, {"aggregate_id": aggregate_id})
        if row is None:
            return None
        return RetentionHead(
            str(row[0]), int(row[1]), bytes(row[2]), int(row[3]), int(row[4]),
            self._timestamp(row[5]),  # type: ignore[attr-defined]
        )  # fmt: skip

    def checkpoint_positions(self) -> dict[str, int]:
        """Every named follower's checkpoint (what retention may not cut past)."""
        with self._reading() as session:  # type: ignore[attr-defined]
            rows = session.fetchall(self._sql.checkpoint_positions, {})
        return {str(name): int(position) for name, position in rows}

    def retention_head_count(self) -> int:
        with self._reading() as session:  # type: ignore[attr-defined]
            row = session.fetchone(self._sql.count_retention_heads, {})
        return int(row[0]) if row else 0

    def holds(self) -> list[HoldRow]:
        """The active legal holds as the guard trigger sees them."""
        with self._reading() as session:  # type: ignore[attr-defined]
            rows = session.fetchall(self._sql.holds, {})
        return [
            HoldRow(str(a), str(b), str(c), str(d), self._timestamp(e))  # type: ignore[attr-defined]
            for a, b, c, d, e in rows
        ]

    def receipt_handler(self, cut: RetentionCut, heads: Sequence[RetentionHead]) -> InlineHandler:
        """Records ``cut`` (at the position of the receipt event being appended) and the kept
        heads, inside the receipt's append."""
        statements, instant = self._sql, self.dialect.instant

        def record(session: Session, recorded: list[RecordedEvent]) -> None:
            session.execute(
                statements.insert_retention_cut,
                {
                    "number": cut.number,
                    "tree_size": cut.tree_size,
                    "head": cut.head,
                    "root": cut.root,
                    "receipt_position": recorded[-1].position,
                    "max_position": cut.max_position,
                    "recorded_at": instant(cut.recorded_at),
                },
            )
            for start in range(0, len(heads), _HEADS_PER_INSERT):
                chunk = heads[start : start + _HEADS_PER_INSERT]
                params: dict[str, Any] = {}
                for row, head in enumerate(chunk):
                    params |= {
                        f"aggregate_id_{row}": head.aggregate_id,
                        f"version_{row}": head.version,
                        f"hash_{row}": head.hash,
                        f"position_{row}": head.position,
                        f"cut_{row}": head.cut,
                        f"timestamp_{row}": instant(head.timestamp),
                    }
                session.execute(
                    statements.insert_retention_heads.replace(
                        "{rows}", values_rows(RETENTION_HEAD_ROW, len(chunk))
                    ),
                    params,
                )

        return record

    def hold_handler(self, placed: HoldRow | None, released: str | None) -> InlineHandler:
        """Keeps the guard's table of active holds, inside the append of a hold's event."""
        statements, instant = self._sql, self.dialect.instant

        def keep(session: Session, recorded: list[RecordedEvent]) -> None:
            if placed is not None:
                session.execute(
                    statements.insert_hold,
                    {
                        "hold_id": placed.hold_id,
                        "subject_kind": placed.subject_kind,
                        "subject_id": placed.subject_id,
                        "reason": placed.reason,
                        "placed_at": instant(placed.placed_at),
                    },
                )
            if released is not None:
                session.execute(statements.delete_hold, {"hold_id": released})

        return keep

    def _prefix_kept(self, cut: RetentionCut) -> int:
        with self._reading() as session:  # type: ignore[attr-defined]
            row = session.fetchone(
                self._sql.prefix_kept,
                {"tree_size": cut.tree_size, "max_position": cut.max_position},
            )
        return int(row[0]) if row else 0
