"""Tamper evidence: the log chain, seals (signed checkpoints), the sealer and the verifier.

:func:`audit_report` and :func:`audit_public_key` are what the service's ``GET /audit/verify``
and ``GET /audit/verify/key`` return; ``chronicle verify`` prints the same report.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chronicle.config import EventConfig, get_settings
from chronicle.integrity.report import Problem, ProblemKind, VerificationReport
from chronicle.integrity.sealer import Sealer
from chronicle.integrity.seals import read_evidence, seal_to_dict, write_evidence
from chronicle.integrity.signing import SigningKey, load_signing_key, public_key_text
from chronicle.integrity.verifier import Verifier
from chronicle.store.protocol import EventStore

__all__ = [
    "Problem",
    "ProblemKind",
    "Sealer",
    "SigningKey",
    "VerificationReport",
    "Verifier",
    "audit_public_key",
    "audit_report",
    "read_evidence",
    "seal_to_dict",
    "sealer_for",
    "signing_key_from",
    "write_evidence",
]


def signing_key_from(settings: EventConfig | None = None) -> SigningKey | None:
    """The key of ``CHRONICLE_SIGNING_KEY``, or None when it is not set."""
    settings = settings or get_settings()
    if settings.signing_key is None:
        return None
    return load_signing_key(settings.signing_key.get_secret_value())


def sealer_for(store: EventStore, settings: EventConfig | None = None) -> Sealer:
    """The sealer ``chronicle worker`` and ``chronicle seal`` run, configured from settings."""
    settings = settings or get_settings()
    return Sealer(
        store,
        key=signing_key_from(settings),
        export_dir=Path(settings.seal_dir) if settings.seal_dir else None,
    )


def audit_report(
    store: EventStore,
    *,
    since_seal: int | None = None,
    settings: EventConfig | None = None,
) -> dict[str, Any]:
    """The verification report as a JSON-ready dict (``GET /audit/verify``)."""
    key = signing_key_from(settings)
    verifier = Verifier(store, public_key=key.public if key else None)
    return verifier.verify(since_seal=since_seal).to_dict()


def audit_public_key(settings: EventConfig | None = None) -> dict[str, Any]:
    """The public key seals are signed with (``GET /audit/verify/key``)."""
    key = signing_key_from(settings)
    return {
        "algorithm": "Ed25519",
        "public_key": public_key_text(key.public) if key else None,
        "encoding": "base64 of the 32-byte raw public key",
    }
