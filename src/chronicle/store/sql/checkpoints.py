"""Named checkpoints of log followers: the one place their SQL is written.

A follower's checkpoint is the position of the last event it processed. The store's
``get_checkpoint``/``set_checkpoint`` run these statements on a connection of their own; a
projection runs :func:`lock` and :func:`move` inside the transaction that changes its read model,
so the read model and its checkpoint commit together. Moving is a compare-and-set: when another
runner or a rebuild moved the checkpoint first, :class:`CheckpointMovedError` abandons the
transaction instead of applying events twice.
"""

from __future__ import annotations

from chronicle.errors import CheckpointMovedError
from chronicle.store.ports import Session

_ENSURE = (
    "INSERT INTO chronicle_checkpoints (name, position, updated_at) "
    "VALUES (:name, 0, CURRENT_TIMESTAMP) ON CONFLICT (name) DO NOTHING"
)
_PUT = (
    "INSERT INTO chronicle_checkpoints (name, position, updated_at) "
    "VALUES (:name, :position, CURRENT_TIMESTAMP) "
    "ON CONFLICT (name) DO UPDATE SET position = excluded.position, "
    "updated_at = excluded.updated_at"
)
_GET = "SELECT position FROM chronicle_checkpoints WHERE name = :name"
_MOVE = (
    "UPDATE chronicle_checkpoints SET position = :position, updated_at = CURRENT_TIMESTAMP "
    "WHERE name = :name AND position = :expected"
)
_DELETE = "DELETE FROM chronicle_checkpoints WHERE name = :name"


def get(session: Session, name: str) -> int | None:
    row = session.fetchone(_GET, {"name": name})
    return None if row is None else int(row[0])


def put(session: Session, name: str, position: int) -> None:
    session.execute(_PUT, {"name": name, "position": position})


def ensure(session: Session, name: str) -> None:
    """Create the checkpoint at 0 unless it exists."""
    session.execute(_ENSURE, {"name": name})


def lock(session: Session, name: str) -> int:
    """The checkpoint's position, locked for the rest of the transaction (created at 0)."""
    ensure(session, name)
    row = session.fetchone(_GET + session.dialect.for_update, {"name": name})
    assert row is not None  # ensured just above, in the same transaction
    return int(row[0])


def move(session: Session, name: str, expected: int, position: int) -> None:
    """Move the checkpoint from ``expected`` to ``position``, or raise CheckpointMovedError."""
    changed = session.execute(_MOVE, {"name": name, "position": position, "expected": expected})
    if changed != 1:
        raise CheckpointMovedError(f"checkpoint {name!r} moved away from {expected}")


def delete(session: Session, name: str) -> None:
    session.execute(_DELETE, {"name": name})
