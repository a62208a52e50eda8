"""What can stop an import, by what the operator must do about it."""

from __future__ import annotations

from chronicle.errors import ChronicleError, InvalidEventError


class ImportInputError(InvalidEventError):
    """A line or row of the source cannot be imported; the message names it. Nothing of that
    line or row was stored. The CLI exits 2."""


class ImportConflictError(ChronicleError):
    """The store holds another history for an aggregate than the source (another event at a
    version, a missing earlier version, a hash the content does not chain to). Nothing of the
    batch named was stored; batches before it stay. The CLI exits 1."""


class ImportSourceError(ChronicleError):
    """The source database cannot be reached or read. The CLI exits 1."""
