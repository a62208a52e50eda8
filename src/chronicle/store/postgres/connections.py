"""The PostgreSQL connection pool: autocommit connections in UTC, a clear error when unreachable.

Connections are in autocommit mode, so an append is one round trip in its own transaction;
sessions open an explicit transaction when they need one.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from chronicle.errors import ConfigurationError, StoreUnavailableError

from .horizon import WRITER_SESSION_LOCK

_RECONNECT_SECONDS = 1.0


def open_pool(url: str, *, min_size: int, max_size: int, timeout: float) -> ConnectionPool:
    """A pool of autocommit connections to ``url``, opened (or a clear error)."""
    _probe(url, timeout)
    pool = ConnectionPool(
        url,
        min_size=min_size,
        max_size=max_size,
        kwargs={"autocommit": True},
        timeout=timeout,
        # The pool retries a lost connection in the background with a doubling delay that has
        # no ceiling: after a long outage its next try can come a minute after the database is
        # back. Giving up quickly hands reconnection to the requests themselves (an empty pool
        # grows on demand, trying at once), so writes resume as soon as the database answers.
        reconnect_timeout=_RECONNECT_SECONDS,
        open=False,
        name="chronicle",
        configure=_configure_connection,
    )
    try:
        pool.open(wait=True, timeout=timeout)
    except PoolTimeout as exc:
        pool.close()
        raise StoreUnavailableError(
            f"cannot connect to PostgreSQL at {redact(url)} within {timeout:g}s; "
            "is the server running and EVENT_STORE_URL right?"
        ) from exc
    return pool


def _probe(url: str, timeout: float) -> None:
    """Connect once before building the pool: a bad URL or a server that is down is reported at
    once with the driver's reason, instead of after the pool's whole timeout."""
    try:
        with psycopg.connect(url, connect_timeout=max(1, int(timeout))):
            return
    except psycopg.ProgrammingError as exc:
        raise ConfigurationError(
            "EVENT_STORE_URL", f"{redact(url)} is not a valid PostgreSQL URL: {exc}"
        ) from exc
    except psycopg.OperationalError as exc:
        reason = str(exc).strip()
        if "invalid" in reason:  # libpq's word for a malformed option (port, sslmode…)
            raise ConfigurationError(
                "EVENT_STORE_URL", f"{redact(url)} is not a valid PostgreSQL URL: {reason}"
            ) from exc
        raise StoreUnavailableError(
            f"cannot connect to PostgreSQL at {redact(url)}: {reason}; is the server running "
            "and EVENT_STORE_URL right?"
        ) from exc


CONFIGURE = (
    # Timestamps come back as UTC whatever the server's or the role's time zone.
    "SET timezone TO 'UTC'",
    # Every transaction on this connection counts as a possible event writer for followers'
    # read horizon (see horizon.py): taken once here, so an append pays nothing for it.
    WRITER_SESSION_LOCK,
)
"""What every pooled connection runs when it opens, sync or async."""


def _configure_connection(conn: psycopg.Connection[Any]) -> None:
    for statement in CONFIGURE:
        conn.execute(statement)


def redact(url: str) -> str:
    """The URL without its password, for error messages."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "<invalid URL>"
    info.pop("password", None)
    return " ".join(f"{key}={value}" for key, value in info.items())
