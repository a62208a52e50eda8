"""One SQL text for both backends: ``:name`` placeholders become psycopg's ``%(name)s``."""

from __future__ import annotations

from chronicle.store.postgres.session import PostgresSession


def test_named_placeholders_are_rewritten_and_casts_and_percent_signs_survive() -> None:
    session = PostgresSession(conn=None)
    sql = "SELECT :id::text, data FROM t WHERE name LIKE 'a%' AND v = :version AND x = 'a:b'"
    assert session._sql(sql) == (
        "SELECT %(id)s::text, data FROM t WHERE name LIKE 'a%%' AND v = %(version)s AND x = 'a:b'"
    )
