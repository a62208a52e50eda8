"""``chronicle archive``: check the retention archive offline, and read archived events."""

from __future__ import annotations

import sys
from pathlib import Path

import orjson
import typer
from rich.table import Table

from chronicle.bootstrap import archive_root, trusted_keys_from
from chronicle.cli.app import (
    JsonOption,
    StoreOption,
    app,
    console,
    console_err,
    fail,
    print_json,
    settings_for,
    store_for,
)
from chronicle.config import EventConfig
from chronicle.errors import ConfigurationError, EvidenceFileError
from chronicle.events import RecordedEvent
from chronicle.integrity.keys import TrustedKeys, parse_trusted_keys
from chronicle.integrity.seals import read_seal_folder
from chronicle.retention.archive import ArchiveError
from chronicle.retention.archive_check import ArchiveReport, archived_history, verify_archive
from chronicle.store.records import Seal

archive_app = typer.Typer(
    help="The retention archive: verify it offline, read the events it holds.",
    no_args_is_help=True,
)
app.add_typer(archive_app, name="archive")

DirArgument = typer.Argument(
    None,
    help="The archive folder. Default: CHRONICLE_ARCHIVE_DIR, or archive/ beside the SQLite "
    "file (./data/archive for a PostgreSQL store).",
    show_default=False,
)


def archive_folder(given: Path | None, settings: EventConfig) -> Path:
    """The folder a command reads: ``given``, or the configured archive folder."""
    return given if given is not None else archive_root(settings)[0]


def existing_folder(given: Path | None, store_url: str | None) -> tuple[Path, EventConfig]:
    """The archive folder and the settings; exit 2 when the folder does not exist."""
    try:
        settings = settings_for(store_url)
        root = archive_folder(given, settings)
    except ConfigurationError as exc:
        fail(str(exc), code=2)
        raise
    if not root.is_dir():
        fail(
            f"the archive folder {root} does not exist: give DIR, or set CHRONICLE_ARCHIVE_DIR "
            "to the folder chronicle retention writes",
            code=2,
        )
    return root, settings


@archive_app.command("verify")
def verify(
    directory: Path | None = DirArgument,
    with_store: bool = typer.Option(
        False,
        "--with-store",
        help="Also compare each receipt with the RetentionApplied event, the cut row and the "
        "Merkle tree the store records (EVENT_STORE_URL, or --store-url).",
    ),
    store_url: str | None = StoreOption,
    public_key: list[str] | None = typer.Option(
        None,
        "--public-key",
        help="A trusted key, KEY_ID:BASE64; repeatable. Default: CHRONICLE_TRUSTED_KEYS.",
    ),
    seal_dir: Path | None = typer.Option(
        None,
        "--seal-dir",
        help="Seals kept outside the database, compared with the archive where it reaches "
        "their tree size; default CHRONICLE_SEAL_DIR.",
        file_okay=False,
    ),
    as_json: bool = JsonOption,
) -> None:
    """Check the archive folder with nothing but its files: every manifest, signature and
    segment, then each event's hash, the log chain and the Merkle root from the first archived
    event to each receipt's cut.

    Exit 0 when intact, 1 naming each file that is wrong, 2 on bad input (no such folder).
    """
    root, settings = existing_folder(directory, store_url)
    trusted, evidence = _keys_and_seals(settings, public_key, seal_dir)
    if with_store:
        with store_for(store_url) as store:
            if not store.capabilities.retention:
                fail(f"the {store.backend} store keeps no retention receipts", code=2)
            report = verify_archive(root, trusted_keys=trusted, store=store, evidence=evidence)
    else:
        try:
            report = verify_archive(root, trusted_keys=trusted, evidence=evidence)
        except ArchiveError as exc:
            fail(str(exc), code=2)
            raise
    if as_json:
        print_json(report.to_dict())
    else:
        _print_report(report)
    if not report.intact:
        raise typer.Exit(1)


def _keys_and_seals(
    settings: EventConfig, public_key: list[str] | None, seal_dir: Path | None
) -> tuple[TrustedKeys, list[Seal]]:
    try:
        trusted = trusted_keys_from(settings)
        if public_key:
            trusted = parse_trusted_keys(",".join(public_key), "--public-key")
        folder = seal_dir or (Path(settings.seal_dir) if settings.seal_dir else None)
        return trusted, read_seal_folder(folder) if folder is not None else []
    except (ConfigurationError, EvidenceFileError) as exc:
        fail(str(exc), code=2)
        raise


def _print_report(report: ArchiveReport) -> None:
    against = " and the store" if report.with_store else ""
    seals = ""
    if report.evidence_seals:
        seals = f", {report.evidence_seals} seal(s) kept outside the database"
    console.print(
        f"checked {report.receipts} receipt(s), {report.segments} segment(s) and "
        f"{report.events} archived events ({report.held} kept in the store too when archived) of "
        f"{report.root}{against}{seals}; the archive covers the first {report.tree_size} "
        "events of the log",
        highlight=False,
    )
    for warning in report.warnings:
        console_err.print(f"warning: {warning}", highlight=False)
    if report.intact:
        console.print("[bold green]intact[/]")
        return
    console.print(f"[bold red]DAMAGED[/]: {len(report.problems)} problem(s)", highlight=False)
    for problem in report.problems[:50]:
        console.print(f"  {problem.kind}: {problem.message}", highlight=False)
    if len(report.problems) > 50:
        console.print(f"  … and {len(report.problems) - 50} more (use --json to see all)")


@archive_app.command("read")
def read(
    aggregate_id: str = typer.Argument(..., help="The aggregate's id, e.g. message_3f2a…"),
    directory: Path | None = DirArgument,
    as_json: bool = typer.Option(
        False, "--json", help="Print one JSON object per event (NDJSON) instead of a table."
    ),
) -> None:
    """The archived events of an aggregate, oldest first (chronicle history --include-archive
    shows them with the store's).

    Exit 1 when the archive holds no event of AGGREGATE_ID, or a segment is damaged; 2 when the
    folder does not exist.
    """
    root, _ = existing_folder(directory, None)
    try:
        events = archived_history(root, aggregate_id)
    except ArchiveError as exc:
        fail(f"{exc}", code=1)
        raise
    if not events:
        fail(f"the archive {root} holds no event of {aggregate_id!r}")
    if as_json:
        for event in events:
            sys.stdout.write(orjson.dumps(event.to_dict()).decode() + "\n")
        return
    _print_events(aggregate_id, root, events)


def _print_events(aggregate_id: str, root: Path, events: list[RecordedEvent]) -> None:
    table = Table(title=f"archived events of {aggregate_id} ({root})", title_justify="left")
    for column in ("version", "position", "when (UTC)", "who", "event", "data"):
        table.add_column(column, justify="right" if column in ("version", "position") else "left")
    for event in events:
        data = orjson.dumps(event.data).decode()
        table.add_row(
            str(event.version),
            str(event.position),
            event.timestamp.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3],
            event.user_id or "-",
            event.event_type,
            data if len(data) <= 80 else data[:79] + "…",
        )
    console.print(table)


__all__ = ["archive_app", "archive_folder"]
