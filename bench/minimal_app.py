"""The floor for ``POST /messages`` and ``PATCH /messages/{id}``: a minimal FastAPI app doing
the same database work, in two shapes.

Case 11 of the benchmarks runs both beside ``chronicle serve``, under the same server settings
(uvicorn, one worker, uvloop + httptools):

    python -m bench.minimal_app --backend postgresql --target URL --port 8001 [--async]
    python -m bench.minimal_app --backend sqlite --target /tmp/minimal.db --port 8001 [--async]

Per request: a bearer-token check (PyJWT, HS256, key in ``CHRONICLE_SECRET_KEY``), then one
transaction. ``POST``: one event ``INSERT`` into a table of Chronicle's layout
(``chronicle_events``, created by Chronicle's own migrations) and one upsert into a ``messages``
table of the messages read model's layout. ``PATCH``: the message's row locked and read for its
version, one event ``INSERT`` at the next version, the row updated. No validation beyond the
body model, no hashing: the least a service must do to record the change and show it.

The sync shape has ``def`` endpoints in the thread pool. PostgreSQL goes through a psycopg pool
of Chronicle's default size; SQLite through one writer connection (WAL, ``synchronous=FULL``)
behind a lock, as Chronicle's SQLite store does. The async shape (``--async``) has ``async def``
endpoints: PostgreSQL through psycopg's ``AsyncConnectionPool`` of the same size, SQLite on the
event loop itself (its statements block the loop for their duration: no thread hop at all, the
fastest a single process can write to SQLite).
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


class MessageEdit(BaseModel):
    content: str = Field(min_length=1, max_length=10_000)


def _event_row(
    backend: str, message_id: str, user_id: str, event_type: str, version: int, data: Any
) -> list[Any]:
    """The parameters of one event row for ``raw_insert_sql(backend, 1)``."""
    now = datetime.now(UTC)
    return [
        str(uuid.uuid4()),
        message_id,
        "Message",
        event_type,
        version,
        1,
        zlib.crc32(message_id.encode()) % 256,
        now if backend == "postgresql" else now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        user_id,
        orjson.dumps(data),
        orjson.dumps({"correlation_id": str(uuid.uuid4())}),
        bytes(32),
    ]


class Statements:
    """The app's SQL for one backend, and the parameters of each write."""

    def __init__(self, backend: str) -> None:
        self.backend = backend
        marker = "%s" if backend == "postgresql" else "?"
        self.insert = raw_insert_sql(backend, 1) + " RETURNING position"
        self.upsert = _upsert_sql(marker)
        lock = " FOR UPDATE" if backend == "postgresql" else ""  # SQLite: one writer already
        self.head = f"SELECT version FROM messages WHERE id = {marker}{lock}"
        self.edit = (
            f"UPDATE messages SET content = {marker}, updated_at = {marker}, version = {marker} "
            f"WHERE id = {marker}"
        )

    def created(self, message_id: str, user_id: str, body: MessageIn) -> list[Any]:
        data = {"content": body.content, "username": user_id, "type": body.message_type}
        return _event_row(self.backend, message_id, user_id, EVENT_TYPE, 1, data)

    def row(self, message_id: str, user_id: str, body: MessageIn, position: int) -> tuple[Any, ...]:
        now = datetime.now(UTC).isoformat()
        return (
            message_id, body.content, user_id, body.message_type, body.project_id, "[]",
            user_id, 0, position, now, now, 1,
        )  # fmt: skip

    def edited(self, message_id: str, user_id: str, body: MessageEdit, version: int) -> list[Any]:
        data = {"content": body.content}
        return _event_row(self.backend, message_id, user_id, "MessageUpdated", version, data)

    def edit_row(self, message_id: str, body: MessageEdit, version: int) -> tuple[Any, ...]:
        return (body.content, datetime.now(UTC).isoformat(), version, message_id)


Transaction = Callable[[], AbstractContextManager[Any]]
_bearer = HTTPBearer()


def caller(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials, Depends(_bearer)]
) -> str:
    """The user id of a valid HS256 bearer token; 401 otherwise (no I/O: runs on the loop)."""
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


async def async_caller(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials, Depends(_bearer)]
) -> str:
    return caller(request, credentials)


CallerId = Annotated[str, Depends(caller)]
AsyncCallerId = Annotated[str, Depends(async_caller)]


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
    """The sync app; its connections open in the lifespan, never at import."""
    sql = Statements(backend)

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
        with request.app.state.transaction() as conn:
            position = conn.execute(sql.insert, sql.created(message_id, user_id, body)).fetchone()[
                0
            ]
            conn.execute(sql.upsert, sql.row(message_id, user_id, body, position))
        return {"id": message_id, "version": 1, "position": position}

    @app.patch("/messages/{message_id}")
    def edit_message(
        message_id: str, body: MessageEdit, user_id: CallerId, request: Request
    ) -> dict[str, Any]:
        with request.app.state.transaction() as conn:
            head = conn.execute(sql.head, (message_id,)).fetchone()
            if head is None:
                raise HTTPException(404, "no such message")
            version = head[0] + 1
            event = sql.edited(message_id, user_id, body, version)
            position = conn.execute(sql.insert, event).fetchone()[0]
            conn.execute(sql.edit, sql.edit_row(message_id, body, version))
        return {"id": message_id, "version": version, "position": position}

    return app


class _LoopSQLite:
    """SQLite's one writer connection behind awaitable calls that run on the loop itself."""

    def __init__(self, path: str) -> None:
        transaction, self.close = _sqlite(path)
        self._transaction = transaction

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Any]:
        with self._transaction() as conn:
            yield _Awaitable(conn)


class _Awaitable:
    def __init__(self, conn: Any) -> None:
        self._conn = conn

    async def fetchone(self, statement: str, params: Any) -> Any:
        return self._conn.execute(statement, params).fetchone()

    async def execute(self, statement: str, params: Any = ()) -> None:
        self._conn.execute(statement, params)


class _AsyncPostgres:
    def __init__(self, url: str) -> None:
        from psycopg_pool import AsyncConnectionPool

        self._pool = AsyncConnectionPool(url, min_size=1, max_size=POOL_SIZE, open=False)

    async def open(self) -> None:
        await self._pool.open(wait=True)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Any]:
        async with self._pool.connection() as conn:  # commits on success
            yield _AwaitablePostgres(conn)

    async def close(self) -> None:
        await self._pool.close()


class _AwaitablePostgres:
    def __init__(self, conn: Any) -> None:
        self._conn = conn

    async def fetchone(self, statement: str, params: Any) -> Any:
        return await (await self._conn.execute(statement, params)).fetchone()

    async def execute(self, statement: str, params: Any = ()) -> None:
        await self._conn.execute(statement, params)


def create_async_app(backend: str, target: str, secret: str) -> FastAPI:
    """The async app: ``async def`` endpoints, no thread-pool hop anywhere on a request."""
    sql = Statements(backend)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database: Any
        if backend == "postgresql":
            database = _AsyncPostgres(target)
            await database.open()
        else:
            database = _LoopSQLite(target)
        async with database.transaction() as conn:
            for statement in messages_table_sql():
                await conn.execute(statement)
        app.state.database = database
        app.state.secret = secret
        try:
            yield
        finally:
            closed = database.close()
            if closed is not None:
                await closed

    app = FastAPI(lifespan=lifespan)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/messages", status_code=201)
    async def post_message(
        body: MessageIn, user_id: AsyncCallerId, request: Request
    ) -> dict[str, Any]:
        message_id = f"message_{uuid.uuid4().hex}"
        async with request.app.state.database.transaction() as conn:
            row = await conn.fetchone(sql.insert, sql.created(message_id, user_id, body))
            await conn.execute(sql.upsert, sql.row(message_id, user_id, body, row[0]))
        return {"id": message_id, "version": 1, "position": row[0]}

    @app.patch("/messages/{message_id}")
    async def edit_message(
        message_id: str, body: MessageEdit, user_id: AsyncCallerId, request: Request
    ) -> dict[str, Any]:
        async with request.app.state.database.transaction() as conn:
            head = await conn.fetchone(sql.head, (message_id,))
            if head is None:
                raise HTTPException(404, "no such message")
            version = head[0] + 1
            row = await conn.fetchone(sql.insert, sql.edited(message_id, user_id, body, version))
            await conn.execute(sql.edit, sql.edit_row(message_id, body, version))
        return {"id": message_id, "version": version, "position": row[0]}

    return app


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), required=True)
    parser.add_argument("--target", required=True, help="a PostgreSQL URL or a SQLite file")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--async", dest="asynchronous", action="store_true",
                        help="async def endpoints (psycopg async pool; SQLite on the loop)")  # fmt: skip
    args = parser.parse_args()
    secret = os.environ["CHRONICLE_SECRET_KEY"]
    build = create_async_app if args.asynchronous else create_app
    uvicorn.run(
        build(args.backend, args.target, secret),
        host="127.0.0.1",
        port=args.port,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    main()
