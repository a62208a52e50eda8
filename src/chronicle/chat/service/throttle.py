"""Login throttling: failures cost growing delays, per account and per client address.

After OWASP's Authentication Cheat Sheet ("account lockout"): an account that fails
:data:`ACCOUNT` ``.free_failures`` times in a row is locked for a delay that doubles with each
further failure, up to a cap; a client address gets a larger allowance (:data:`ADDRESS`), so one
client spraying guesses over many accounts is slowed too. While a key is locked every attempt,
the right password included, is refused with :class:`TooManyAttemptsError` before any password
is checked, and is not counted. A successful log-in forgets the account's streak.

State lives in ``chronicle_login_attempts`` beside the credentials, so a restart forgets
nothing. Keys are digests of the username and of the address: unknown usernames are counted
exactly like known ones (throttling tells no one which names exist), and no raw form value —
which may hold NUL, or be megabytes long — ever reaches the database. Every write first deletes
the rows whose lock has expired and whose streak is forgotten, so guessing many names cannot
grow the table without bound.

Each attempt is counted as a failure *before* its password is checked, in a transaction that
holds the rows, and taken back when it succeeds: parallel requests cannot slip several guesses
through between a check and its count.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from chronicle.errors import ChronicleError
from chronicle.metrics import Metrics
from chronicle.store.ports import EventStore, Session

TABLE = "chronicle_login_attempts"


class TooManyAttemptsError(ChronicleError):
    """Log-ins for this account or from this address are refused for ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Policy:
    """When failures start to cost time, and how much."""

    free_failures: int
    """Failures in a row that cost nothing; the next attempt after one more waits."""
    first_delay: float
    """Seconds locked after the last free failure; each further failure doubles it."""
    max_delay: float
    """The most one failure ever locks for."""
    memory: float
    """Seconds after its last failure (and its lock) that a streak is forgotten."""

    def delay(self, failures: int) -> float:
        """How long ``failures`` in a row lock the key for (0 while they are free)."""
        beyond = failures - self.free_failures
        if beyond < 0:
            return 0.0
        return min(self.first_delay * 2 ** min(beyond, 64), self.max_delay)


ACCOUNT = Policy(free_failures=5, first_delay=1.0, max_delay=15 * 60.0, memory=60 * 60.0)
"""Per username: 5 free failures, then 1 s, 2 s, 4 s … at most 15 min; forgotten after 1 h."""
ADDRESS = Policy(free_failures=50, first_delay=1.0, max_delay=15 * 60.0, memory=15 * 60.0)
"""Per client address: 50 failures without a 15-minute pause, then the same doubling delays."""


@dataclass(frozen=True)
class Attempt:
    """A log-in admitted and counted as a failure until :meth:`Throttle.succeeded` says not."""

    account: str
    address: str


def _digest(kind: str, value: str) -> str:
    encoded = value.encode("utf-8", "surrogatepass")
    return f"{kind}:{hashlib.sha256(encoded).hexdigest()}"


class Throttle:
    """Admits log-ins, or refuses them while their account or address is locked.

    ``clock`` gives the time in seconds (``time.time``); tests hand in one they move.
    """

    def __init__(
        self,
        store: EventStore,
        *,
        metrics: Metrics | None = None,
        clock: Callable[[], float] = time.time,
        account: Policy = ACCOUNT,
        address: Policy = ADDRESS,
    ) -> None:
        self.store = store
        self.metrics = metrics
        self.clock = clock
        self.account = account
        self.address = address

    def ensure_table(self) -> None:
        with self.store.session() as session:
            session.execute(
                f"CREATE TABLE IF NOT EXISTS {TABLE} (key TEXT PRIMARY KEY, "
                "failures INTEGER NOT NULL, locked_until DOUBLE PRECISION NOT NULL, "
                "forget_at DOUBLE PRECISION NOT NULL)"
            )
            session.execute(f"CREATE INDEX IF NOT EXISTS {TABLE}_forget_at ON {TABLE} (forget_at)")

    def admit(self, username: str, address: str) -> Attempt:
        """Count a log-in for ``username`` from ``address`` as a failure, or refuse it.

        ``TooManyAttemptsError`` (nothing counted) while either is locked.
        """
        attempt = Attempt(_digest("account", username), _digest("address", address))
        policies = {attempt.account: self.account, attempt.address: self.address}
        now = self.clock()
        with self.store.session() as session:
            rows = self._hold(session, sorted(policies), now)
            locked = {key: until for key, (_, until) in rows.items() if until > now}
            if locked:
                # Raised inside the transaction, so a refusal writes nothing, not even the row
                # of a username never seen before: refusals cost no password check and no space.
                raise self._refusal(attempt, locked, now)
            for key, (failures, until) in rows.items():
                self._count(session, key, policies[key], failures + 1, until, now)
            self._prune(session, now)
        return attempt

    def succeeded(self, attempt: Attempt) -> None:
        """The attempt's password was right: forget the account's streak, uncount the address."""
        with self.store.session() as session:
            session.execute(f"DELETE FROM {TABLE} WHERE key = :key", {"key": attempt.account})
            # The address keeps its other failures; only a lock this attempt caused is lifted.
            session.execute(
                f"UPDATE {TABLE} SET failures = failures - 1, locked_until = CASE "
                "WHEN failures - 1 < :free THEN 0 ELSE locked_until END "
                "WHERE key = :key AND failures > 0",
                {"key": attempt.address, "free": self.address.free_failures},
            )

    def _refusal(
        self, attempt: Attempt, locked: dict[str, float], now: float
    ) -> TooManyAttemptsError:
        limit = "account" if attempt.account in locked else "address"
        if self.metrics is not None:
            self.metrics.login_refusals.labels(limit=limit).inc()
        wait = max(1, math.ceil(max(locked.values()) - now))
        return TooManyAttemptsError(
            f"too many failed log-ins for this {limit}: try again in {wait} s", wait
        )

    def _hold(
        self, session: Session, keys: Sequence[str], now: float
    ) -> dict[str, tuple[int, float]]:
        """Each key's failures and lock, its row created if new and held until commit.

        Keys are taken in one order (sorted) by every writer, so two never wait on each other.
        """
        rows: dict[str, tuple[int, float]] = {}
        for key in keys:
            session.execute(
                f"INSERT INTO {TABLE} (key, failures, locked_until, forget_at) "
                "VALUES (:key, 0, 0, :now) ON CONFLICT DO NOTHING",
                {"key": key, "now": now},
            )
            row = session.fetchone(
                f"SELECT failures, locked_until FROM {TABLE} WHERE key = :key"
                f"{session.dialect.for_update}",
                {"key": key},
            )
            assert row is not None  # inserted just above, in this transaction
            rows[key] = (int(row[0]), float(row[1]))
        return rows

    def _prune(self, session: Session, now: float) -> None:
        """Delete the rows whose lock has passed and whose failures are forgotten.

        It runs last, after this transaction's own rows are held, and skips rows another writer
        holds (where rows are locked at all), so it never waits: two log-ins cannot deadlock.
        """
        lock = session.dialect.for_update
        unless_held = f"{lock} SKIP LOCKED" if lock else ""
        session.execute(
            f"DELETE FROM {TABLE} WHERE key IN "
            f"(SELECT key FROM {TABLE} WHERE forget_at <= :now{unless_held})",
            {"now": now},
        )

    def _count(
        self, session: Session, key: str, policy: Policy, failures: int, until: float, now: float
    ) -> None:
        delay = policy.delay(failures)
        locked_until = now + delay if delay else until
        session.execute(
            f"UPDATE {TABLE} SET failures = :failures, locked_until = :until, "
            "forget_at = :forget WHERE key = :key",
            {
                "key": key,
                "failures": failures,
                "until": locked_until,
                "forget": max(locked_until, now) + policy.memory,
            },
        )
