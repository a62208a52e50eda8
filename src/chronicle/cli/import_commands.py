"""``chronicle import``: history recorded elsewhere, appended with its timestamps and ids."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import typer

from chronicle.cli.app import (
    JsonOption,
    StoreOption,
    command,
    console,
    fail,
    print_json,
    progress_bar,
    store_for,
)
from chronicle.importing import (
    ImportConflictError,
    ImportedEvent,
    ImportInputError,
    ImportReport,
    ImportSourceError,
    import_history,
    read_ndjson,
    read_seed_table,
)


@command("import")
def import_events(
    file: Path | None = typer.Argument(
        None,
        exists=True,
        dir_okay=False,
        metavar="FILE",
        show_default=False,
        help="NDJSON as GET /audit/export?format=ndjson writes it (one event per line).",
    ),
    from_seed_table: str | None = typer.Option(
        None,
        "--from-seed-table",
        metavar="URL",
        help="Read the seed sketch's event_store table instead, from postgresql://… or "
        "sqlite:///path (in id order).",
        show_default=False,
    ),
    store_url: str | None = StoreOption,
    as_json: bool = JsonOption,
) -> None:
    """Append events recorded elsewhere, keeping their timestamps, ids, users and versions.

    Each batch goes through the normal append path: expected versions, size limits, hashes.

    The whole source is checked first: a bad line exits 2 naming it, and nothing is imported.

    Events already stored are skipped, so a rerun imports only what is missing. Another event at
    a stored version, a gap in an aggregate's versions, or a recorded hash its content does not
    chain to exits 1; what was imported before it stays.

    Read models include imported events after chronicle replay.
    """
    if (file is None) == (from_seed_table is None):
        fail("give either FILE or --from-seed-table URL (one source)", code=2)
    source: Callable[[], Iterator[ImportedEvent]]
    if file is not None:
        path = file
        source, label = (lambda: read_ndjson(path)), str(path)
    else:
        url = str(from_seed_table)
        source, label = (lambda: read_seed_table(url)), "the seed's event_store table"
    total = _checked(source)
    report = ImportReport()
    with store_for(store_url) as store:
        try:
            with progress_bar("importing", total, shown=not as_json) as advance:
                import_history(store, source(), progress=advance, report=report)
        except (ImportInputError, ImportConflictError, ImportSourceError) as exc:
            fail(f"{exc} ({_done(report)} before it; a rerun skips them)", code=_code(exc))
        if report.imported:  # a bulk load: plan the audit queries with statistics that know it
            store.refresh_statistics()
    if as_json:
        print_json({"source": label, **report.to_dict()})
        return
    console.print(
        f"{_done(report)} from {label}: {report.events} events read in "
        f"{report.aggregates} aggregates",
        highlight=False,
    )
    if report.imported:
        console.print("read models include them after `chronicle replay`", highlight=False)


def _checked(source: Callable[[], Iterator[ImportedEvent]]) -> int:
    """Read the whole source once before anything is written: its size, or exit 2 (a bad line)
    or 1 (an unreadable source)."""
    try:
        return sum(1 for _ in source())
    except (ImportInputError, ImportSourceError) as exc:
        fail(str(exc), code=_code(exc))
        raise AssertionError from exc  # fail() exits


def _code(exc: Exception) -> int:
    return 2 if isinstance(exc, ImportInputError) else 1


def _done(report: ImportReport) -> str:
    return f"imported {report.imported} events in {report.batches} batches ({report.already_stored} already stored)"
