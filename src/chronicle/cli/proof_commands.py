"""Proof commands: ``chronicle proof`` (from the store) and ``chronicle verify-proof`` (offline).

``verify-proof`` opens no store and reads no setting: what it trusts is the file and the public
keys given on its command line, so an auditor can run it anywhere.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson
import typer

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
from chronicle.errors import ConfigurationError
from chronicle.integrity.keys import TrustedKeys, parse_trusted_keys
from chronicle.integrity.proofs import ProofCheck, check_proof, inclusion_proof_document

_MAX_PROOF_BYTES = 64 * 1024 * 1024  # a proof is kilobytes; this only stops a wrong file early


@command("proof")
def proof(
    event_id: str = typer.Argument(..., help="The id of the event to prove."),
    seal: int | None = typer.Option(
        None, "--seal", min=1, help="Prove against seal N (default: the latest seal)."
    ),
    output: Path | None = typer.Option(
        None, "--output", dir_okay=False, help="Write the proof document to FILE."
    ),
    as_json: bool = JsonOption,
    store_url: str | None = StoreOption,
) -> None:
    """Make the proof that an event is in the sealed log: a file anyone can check offline.

    Exit 1 when the event is unknown or not sealed yet (run chronicle seal), or the seal asked for
    does not exist or predates the Merkle log.
    """
    with store_for(store_url) as store:
        document = inclusion_proof_document(store, event_id, seal)
    if output is not None:
        _write(output, orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n")
    if as_json:
        print_json(document)
        return
    console.print(_describe(document), highlight=False)
    seal_document = document["seal"]
    if seal_document["signature"] is None:
        console_err.print(
            "warning: the seal is unsigned (the sealer has no CHRONICLE_SIGNING_KEY), so no "
            "verifier will accept this proof",
            highlight=False,
        )
    if output is not None:
        key = seal_document["key_id"] or "KEY_ID"
        console.print(
            f"written to {output}; check it anywhere with: chronicle verify-proof {output} "
            f"--public-key {key}:BASE64 (chronicle verify --show-key prints the key)",
            highlight=False,
        )


@command("verify-proof")
def verify_proof(
    file: Path = typer.Argument(..., help="A proof document (chronicle proof --output FILE)."),
    public_key: list[str] = typer.Option(
        ...,
        "--public-key",
        help="A trusted key, KEY_ID:BASE64 or BASE64; repeat it or separate keys with commas.",
    ),
    as_json: bool = JsonOption,
) -> None:
    """Check a proof with the trusted public keys only: no database, no settings.

    Exit 0 when it holds, 1 naming each check that failed, 2 when the file cannot be read or a
    key is malformed.
    """
    trusted = _trusted(public_key)
    try:
        with file.open("rb") as opened:
            content = opened.read(_MAX_PROOF_BYTES + 1)
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror or exc}", code=2)
    if len(content) > _MAX_PROOF_BYTES:
        fail(f"{file} is larger than {_MAX_PROOF_BYTES} bytes: not a proof document", code=2)
    try:
        document: Any = orjson.loads(content)
    except orjson.JSONDecodeError as exc:
        check = ProofCheck([f"malformed document: {file} is not JSON ({exc})"])
    else:
        check = check_proof(document, trusted)
    if as_json:
        print_json(check.to_dict())
    elif check.valid:
        console.print(f"[bold green]valid[/]: {_describe(document)}", highlight=False)
    else:
        console.print(f"[bold red]INVALID[/]: {len(check.failures)} check(s) failed")
        for failure in check.failures:
            console.print(f"  {failure}", highlight=False, markup=False)
    if not check.valid:
        raise typer.Exit(1)


def _trusted(entries: list[str]) -> TrustedKeys:
    trusted: TrustedKeys = {}
    try:
        for entry in entries:
            trusted |= parse_trusted_keys(entry, "--public-key")
    except ConfigurationError as exc:
        fail(str(exc), code=2)
    if not trusted:
        fail("--public-key names no key", code=2)
    return trusted


def _write(path: Path, content: bytes) -> None:
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        with os.fdopen(descriptor, "wb") as file:
            file.write(content)
    except OSError as exc:
        fail(f"cannot write {path}: {exc.strerror or exc}", code=2)


def _describe(document: dict[str, Any]) -> str:
    """One line on what a well-formed proof document shows."""
    if document["type"] == "consistency":
        old, new = document["from"], document["to"]
        return (
            f"seal {new['number']} ({new['tree_size']} events) extends seal {old['number']} "
            f"({old['tree_size']} events); {len(document['proof'])} hashes; signed by "
            f"{_signer(old)} and {_signer(new)}"
        )
    event, seal = document["event"], document["seal"]
    return (
        f"event {event['event_id']} ({event['aggregate_id']} v{event['version']}, "
        f"{event['event_type']}) is leaf {document['leaf_index']} of {document['tree_size']} "
        f"under seal {seal['number']} (root {seal['root']}, sealed at {seal['sealed_at']}, "
        f"{_signer(seal)}); audit path of {len(document['audit_path'])} hashes"
    )


def _signer(seal: dict[str, Any]) -> str:
    return f"key {seal['key_id']}" if seal["signature"] else "unsigned"


__all__ = ["proof", "verify_proof"]
