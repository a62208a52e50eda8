"""The PostgreSQL backend: pool, session, wake-up, append path, visibility rule, schema, roles."""

from .store import PostgresEventStore

__all__ = ["PostgresEventStore"]
