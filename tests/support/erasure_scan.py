"""Byte scans for what an erasure must leave nowhere: files as they lie on disk (and, for zstd
segments, as they decompress), and a PostgreSQL ``pg_dump`` of chosen schemas.

A finding names the place, the needle and its offset, with the bytes around it, so a failing
test says exactly which file still holds which string.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import zstandard

_CONTEXT = 40


@dataclass(frozen=True)
class Finding:
    where: str
    name: str
    needle: bytes
    offset: int
    around: bytes

    def __str__(self) -> str:
        shown = self.needle.decode("ascii", errors="replace")
        if not shown.isprintable():
            shown = f"bytes {self.needle[:16].hex()}…"
            return f"{self.where} holds {self.name} ({shown}) at byte {self.offset}"
        return f"{self.where} holds {self.name} ({shown}) at byte {self.offset}: …{self.around!r}…"


def find_in(where: str, content: bytes, needles: Mapping[str, bytes]) -> list[Finding]:
    """Every needle found in ``content`` (the first place of each)."""
    found = []
    for name, needle in needles.items():
        offset = content.find(needle)
        if offset >= 0:
            around = content[max(0, offset - _CONTEXT) : offset + len(needle) + _CONTEXT]
            found.append(Finding(where, name, needle, offset, around))
    return found


def decompressed(path: Path) -> bytes:
    """A zstd file's content (frames without a content size too)."""
    with path.open("rb") as raw, zstandard.ZstdDecompressor().stream_reader(raw) as reader:
        return reader.read()


def file_views(paths: Iterable[Path]) -> dict[str, bytes]:
    """Each existing file's bytes, by path; a ``.zst`` file also as it decompresses."""
    views: dict[str, bytes] = {}
    for path in paths:
        if not path.is_file():
            continue
        views[str(path)] = path.read_bytes()
        if path.name.endswith(".zst"):
            views[f"{path} (decompressed)"] = decompressed(path)
    return views


def folder_views(root: Path) -> dict[str, bytes]:
    """Every file under ``root``, as :func:`file_views` reads it."""
    return file_views(sorted(path for path in root.rglob("*") if path.is_file()))


def pg_dump(url: str, schemas: Iterable[str]) -> bytes:
    """``pg_dump`` (plain SQL, data included) of ``schemas`` of the database of ``url``."""
    parts = urlsplit(url)
    executable = shutil.which("pg_dump") or "/usr/bin/pg_dump"
    command = [
        executable,
        "--host", parts.hostname or "127.0.0.1",
        "--port", str(parts.port or 5432),
        "--username", parts.username or "postgres",
        "--no-password",
        *(f"--schema={schema}" for schema in schemas),
        parts.path.lstrip("/") or "postgres",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return done.stdout


def pg_data_files(url: str, schemas: list[str]) -> dict[str, bytes] | None:
    """The files the PostgreSQL server keeps for every table, index and TOAST table of
    ``schemas`` (what a disk image or ``pg_basebackup`` copies), after a ``CHECKPOINT``; None
    when this process may not checkpoint or read the server's data directory."""
    query = """
        SELECT n.nspname || '.' || c.relname, pg_relation_filepath(c.oid)
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = ANY(%(schemas)s) AND pg_relation_filepath(c.oid) IS NOT NULL
        UNION ALL
        SELECT n.nspname || '.' || c.relname || ' (TOAST)', pg_relation_filepath(c.reltoastrelid)
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = ANY(%(schemas)s) AND c.reltoastrelid <> 0
    """
    try:
        with psycopg.connect(url.split("?", 1)[0], autocommit=True) as conn:
            conn.execute("CHECKPOINT")
            row = conn.execute("SHOW data_directory").fetchone()
            relations = conn.execute(query, {"schemas": schemas}).fetchall()
    except psycopg.Error:
        return None
    assert row is not None
    root = Path(row[0])
    views: dict[str, bytes] = {}
    try:
        for name, relative in relations:
            for path in sorted(root.glob(f"{relative}*")):  # segments .1, .2 and _fsm, _vm
                views[f"{name} ({path})"] = path.read_bytes()
    except PermissionError:
        return None
    return views if views else None


def scan(views: Mapping[str, bytes], needles: Mapping[str, bytes]) -> list[Finding]:
    """Every needle found in every view."""
    return [
        finding for where, content in views.items() for finding in find_in(where, content, needles)
    ]


def report(findings: list[Finding]) -> str:
    return "\n".join(str(finding) for finding in findings) or "nothing found"


__all__ = [
    "Finding",
    "decompressed",
    "file_views",
    "find_in",
    "folder_views",
    "pg_data_files",
    "pg_dump",
    "report",
    "scan",
]
