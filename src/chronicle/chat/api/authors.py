"""Who wrote each message, remembered by the process.

A member may edit or delete only their own messages, so every such request needs the message's
author. The author is fixed when the message is created and never changes (not by an edit, a
deletion, an erasure of personal data or a retention cut), so what this process once read or
wrote stays true: an edit of a message it has seen needs no read of the row to check who wrote
it. Nothing here is ever stale, so nothing needs forgetting; the cache only bounds its size.
"""

from __future__ import annotations

import threading

MAX_AUTHORS = 100_000
"""At most this many messages' authors are remembered (beyond, the cache starts afresh)."""


class AuthorCache:
    """Author ids by message id."""

    def __init__(self) -> None:
        self._authors: dict[str, str] = {}
        self._lock = threading.Lock()

    def get(self, message_id: str) -> str | None:
        return self._authors.get(message_id)

    def remember(self, message_id: str, author_id: str) -> None:
        with self._lock:
            if len(self._authors) >= MAX_AUTHORS:
                self._authors.clear()
            self._authors[message_id] = author_id
