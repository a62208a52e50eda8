"""How far a follower may read on PostgreSQL: below the oldest *Chronicle writer* still running.

Positions are handed out before commit, so a reader walks ``(transaction_id, position)`` and
must stop below every transaction that may still commit events. PostgreSQL's own answer,
``pg_snapshot_xmin``, is the oldest transaction still running anywhere on the server (every
database of the cluster), so one idle-in-transaction session, a report or a ``pg_dump`` next
door would stall every follower. Chronicle narrows it to its own writers:

*The writer rule.* Every transaction that inserts events runs on a connection that holds the
writer lock (an advisory lock keyed by its backend, so writers never wait for each other)
**before** the transaction is given an id, until the transaction ends. Chronicle's pool takes it
for the whole session when it opens a connection (:data:`WRITER_SESSION_LOCK`), so appends pay
nothing for it; ``chronicle_append`` also takes it for its own transaction
(:data:`WRITER_LOCK`), for a caller on a connection of its own. Nothing else inserts events.
Other transactions with an id on those connections (read models, checkpoints, seals) count as
writers too: they are Chronicle's own and short.

*The bound* (:data:`HORIZON`, one statement with one snapshot ``S``, reading ``pg_locks`` a
moment later, at ``R``) is the least of

1. ``xmax(S)``: every transaction id below it was handed out before ``S``;
2. the ids running in ``S`` that belong to a backend holding the writer lock at ``R``;
3. when a holder's own id is not in ``pg_locks`` yet (PostgreSQL publishes a new id in its
   snapshots a moment before it locks it), every id running in ``S`` that no transaction at
   ``R`` claims: the holder's id, if it has one, is among those.

The reader then reads, in a *later* statement (a snapshot taken after ``R``), the events whose
transaction id is below that bound.

*Why nothing is skipped.* Take a transaction ``W`` with id ``X`` below the bound that writes
events. By (1), ``X`` was handed out before ``S``, so by the writer rule ``W`` held the lock
from before ``S`` to its end. If ``W`` was still running at ``R``, (2) or (3) would have put the
bound at or below ``X``; so ``W`` had ended by ``R``, and the reader's later snapshot sees all it
committed. Transactions that never take the lock (another application, another database, a
``pg_dump``) bound nothing: they are claimed by their own id in ``pg_locks``.

A holder that has no transaction id yet bounds nothing either: the id it gets later is above
``xmax(S)``. ``pg_locks`` is readable by every role, so the application's and the sealer's
least-privilege logins compute the same bound as a superuser.
"""

from __future__ import annotations

WRITER_LOCK_CLASS = 0x6368726F
"""The advisory lock's first key ("chro"). The second is the writer's backend pid, so writers
never contend for one lock entry; in ``pg_locks`` it shows as ``classid``, ``objid`` (the pid)
and ``objsubid = 2`` (the two-key form)."""

WRITER_LOCK = f"pg_advisory_xact_lock_shared({WRITER_LOCK_CLASS}, pg_backend_pid())"
"""The writer lock for one transaction (``chronicle_append`` takes it before its insert)."""

WRITER_SESSION_LOCK = f"SELECT pg_advisory_lock_shared({WRITER_LOCK_CLASS}, pg_backend_pid())"
"""The writer lock for a whole session: what Chronicle's pool takes on every new connection."""

HORIZON = f"""
WITH snapshot AS (SELECT pg_current_snapshot() AS s),
running AS (
    SELECT x, (x::text::bigint % 4294967296) AS low
      FROM snapshot, pg_snapshot_xip(snapshot.s) AS x
),
holders AS MATERIALIZED (
    SELECT pid,
           bool_or(locktype = 'advisory') AS writer,
           array_agg(transactionid::text::bigint)
               FILTER (WHERE locktype = 'transactionid') AS ids
      FROM pg_locks
     WHERE granted
       AND ((locktype = 'advisory' AND classid = {WRITER_LOCK_CLASS} AND objsubid = 2
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))
            OR (locktype = 'transactionid' AND mode = 'ExclusiveLock'))
     GROUP BY pid
)
SELECT least(
    (SELECT pg_snapshot_xmax(s) FROM snapshot),
    (SELECT min(r.x) FROM running r JOIN holders h ON h.writer AND r.low = ANY (h.ids)),
    (SELECT min(r.x) FROM running r
      WHERE EXISTS (SELECT 1 FROM holders WHERE writer AND ids IS NULL)
        AND NOT EXISTS (SELECT 1 FROM holders h WHERE r.low = ANY (h.ids)))
)::text
"""
"""One value: the transaction id (as text) below which every event-writing transaction has
ended. See the module's docstring for the rule and its proof."""
