"""Integrity commands: ``chronicle verify`` and ``chronicle seal``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from chronicle.bootstrap import sealer_for, signing_key_from
from chronicle.cli.app import (
    JsonOption,
    StoreOption,
    command,
    console,
    console_err,
    fail,
    print_json,
    store_for,
)
from chronicle.config import get_settings
from chronicle.errors import ConfigurationError, EvidenceFileError
from chronicle.integrity import Verifier, read_evidence, write_evidence
from chronicle.integrity.report import VerificationReport
from chronicle.integrity.signing import new_signing_key_text, parse_public_key, public_key_text
from chronicle.store.records import Seal

AgainstOption = typer.Option(
    None,
    "--against",
    help="An exported seal (chronicle seal --export): report a rollback or fork against it.",
    exists=True,
    dir_okay=False,
)
ExportOption = typer.Option(
    None,
    "--export",
    help="Also write the latest seal to FILE: evidence to keep outside the database.",
    dir_okay=False,
)
_PROGRESS_FROM = 20_000  # events: below this a run is quick and a bar would only flicker


@command("verify")
def verify(
    store_url: str | None = StoreOption,
    since_checkpoint: int | None = typer.Option(
        None,
        "--since-checkpoint",
        min=1,
        help="Check only what follows seal N (trusting the log up to it).",
    ),
    against: Path | None = AgainstOption,
    public_key: str | None = typer.Option(
        None,
        "--public-key",
        help="Trusted base64 Ed25519 public key; default: the half of CHRONICLE_SIGNING_KEY.",
    ),
    show_key: bool = typer.Option(
        False, "--show-key", help="Print the public key seals are signed with, and stop."
    ),
    as_json: bool = JsonOption,
) -> None:
    """Check every event's hash chain and every seal; exit 0 when intact, 1 naming the first problem.

    Problems found: content_changed, event_missing, event_inserted, order_changed,
    checkpoint_signature_invalid, checkpoint_missing, and with --against: rollback, fork.
    """
    try:
        key = signing_key_from(get_settings())
        trusted = parse_public_key(public_key, "--public-key") if public_key else None
    except ConfigurationError as exc:
        fail(str(exc), code=2)
    if show_key:
        if key is None:
            fail("CHRONICLE_SIGNING_KEY is not set: seals are not signed", code=2)
            return
        console.print(public_key_text(key.public), highlight=False)
        return
    try:
        evidence = read_evidence(against) if against is not None else None
    except EvidenceFileError as exc:
        fail(str(exc), code=2)
    trusted = trusted or (key.public if key else None)
    with store_for(store_url) as store:
        verifier = Verifier(store, public_key=trusted)
        total = store.get_event_count()
        if total < _PROGRESS_FROM or as_json:
            report = verifier.verify(since_seal=since_checkpoint, against=evidence)
        else:
            with Progress(
                TextColumn("verifying"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=console_err,
                transient=True,
            ) as bar:
                task = bar.add_task("verify", total=total)
                report = verifier.verify(
                    since_seal=since_checkpoint,
                    against=evidence,
                    progress=lambda done: bar.advance(task, done),
                )
    if as_json:
        print_json(report.to_dict())
    else:
        _print_report(report)
    if not report.intact:
        raise typer.Exit(1)


def _print_report(report: VerificationReport) -> None:
    scope = f" after seal {report.since_seal}" if report.since_seal else ""
    console.print(
        f"checked {report.events_checked} events{scope} in {report.aggregates} aggregates "
        f"and {report.seals_checked} seals (latest seal: {report.latest_seal or '-'}, "
        f"{report.unsealed_events} events not sealed yet)",
        highlight=False,
    )
    if report.public_key is None:
        console.print("no trusted public key: seal signatures checked against their own key")
    first = report.first_problem
    if first is None:
        console.print("[bold green]intact[/]")
        return
    console.print(
        f"[bold red]TAMPERED[/]: {len(report.problems)} problem(s); the first: "
        f"[bold]{first.kind}[/]",
        highlight=False,
    )
    for problem in report.problems[:20]:
        where = []
        if problem.aggregate_id is not None:
            where.append(f"{problem.aggregate_id} v{problem.version}")
        if problem.position is not None:
            where.append(f"position {problem.position}")
        if problem.seal is not None:
            where.append(f"seal {problem.seal}")
        console.print(f"  {problem.kind} ({', '.join(where)}): {problem.message}", highlight=False)
    if len(report.problems) > 20:
        console.print(f"  … and {len(report.problems) - 20} more (use --json to see all)")


@command("seal")
def seal(
    store_url: str | None = StoreOption,
    export: Path | None = ExportOption,
    new_key: bool = typer.Option(
        False,
        "--new-key",
        help="Print a fresh private key for CHRONICLE_SIGNING_KEY, and stop.",
    ),
    as_json: bool = JsonOption,
) -> None:
    """Seal every event committed since the latest seal (what the worker does continuously)."""
    if new_key:
        console.print(new_signing_key_text(), highlight=False)
        return
    try:
        settings = get_settings()
        sealer_check = signing_key_from(settings)
    except ConfigurationError as exc:
        fail(str(exc), code=2)
    with store_for(store_url) as store:
        new = sealer_for(store, settings).run_once()
        latest = store.latest_seal()
    if export is not None and latest is None:
        fail("the store holds no events, so there is no seal to export")
        return
    if export is not None and latest is not None:
        write_evidence(latest, export)
    if as_json:
        print_json(
            {
                "recorded": [_seal_dict(one) for one in new],
                "latest": _seal_dict(latest) if latest is not None else None,
                "signed": sealer_check is not None,
                "exported_to": str(export) if export is not None else None,
            }
        )
        return
    signed = "signed" if sealer_check is not None else "unsigned (CHRONICLE_SIGNING_KEY not set)"
    if new:
        console.print(
            f"recorded {len(new)} seal(s), {signed}; latest: seal {new[-1].number} covering "
            f"{new[-1].event_count} events up to position {new[-1].position}",
            highlight=False,
        )
    else:
        console.print("nothing new to seal", highlight=False)
    if export is not None and latest is not None:
        console.print(f"exported seal {latest.number} to {export}", highlight=False)
        if latest.signature is None:
            console_err.print("warning: the exported seal is unsigned", highlight=False)


def _seal_dict(one: Seal) -> dict[str, object]:
    return {
        "number": one.number,
        "position": one.position,
        "event_count": one.event_count,
        "sealed_at": one.sealed_at.isoformat(),
        "signed": one.signature is not None,
    }


__all__ = ["seal", "verify"]
