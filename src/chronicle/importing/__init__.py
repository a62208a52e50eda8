"""Importing history recorded elsewhere into the store, with its timestamps, ids and versions.

Sources: Chronicle's own NDJSON export (``GET /audit/export?format=ndjson``, :func:`read_ndjson`)
and the ``event_store`` table of a system built on the seed's sketch (:func:`read_seed_table`).
Each yields :class:`ImportedEvent` entries; :func:`import_history` appends them through the
store's normal append path (``import_events``), skipping what is already stored.
"""

from __future__ import annotations

from .entries import ImportedEvent, entry_from_export
from .errors import ImportConflictError, ImportInputError, ImportSourceError
from .importer import ImportReport, import_history
from .ndjson import read_ndjson
from .seed_table import read_seed_table

__all__ = [
    "ImportConflictError",
    "ImportInputError",
    "ImportReport",
    "ImportSourceError",
    "ImportedEvent",
    "entry_from_export",
    "import_history",
    "read_ndjson",
    "read_seed_table",
]
