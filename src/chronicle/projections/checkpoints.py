"""A projection's checkpoint, read and moved inside the transaction that changes its read model.

Moving it is a compare-and-set: when another runner or a rebuild moved it first, the transaction
is abandoned (:class:`CheckpointMovedError`) instead of applying events twice.
"""

from __future__ import annotations

from chronicle.errors import ChronicleError
from chronicle.store.session import Session


class CheckpointMovedError(ChronicleError):
    """Someone else moved the checkpoint since it was read; reload and try again."""


def ensure_checkpoint(session: Session, name: str) -> None:
    session.execute(
        "INSERT INTO chronicle_checkpoints (name, position, updated_at) "
        "VALUES (:name, 0, CURRENT_TIMESTAMP) ON CONFLICT (name) DO NOTHING",
        {"name": name},
    )


def lock_checkpoint(session: Session, name: str) -> int:
    """The checkpoint's position, locked for the rest of the transaction (created at 0)."""
    ensure_checkpoint(session, name)
    lock = " FOR UPDATE" if session.backend == "postgresql" else ""
    row = session.fetchone(
        f"SELECT position FROM chronicle_checkpoints WHERE name = :name{lock}", {"name": name}
    )
    assert row is not None  # ensured just above, in the same transaction
    return int(row[0])


def move_checkpoint(session: Session, name: str, expected: int, position: int) -> None:
    changed = session.execute(
        "UPDATE chronicle_checkpoints SET position = :position, updated_at = CURRENT_TIMESTAMP "
        "WHERE name = :name AND position = :expected",
        {"name": name, "position": position, "expected": expected},
    )
    if changed != 1:
        raise CheckpointMovedError(f"checkpoint {name!r} moved away from {expected}")


def delete_checkpoint(session: Session, name: str) -> None:
    session.execute("DELETE FROM chronicle_checkpoints WHERE name = :name", {"name": name})
