"""SQLite's dialect: the shared statements as they are, and its driver's errors translated."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from chronicle.errors import DuplicateKeyError, ImmutableEventError, StoreUnavailableError
from chronicle.store.sql.dialect import Dialect

_UNIQUE = re.compile(r"UNIQUE constraint failed: (.+)")
# What SQLite says when the file, not the statement, is the problem.
_UNAVAILABLE = ("locked", "busy", "unable to open", "disk", "readonly", "not a database")


class SQLiteDialect(Dialect):
    name = "sqlite"

    @contextmanager
    def errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.IntegrityError as exc:
            message = str(exc)
            if "immutable" in message:
                raise ImmutableEventError(message) from exc
            unique = _UNIQUE.match(message)
            if unique is not None:
                raise DuplicateKeyError(message, unique.group(1)) from exc
            raise
        except sqlite3.OperationalError as exc:
            if any(word in str(exc) for word in _UNAVAILABLE):
                raise StoreUnavailableError(f"the SQLite store is unavailable: {exc}") from exc
            raise
