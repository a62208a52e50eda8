"""The life of old events: ``chronicle compress`` and ``chronicle retention``."""

from __future__ import annotations

from datetime import UTC, datetime

import typer

from chronicle.cli.app import (
    JsonOption,
    StoreOption,
    command,
    console,
    fail,
    print_json,
    progress_bar,
    settings_for,
    store_for,
)
from chronicle.compression import CompressionReport, Compressor
from chronicle.retention.run import InstantAheadError, RetentionReport

NowOption = typer.Option(
    None,
    "--now",
    help="Act as if it were this instant (ISO-8601; UTC when no offset is given), e.g. to see "
    "what a later run will do. Default: the current time.",
    show_default=False,
)
DryRunOption = typer.Option(
    False, "--dry-run", help="Say what would be done, and change nothing in the store."
)


def parse_instant(value: str | None) -> datetime | None:
    """``--now``'s value as an aware datetime; a clear error (exit 2) when it is not ISO-8601."""
    if value is None:
        return None
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        fail(f"--now {value!r} is not an ISO-8601 instant (like 2027-06-30T12:00:00Z)", code=2)
        raise
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=UTC)


@command("compress")
def compress(
    store_url: str | None = StoreOption,
    now: str | None = NowOption,
    dry_run: bool = DryRunOption,
    as_json: bool = JsonOption,
) -> None:
    """Re-encode the payloads of events older than CHRONICLE_COMPRESS_AFTER_DAYS (default 7)
    with CHRONICLE_COMPRESSION (zstd with a dictionary trained on this store's events, or gzip).

    Content and hashes stay as they are: every read decodes transparently and chronicle verify
    passes before and after. The worker does the same every few minutes when
    EVENT_STORE_COMPRESSION_ENABLED is true; this runs it once, whatever that setting says.
    """
    instant = parse_instant(now)
    settings = settings_for(store_url)
    with store_for(store_url) as store:
        if not store.capabilities.compression:
            fail(f"the {store.backend} store keeps no stored bytes to compress", code=2)
        compressor = Compressor(
            store, codec=settings.compression, after_days=settings.compress_after_days
        )
        with progress_bar("compressing", None, shown=not as_json) as advance:
            report = compressor.run(instant, dry_run=dry_run, progress=advance)
    if as_json:
        print_json(report.to_dict())
        return
    _print(report)


ForceOption = typer.Option(
    False, "--force", help="Accept a --now more than a day ahead of this machine's clock."
)


@command("retention")
def retention(
    store_url: str | None = StoreOption,
    now: str | None = NowOption,
    dry_run: bool = DryRunOption,
    force: bool = ForceOption,
    as_json: bool = JsonOption,
) -> None:
    """Move events older than EVENT_STORE_RETENTION_DAYS (default 365; 0 keeps everything) out
    of the store into verified archive segments in CHRONICLE_ARCHIVE_DIR.

    The log is sealed first; the segments are written and read back, each aggregate that loses
    events gets a snapshot, and a receipt (signed with CHRONICLE_SIGNING_KEY when set) is
    recorded in the log before anything is removed. Legal holds (chronicle hold) keep what they
    name. chronicle verify passes afterwards; chronicle archive verify checks the archive. The
    worker runs this daily.
    """
    from chronicle.chat.wiring import retention_for

    instant = parse_instant(now)
    settings = settings_for(store_url)
    with store_for(store_url) as store:
        if not store.capabilities.retention:
            fail(f"the {store.backend} store keeps nothing to archive", code=2)
        run = retention_for(store, settings, seal=not dry_run)
        try:
            with progress_bar("removing archived events", None, shown=not as_json) as advance:
                report = run.run(instant, dry_run=dry_run, force=force, progress=advance)
        except InstantAheadError as exc:
            fail(str(exc), code=2)
    if as_json:
        print_json(report.to_dict())
        return
    _print_retention(report)


def _print_retention(report: RetentionReport) -> None:
    if report.resumed is not None:
        console.print(f"completed the interrupted run of receipt {report.resumed}", highlight=False)
    if report.cutoff is None or (report.archived == 0 and report.released == 0):
        why = report.waiting or (
            f"no sealed event is older than {report.cutoff:%Y-%m-%d %H:%M} UTC"
            if report.cutoff is not None
            else "nothing to do"
        )
        console.print(f"nothing to archive: {why}", highlight=False)
        return
    verb = "would archive" if report.dry_run else "archived"
    console.print(
        f"{verb} {report.archived} events older than {report.cutoff:%Y-%m-%d %H:%M} UTC: "
        f"{report.removed} removed from the store, {report.held} kept by legal holds or as "
        f"receipts, {report.aggregates} aggregates"
        + ("" if report.dry_run else f", {report.snapshots} snapshots written"),
        highlight=False,
    )
    if not report.dry_run:
        console.print(f"receipt {report.receipt}: {', '.join(report.segments)}", highlight=False)


def _print(report: CompressionReport) -> None:
    verb = "would compress" if report.dry_run else "compressed"
    if report.events == 0:
        console.print(
            f"nothing to compress: no event older than {report.cutoff:%Y-%m-%d %H:%M} UTC is "
            "stored raw" + (f" ({report.waiting})" if report.waiting else ""),
            highlight=False,
        )
        return
    console.print(
        f"{verb} {report.events} events with {report.codec}: "
        f"{report.bytes_before:,} → {report.bytes_after:,} bytes "
        f"({report.ratio or 1.0:.2f}x smaller)",
        highlight=False,
    )
    for number in report.dictionaries_trained:
        state = "trained (not kept: dry run)" if report.dry_run else "trained and kept"
        console.print(f"dictionary {number} {state}", highlight=False)
