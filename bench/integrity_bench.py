"""Append throughput with integrity hashing on and off, and verification throughput.

Run on demand (never in the test suite):

    .venv/bin/python bench/integrity_bench.py [--events 4000] [--postgres URL] [--integrity-only]

It also measures the sealer while 8 writers append (events sealed per second, with the
sealer's default 1 s interval) and ``Verifier`` over a sealed log. Only the library's public API
is used, so the same file measures an older tree (``PYTHONPATH=<old tree>/src``) side by side.

"Off" is a bench-only variant: the content digest is replaced by a constant and the chain step
by a copy (on PostgreSQL, in a copy of ``chronicle_append`` in the bench's own schema), so the
difference is the cost of hashing alone. One event per append, as a chat service writes.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

import orjson
import psycopg

from chronicle import NewEvent
from chronicle.bootstrap import open_store
from chronicle.config import load_settings
from chronicle.integrity import Sealer, Verifier
from chronicle.integrity.signing import load_signing_key, new_signing_key_text
from chronicle.store import prepare, sqlite

PAYLOAD = {"content": "x" * 200, "username": "alice", "type": "text"}
_CHAIN_SQL = "sha256(v_previous || int8send(v_current + i) || p_digests[i])"


@contextmanager
def hashing_off(store: object) -> Iterator[None]:
    digest, chain = prepare.content_digest, sqlite.chain
    prepare.content_digest = lambda **_: bytes(32)  # type: ignore[assignment]
    sqlite.chain = lambda previous, version, digest: digest  # type: ignore[assignment]
    if getattr(store, "backend", "") == "postgresql":
        (source,) = store.execute_raw(  # type: ignore[attr-defined]
            "SELECT pg_get_functiondef('chronicle_append'::regproc)"
        )[0]
        assert _CHAIN_SQL in source
        with psycopg.connect(store.url, autocommit=True) as conn:  # type: ignore[attr-defined]
            conn.execute(source.replace(_CHAIN_SQL, "p_digests[i]").encode())
    try:
        yield
    finally:
        prepare.content_digest, sqlite.chain = digest, chain


def append_rate(store: object, writers: int, events: int) -> float:
    per_writer = events // writers

    def write(worker: int) -> None:
        for n in range(per_writer):
            store.append(  # type: ignore[attr-defined]
                f"message_{worker}_{n}_{uuid.uuid4().hex[:6]}",
                [NewEvent("MessageCreated", {**PAYLOAD, "n": n}, {"correlation_id": "c"})],
                expected_version=0,
                aggregate_type="Message",
            )

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return per_writer * writers / (time.perf_counter() - started)


def seal_under_load(store: object, writers: int, events: int) -> tuple[float, float]:
    """Events sealed per second while ``writers`` append ``events``, and the seconds from the last
    commit until everything was sealed."""
    stop = threading.Event()
    sealer = Sealer(store)  # type: ignore[arg-type]
    thread = threading.Thread(target=sealer.follow, args=(stop, 1.0))
    started = time.perf_counter()
    thread.start()
    append_rate(store, writers, events)
    written = time.perf_counter()
    total = store.get_event_count()  # type: ignore[attr-defined]
    while True:
        latest = store.latest_seal()  # type: ignore[attr-defined]
        if latest is not None and latest.event_count >= total:
            break
        time.sleep(0.02)
    done = time.perf_counter()
    stop.set()
    thread.join()
    return total / (done - started), done - written


def proof_figures(store: object, key: object) -> str:
    """Size and time of inclusion proofs for 100 events spread over the log, and their check."""
    from chronicle.integrity.keys import key_id
    from chronicle.integrity.proofs import check_proof, inclusion_proof_document

    total = store.get_event_count()  # type: ignore[attr-defined]
    first = store.read_all(limit=1)[0].position  # type: ignore[attr-defined]
    step = max(1, total // 100)
    chosen = [
        store.read_all(after=first - 1 + n, limit=1)[0]  # type: ignore[attr-defined]
        for n in range(0, total, step)
    ][:100]
    trusted = {key_id(key.public): key.public}  # type: ignore[attr-defined]
    built, checked, sizes, hashes = 0.0, 0.0, [], []
    for event in chosen:
        started = time.perf_counter()
        document = inclusion_proof_document(store, event.event_id)  # type: ignore[arg-type]
        built += time.perf_counter() - started
        started = time.perf_counter()
        assert check_proof(document, trusted).valid
        checked += time.perf_counter() - started
        sizes.append(len(orjson.dumps(document)))
        hashes.append(len(document["audit_path"]))
    return (
        f"proof over {total:,} events: {max(hashes)} hashes, {max(sizes):,} bytes of JSON; "
        f"built in {built / len(chosen) * 1000:.2f} ms, checked offline in "
        f"{checked / len(chosen) * 1000:.2f} ms (mean of {len(chosen)})"
    )


def fresh_url(backend: str, postgres: str, directory: str) -> tuple[str, str | None]:
    if backend == "sqlite":
        return f"sqlite:///{directory}/{uuid.uuid4().hex}.db", None
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in postgres else "?"
    return f"{postgres}{separator}options={quote(f'-csearch_path={schema}')}", schema


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=4000)
    parser.add_argument("--verify-events", type=int, default=100_000)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--integrity-only", action="store_true", help="skip the append figures")
    parser.add_argument(
        "--backends", default="sqlite,postgresql", help="comma-separated (default: both)"
    )
    parser.add_argument("--proofs", action="store_true", help="also measure inclusion proofs")
    args = parser.parse_args()
    proofs = proof_figures if args.proofs else None
    settings = load_settings(sqlite_synchronous="NORMAL", pg_pool_max=10)
    with tempfile.TemporaryDirectory() as directory:
        for backend in args.backends.split(","):
            url, schema = fresh_url(backend, args.postgres, directory)
            store = open_store(url, settings=settings)
            try:
                rate, tail = seal_under_load(store, 8, args.events)
                print(
                    f"{backend:10} seal while 8 writers append {args.events:,} events: "
                    f"{rate:,.0f} events/s sealed, all sealed {tail:.2f}s after the last commit",
                    flush=True,
                )
            finally:
                store.close()
                _drop(args.postgres, schema)
            for writers in () if args.integrity_only else (1, 8):
                rates = {}
                for mode in ("on", "off"):
                    url, schema = fresh_url(backend, args.postgres, directory)
                    store = open_store(url, settings=settings)
                    try:
                        if mode == "off":
                            with hashing_off(store):
                                rates[mode] = append_rate(store, writers, args.events)
                        else:
                            rates[mode] = append_rate(store, writers, args.events)
                    finally:
                        store.close()
                        _drop(args.postgres, schema)
                print(
                    f"{backend:10} append, {writers} writer(s), 1 event/append: hashing on "
                    f"{rates['on']:8,.0f}/s, off {rates['off']:8,.0f}/s "
                    f"({rates['on'] / rates['off']:.0%})",
                    flush=True,
                )
            url, schema = fresh_url(backend, args.postgres, directory)
            store = open_store(url, settings=settings)
            try:
                for batch in range(args.verify_events // 1000):
                    store.append(
                        f"message_{batch}",
                        [NewEvent("MessageCreated", {**PAYLOAD, "n": n}) for n in range(1000)],
                        expected_version=0,
                        aggregate_type="Message",
                    )
                key = load_signing_key(new_signing_key_text())
                started = time.perf_counter()
                Sealer(store, key=key).run_once()
                sealed = time.perf_counter() - started
                started = time.perf_counter()
                report = Verifier(store).verify()
                elapsed = time.perf_counter() - started
                print(
                    f"{backend:10} verify {report.events_checked:,} events: "
                    f"{report.events_checked / elapsed:,.0f} events/s (intact={report.intact}); "
                    f"seal: {report.events_checked / sealed:,.0f} events/s",
                    flush=True,
                )
                if proofs is not None:
                    print(f"{backend:10} {proofs(store, key)}", flush=True)
            finally:
                store.close()
                _drop(args.postgres, schema)


def _drop(postgres: str, schema: str | None) -> None:
    if schema is not None:
        with psycopg.connect(postgres, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


if __name__ == "__main__":
    main()
