"""Passwords, kept in ``chronicle_credentials`` beside the read models, never in an event.

Each row holds a user id, the username people log in with (unique) and an argon2id hash. Rows
are written inside the same transaction as the user's events (through the append's inline
handler), so a user never exists without credentials, nor credentials without a user.

``chronicle_token_generations`` counts, per user, the password and role changes that made their
earlier tokens void: a token carries the generation it was issued in and is refused once the
user's generation has moved past it. It is a table of its own (a missing row is generation 0) so
stores created before it need no migration, and so a rename, which re-inserts the credentials
row, cannot reset it.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from chronicle.errors import DomainError
from chronicle.store.ports import EventStore, Session

TABLE = "chronicle_credentials"
GENERATIONS = "chronicle_token_generations"
MIN_PASSWORD = 8
MAX_PASSWORD = 128


class UsernameTakenError(DomainError):
    """Another user already logs in with this username."""


class InvalidPasswordError(DomainError):
    """A password is too short, too long or not printable text."""


def check_password(password: str) -> str:
    if not isinstance(password, str) or not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidPasswordError(f"a password is {MIN_PASSWORD}-{MAX_PASSWORD} characters long")
    if not password.isprintable():
        raise InvalidPasswordError("a password is printable text")
    return password


@dataclass(frozen=True)
class Authenticated:
    """Whose username and password were given, and their token generation at that moment."""

    user_id: str
    token_generation: int


class Credentials:
    """Hashing, storing and checking passwords; counting what makes earlier tokens void."""

    def __init__(self, store: EventStore, hasher: PasswordHasher | None = None) -> None:
        self.store = store
        self.hasher = hasher or PasswordHasher()
        # Checked against when the username is unknown, so a miss costs as much as a hit.
        self._dummy = self.hasher.hash("chronicle-no-such-user")

    def ensure_table(self) -> None:
        with self.store.session() as session:
            session.execute(
                f"CREATE TABLE IF NOT EXISTS {TABLE} (user_id TEXT PRIMARY KEY, "
                "username TEXT NOT NULL UNIQUE, password_hash TEXT NOT NULL, "
                "created_at TEXT NOT NULL)"
            )
            session.execute(
                f"CREATE TABLE IF NOT EXISTS {GENERATIONS} (user_id TEXT PRIMARY KEY, "
                "generation INTEGER NOT NULL)"
            )

    def hash(self, password: str) -> str:
        return self.hasher.hash(check_password(password))

    def insert(self, session: Session, user_id: str, username: str, password_hash: str) -> None:
        """Add a user's credentials inside ``session``; ``UsernameTakenError`` if taken."""
        changed = session.execute(
            f"INSERT INTO {TABLE} (user_id, username, password_hash, created_at) "
            "VALUES (:user_id, :username, :hash, :now) ON CONFLICT DO NOTHING",
            {
                "user_id": user_id,
                "username": username,
                "hash": password_hash,
                "now": datetime.now(UTC).isoformat(),
            },
        )
        if changed != 1:
            raise UsernameTakenError(f"the username {username!r} is taken")

    def rename(self, session: Session, user_id: str, username: str) -> None:
        """Move a user's login name inside ``session``; ``UsernameTakenError`` if taken."""
        row = session.fetchone(
            f"SELECT password_hash, created_at FROM {TABLE} WHERE user_id = :user_id",
            {"user_id": user_id},
        )
        if row is None:
            return
        # Delete and re-insert, so a racing writer that took the name makes the insert (and with
        # it the whole transaction) fail cleanly instead of hitting a driver-specific error.
        session.execute(f"DELETE FROM {TABLE} WHERE user_id = :user_id", {"user_id": user_id})
        self.insert(session, user_id, username, row[0])

    def set_password(self, user_id: str, password: str) -> bool:
        """Replace a user's password and void their earlier tokens; False when the user has no
        credentials."""
        password_hash = self.hash(password)
        with self.store.session() as session:
            changed = session.execute(
                f"UPDATE {TABLE} SET password_hash = :hash WHERE user_id = :user_id",
                {"hash": password_hash, "user_id": user_id},
            )
            if changed != 1:
                return False
            self.void_tokens(session, user_id)
        return True

    def remove(self, session: Session, user_id: str) -> None:
        """Inside ``session``, remove the user's login (an erasure: the username goes too)."""
        session.execute(f"DELETE FROM {TABLE} WHERE user_id = :user_id", {"user_id": user_id})

    def void_tokens(self, session: Session, user_id: str) -> None:
        """Inside ``session``, move the user's token generation on: earlier tokens stop working."""
        session.execute(
            f"INSERT INTO {GENERATIONS} (user_id, generation) VALUES (:user_id, 1) "
            f"ON CONFLICT (user_id) DO UPDATE SET generation = {GENERATIONS}.generation + 1",
            {"user_id": user_id},
        )

    def token_generation(self, session: Session, user_id: str) -> int:
        """The user's token generation (0 until a password or role change)."""
        row = session.fetchone(
            f"SELECT generation FROM {GENERATIONS} WHERE user_id = :user_id", {"user_id": user_id}
        )
        return 0 if row is None else int(row[0])

    def exists(self, username: str) -> bool:
        with self.store.read_session() as session:
            return (
                session.fetchone(
                    f"SELECT 1 FROM {TABLE} WHERE username = :username", {"username": username}
                )
                is not None
            )

    def authenticate(self, username: str, password: str) -> Authenticated | None:
        """The user whose username and password these are, else None.

        A username that is not printable text names no one (none is ever stored) and is never
        sent to the database, which may not even accept it (PostgreSQL refuses NUL).
        """
        if not (isinstance(username, str) and username.isprintable()):
            self._verify_nothing(password)
            return None
        with self.store.read_session() as session:
            # The generation is read with the hash, so a token is never newer than the check.
            row = session.fetchone(
                f"SELECT c.user_id, c.password_hash, g.generation FROM {TABLE} c "
                f"LEFT JOIN {GENERATIONS} g ON g.user_id = c.user_id "
                "WHERE c.username = :username",
                {"username": username},
            )
        try:
            if row is None:
                self._verify_nothing(password)
                return None
            self.hasher.verify(row[1], password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        return Authenticated(str(row[0]), int(row[2] or 0))

    def _verify_nothing(self, password: str) -> None:
        # Costs what a real check costs, so an unknown username is not told apart by its timing.
        with contextlib.suppress(VerifyMismatchError, VerificationError, InvalidHashError):
            self.hasher.verify(self._dummy, password)
