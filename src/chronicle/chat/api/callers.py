"""Who sent a request, remembered for a moment so that most requests need no database read.

A bearer token names a user id; the caller (username, role) and the user's token generation come
from the users read model and the credentials table. :class:`CallerCache` keeps them for
``CHRONICLE_CALLER_CACHE_SECONDS`` (default 1 s; 0 turns it off). This process forgets a user the
moment one of its requests changes that user (role, username, password, erasure: see
:meth:`CallerCache.forget`), so its next request reads them again; a change made by another
process (another service instance, ``chronicle users …``) applies here within those seconds.

A lookup that started before a change and finishes after it must not be remembered: every
:meth:`CallerCache.forget` moves an epoch on, and an answer is kept only when the epoch it was
read under is still the current one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

MAX_CALLERS = 10_000
"""At most this many callers are remembered (beyond, the cache starts afresh)."""


@dataclass(frozen=True)
class Caller:
    """The authenticated user making the request, as the users read model knows them now."""

    id: str
    username: str
    role: str


@dataclass(frozen=True)
class _Known:
    caller: Caller
    generation: int
    until: float


class CallerCache:
    """Callers by user id, each with its token generation, for ``seconds`` after their lookup."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._seconds = seconds
        self._clock = clock
        self._known: dict[str, _Known] = {}
        self._epoch = 0
        self._lock = threading.Lock()

    @property
    def epoch(self) -> int:
        """Take it before a lookup; hand it to :meth:`remember` after."""
        return self._epoch

    def get(self, user_id: str) -> tuple[Caller, int] | None:
        """The caller and token generation remembered for ``user_id``, if still fresh."""
        known = self._known.get(user_id)
        if known is None or known.until <= self._clock():
            return None
        return known.caller, known.generation

    def remember(self, caller: Caller, generation: int, epoch: int) -> None:
        """Keep a lookup made under ``epoch``, unless something was forgotten since."""
        if self._seconds <= 0:
            return
        with self._lock:
            if epoch != self._epoch:
                return
            if len(self._known) >= MAX_CALLERS:
                self._known.clear()
            self._known[caller.id] = _Known(caller, generation, self._clock() + self._seconds)

    def forget(self, user_id: str) -> None:
        """After a change to ``user_id`` committed: the next request reads them again."""
        with self._lock:
            self._epoch += 1
            self._known.pop(user_id, None)
