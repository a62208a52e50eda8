"""The floor for ``POST /messages``: a minimal FastAPI app doing the same database work.

Case 11 of the benchmarks runs it beside ``chronicle serve``, under the same server settings
(uvicorn, one worker, uvloop + httptools, a ``def`` endpoint in the thread pool):

    python -m bench.minimal_app --backend postgresql --target URL --port 8001
    python -m bench.minimal_app --backend sqlite --target /tmp/minimal.db --port 8001

Per request: a bearer-token check (PyJWT, HS256, key in ``CHRONICLE_SECRET_KEY``), then one
transaction holding one event ``INSERT`` into a table of Chronicle's layout (``chronicle_events``,
created by Chronicle's own migrations) and one upsert into a ``messages`` table of the messages
read model's layout. No validation beyond the body model, no hashing, no version check: the
least a service must do to record the message and show it.

PostgreSQL goes through a psycopg pool of Chronicle's default size; SQLite through one writer
connection (WAL, ``synchronous=FULL``) behind a lock, as Chronicle's SQLite store does.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import threading
import uuid
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractContextManager, asynccontextmanager, contextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

import jwt
import orjson
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from bench.writers import raw_insert_sql
from chronicle.chat.read_models.messages import MessagesReadModel

ALGORITHM = "HS256"
EVENT_TYPE = "MessageCreated"
POOL_SIZE = 10  # Chronicle's default CHRONICLE_PG_POOL_MAX


def messages_table_sql() -> list[str]:
    """``CREATE TABLE messages`` and its indexes, in the messages read model's layout."""
    table = MessagesReadModel.tables[0]
    statements = [f"CREATE TABLE IF NOT EXISTS {table.name} ({table.columns})"]
    statements += [
        f"CREATE INDEX IF NOT EXISTS {table.name}_{suffix} ON {table.name} ({columns})"
        for suffix, columns in table.indexes
    ]
    return statements


def _upsert_sql(marker: str) -> str:
    columns = (
        "id, content, username, message_type, project_id, mentions, author_id, deleted, "
        "created_position, created_at, updated_at, version"
    )
    values = ", ".join([marker] * 12)
    return (
        f"INSERT INTO messages ({columns}) VALUES ({values}) ON CONFLICT (id) DO UPDATE SET "
        "content = excluded.content, mentions = excluded.mentions, "
        "updated_at = excluded.updated_at, version = excluded.version"
    )


class MessageIn(BaseModel):
    content: str = Field(min_length=1, max_length=10_000)
    message_type: str = "text"
    project_id: str | None = None


def _event_row(backend: str, message_id: str, user_id: str, body: MessageIn) -> list[Any]:
    """The parameters of one ``MessageCreated`` row for ``raw_insert_sql(backend, 1)``."""
    now = datetime.now(UTC)
    data = {"content": body.content, "username": user_id, "type": body.message_type}
    return [
        str(uuid.uuid4()),
        message_id,
        "Message",
        EVENT_TYPE,
        1,
        1,
        zlib.crc32(message_id.encode()) % 256,
        now if backend == "postgresql" else now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        user_id,
        orjson.dumps(data),
        orjson.dumps({"correlation_id": str(uuid.uuid4())}),
        bytes(32),
    ]


Transaction = Callable[[], AbstractContextManager[Any]]
_bearer = HTTPBearer()


def caller(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials, Depends(_bearer)]
) -> str:
    """The user id of a valid HS256 bearer token; 401 otherwise."""
    try:
        claims = jwt.decode(
            credentials.credentials,
            request.app.state.secret,
            algorithms=[ALGORITHM],
            options={"require": ["exp", "sub"]},
        )
    except jwt.PyJWTError as exc:
        raise HTTPException(401, "invalid token") from exc
    return str(claims["sub"])


CallerId = Annotated[str, Depends(caller)]


def _postgres(url: str) -> tuple[Transaction, Callable[[], None]]:
    from psycopg_pool import ConnectionPool

    pool = ConnectionPool(url, min_size=1, max_size=POOL_SIZE, open=True)

    @contextmanager
    def transaction() -> Iterator[Any]:
        with pool.connection() as conn:  # commits on success, rolls back on error
            yield conn

    return transaction, pool.close


def _sqlite(path: str) -> tuple[Transaction, Callable[[], None]]:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA busy_timeout=30000")
    lock = threading.Lock()

    @contextmanager
    def transaction() -> Iterator[Any]:
        with lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    return transaction, conn.close


def create_app(backend: str, target: str, secret: str) -> FastAPI:
    """The app; its connections open in the lifespan, never at import."""
    marker = "%s" if backend == "postgresql" else "?"
    insert = raw_insert_sql(backend, 1) + " RETURNING position"
    upsert = _upsert_sql(marker)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        transaction, close = _postgres(target) if backend == "postgresql" else _sqlite(target)
        with transaction() as conn:
            for statement in messages_table_sql():
                conn.execute(statement)
        app.state.transaction = transaction
        app.state.secret = secret
        try:
            yield
        finally:
            close()

    app = FastAPI(lifespan=lifespan)

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/messages", status_code=201)
    def post_message(body: MessageIn, user_id: CallerId, request: Request) -> dict[str, Any]:
        message_id = f"message_{uuid.uuid4().hex}"
        now = datetime.now(UTC).isoformat()
        with request.app.state.transaction() as conn:
            event = _event_row(backend, message_id, user_id, body)
            row = conn.execute(insert, event).fetchone()
            conn.execute(
                upsert,
                (
                    message_id,
                    body.content,
                    user_id,
                    body.message_type,
                    body.project_id,
                    orjson.dumps([]).decode(),
                    user_id,
                    0,
                    row[0],
                    now,
                    now,
                    1,
                ),
            )
        return {"id": message_id, "version": 1, "position": row[0]}

    return app


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), required=True)
    parser.add_argument("--target", required=True, help="a PostgreSQL URL or a SQLite file")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    secret = os.environ["CHRONICLE_SECRET_KEY"]
    uvicorn.run(
        create_app(args.backend, args.target, secret),
        host="127.0.0.1",
        port=args.port,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    main()
