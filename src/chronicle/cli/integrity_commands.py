"""Integrity commands: ``chronicle verify`` and ``chronicle seal``."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from chronicle.bootstrap import sealer_for, signing_key_from, trusted_keys_from
from chronicle.chat.wiring import audit_checks, snapshot_replay
from chronicle.cli.app import (
    JsonOption,
    StoreOption,
    command,
    console,
    console_err,
    fail,
    print_json,
    progress_bar,
    store_for,
)
from chronicle.config import EventConfig, get_settings
from chronicle.errors import ConfigurationError, EvidenceFileError, SealRefusedError
from chronicle.integrity import Verifier, read_evidence, write_evidence
from chronicle.integrity.attestation import SnapshotAttestor
from chronicle.integrity.keys import key_entry, parse_trusted_keys
from chronicle.integrity.report import VerificationReport
from chronicle.integrity.seals import read_seal_folder
from chronicle.integrity.signing import load_signing_key, new_signing_key_text
from chronicle.store.records import Seal

AgainstOption = typer.Option(
    None,
    "--against",
    help="A seal kept outside the database (a file of the seal folder, or chronicle seal "
    "--export); repeatable. Reports seal_missing, seal_altered, fork or rollback against it.",
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
    against: list[Path] | None = AgainstOption,
    seal_dir: Path | None = typer.Option(
        None,
        "--seal-dir",
        help="The folder of seals kept outside the database; default CHRONICLE_SEAL_DIR.",
        file_okay=False,
    ),
    public_key: list[str] | None = typer.Option(
        None,
        "--public-key",
        help="A trusted key, KEY_ID:BASE64 (what --show-key prints; plain base64 accepted); "
        "repeatable. Default: CHRONICLE_TRUSTED_KEYS.",
    ),
    show_key: bool = typer.Option(
        False,
        "--show-key",
        help="Print the KEY_ID:BASE64 entry of CHRONICLE_SIGNING_KEY's public key, and stop.",
    ),
    require_trusted: bool = typer.Option(
        False,
        "--require-trusted",
        help="Exit 1 unless the latest seal is signed by a trusted key.",
    ),
    wait: float = typer.Option(
        5.0,
        "--wait",
        min=0,
        help="Seconds to wait for events held back behind appends still running before "
        "reporting them unchecked.",
    ),
    max_unsealed_seconds: float | None = typer.Option(
        None,
        "--max-unsealed-seconds",
        min=0,
        help="Exit 1 when the oldest event not sealed yet is older than this.",
    ),
    as_json: bool = JsonOption,
) -> None:
    """Check every event's hash chain, the Merkle log and every seal; exit 0 when intact.

    Exit 1 names the first problem and its kind (the README's "Tamper evidence" lists them).

    Seals kept outside the database (CHRONICLE_SEAL_DIR, --against) are compared with its own.

    The verdict says what the seals are worth: trusted, unsigned or unanchored.
    """
    try:
        settings = get_settings()
        if show_key:
            _show_key(settings)
            return
        trusted = trusted_keys_from(settings)
        if public_key:
            trusted = parse_trusted_keys(",".join(public_key), "--public-key")
        folder = seal_dir or (Path(settings.seal_dir) if settings.seal_dir else None)
        evidence = read_seal_folder(folder) if folder is not None else []
        evidence += [read_evidence(path) for path in against or []]
    except (ConfigurationError, EvidenceFileError) as exc:
        fail(str(exc), code=2)
        return
    with store_for(store_url) as store:
        verifier = Verifier(
            store,
            trusted_keys=trusted,
            evidence=evidence,
            wait=wait,
            snapshot_check=audit_checks(store),
        )
        total = store.get_event_count()
        try:
            shown = total >= _PROGRESS_FROM and not as_json
            with progress_bar("verifying", total, shown=shown) as advance:
                report = verifier.verify(since_seal=since_checkpoint, progress=advance)
        except EvidenceFileError as exc:
            fail(str(exc), code=2)
            return
    stale = (
        max_unsealed_seconds is not None
        and report.unsealed_seconds is not None
        and report.unsealed_seconds > max_unsealed_seconds
    )
    untrusted = require_trusted and report.trust != "trusted"
    if as_json:
        print_json({**report.to_dict(), "stale": stale, "require_trusted": require_trusted})
    else:
        _print_report(report, stale=stale, untrusted=untrusted)
    if not report.intact or stale or untrusted:
        raise typer.Exit(1)


def _show_key(settings: EventConfig) -> None:
    key = signing_key_from(settings)
    if key is None:
        fail("CHRONICLE_SIGNING_KEY is not set: seals are not signed", code=2)
        return
    console.print(key_entry(key.public), highlight=False, soft_wrap=True)


_VERDICTS = {
    "trusted": "seals signed by a trusted key",
    "unsigned": "the latest seal is not signed by a trusted key: nothing vouches for the seals",
    "unanchored": "no trusted key given (CHRONICLE_TRUSTED_KEYS): nothing ties the seals to a "
    "key kept outside the database",
}


def _print_report(report: VerificationReport, *, stale: bool, untrusted: bool) -> None:
    scope = f" after seal {report.since_seal}" if report.since_seal else ""
    kept = f", {report.evidence_seals} kept outside the database" if report.evidence_seals else ""
    if report.unsigned_seals:
        kept = f", {report.unsigned_seals} of them unsigned{kept}"
    console.print(
        f"checked {report.events_checked} events{scope} in {report.aggregates} aggregates "
        f"and {report.seals_checked} seals{kept} (latest seal: {report.latest_seal or '-'})",
        highlight=False,
    )
    if report.unsealed_events:
        age = f", the oldest {report.unsealed_seconds:.1f}s old" if report.unsealed_seconds else ""
        console.print(f"{report.unsealed_events} events not sealed yet{age}", highlight=False)
    console.print(f"trust: {report.trust} ({_VERDICTS[report.trust]})", highlight=False)
    for warning in report.warnings:
        console_err.print(f"warning: {warning}", highlight=False)
    if stale:
        console.print("[bold red]STALE[/]: events wait longer than --max-unsealed-seconds")
    if untrusted:
        console.print("[bold red]UNTRUSTED[/]: --require-trusted and the verdict is not trusted")
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
        help="Write a fresh private key for CHRONICLE_SIGNING_KEY to --key-file (mode 0600), "
        "print its public KEY_ID:BASE64 entry for CHRONICLE_TRUSTED_KEYS, and stop.",
    ),
    key_file: Path = typer.Option(
        Path("chronicle-signing.key"),
        "--key-file",
        help="Where --new-key writes the private key (never over an existing file).",
        dir_okay=False,
    ),
    print_key: bool = typer.Option(
        False, "--print-key", help="With --new-key: print the private key instead of a file."
    ),
    as_json: bool = JsonOption,
) -> None:
    """Seal every event committed since the latest seal (what the worker does continuously).

    Refuses (exit 1, nothing signed) when the database no longer extends the seals kept in
    CHRONICLE_SEAL_DIR or the Merkle log it keeps: seals deleted or replaced, history rewritten.
    """
    if new_key:
        _new_key(key_file, print_key, as_json)
        return
    try:
        settings = get_settings()
        sealer_check = signing_key_from(settings)
    except ConfigurationError as exc:
        fail(str(exc), code=2)
        return
    with store_for(store_url) as store:
        try:
            new = sealer_for(store, settings).run_once()
        except SealRefusedError as exc:
            fail(f"refusing to seal: {exc}; run chronicle verify to see what changed")
            return
        attested = SnapshotAttestor(store, snapshot_replay(store)).run_once()
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
                "snapshots_attested": len(attested.attested),
                "snapshots_refused": len(attested.mismatches),
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
    if attested.attested:
        console.print(f"attested {len(attested.attested)} snapshot(s)", highlight=False)
    for mismatch in attested.mismatches:
        console_err.print(
            f"warning: snapshot of {mismatch.aggregate_id} v{mismatch.version} refused: "
            f"{mismatch.reason}",
            highlight=False,
        )
    if export is not None and latest is not None:
        console.print(f"exported seal {latest.number} to {export}", highlight=False)
        if latest.signature is None:
            console_err.print("warning: the exported seal is unsigned", highlight=False)


def _new_key(key_file: Path, print_key: bool, as_json: bool) -> None:
    private = new_signing_key_text()
    entry = key_entry(load_signing_key(private).public)
    if print_key:
        console.print(private, highlight=False)
        console_err.print(f"public entry for CHRONICLE_TRUSTED_KEYS: {entry}", highlight=False)
        return
    try:
        descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        fail(f"{key_file} exists: choose another --key-file (a key is never overwritten)", code=2)
        return
    except OSError as exc:
        fail(f"cannot write {key_file}: {exc}", code=2)
        return
    with os.fdopen(descriptor, "w") as file:
        file.write(private + "\n")
    if as_json:
        print_json({"key_file": str(key_file), "trusted_key": entry})
        return
    console.print(f"wrote a new private key to {key_file} (mode 0600)", highlight=False)
    console.print(
        f"for the sealer:   CHRONICLE_SIGNING_KEY=$(cat {key_file})\n"
        f"for verifiers:    CHRONICLE_TRUSTED_KEYS={entry}",
        highlight=False,
        soft_wrap=True,
    )


def _seal_dict(one: Seal) -> dict[str, object]:
    return {
        "number": one.number,
        "position": one.position,
        "event_count": one.event_count,
        "sealed_at": one.sealed_at.isoformat(),
        "signed": one.signature is not None,
    }


__all__ = ["seal", "verify"]
