"""The embedded SQLite backend: connections, session, wake-up, append path and schema."""

from .connections import path_from_url
from .store import SQLiteEventStore

__all__ = ["SQLiteEventStore", "path_from_url"]
