"""Reading Chronicle's NDJSON export: one event per line, streamed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson

from .entries import ImportedEvent, entry_from_export
from .errors import ImportInputError, ImportSourceError


def read_ndjson(path: Path) -> Iterator[ImportedEvent]:
    """The events of an NDJSON file, one line at a time (constant memory however long it is).

    Blank lines are skipped; a line that is not an event raises ``ImportInputError`` naming its
    line number (counted from 1).
    """
    try:
        file = path.open("rb")
    except OSError as exc:
        raise ImportSourceError(f"cannot read {path}: {exc.strerror or exc}") from exc
    with file:
        for number, line in enumerate(file, start=1):
            if not line.strip():
                continue
            where = f"line {number}"
            try:
                document = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise ImportInputError(f"{where}: not JSON ({exc})") from None
            yield entry_from_export(document, where)
