"""Tamper evidence: the log chain, seals (signed checkpoints), the sealer and the verifier.

Everything here takes what it works on (a store, a key) from its caller; the key and the sealer
configured from settings come from :mod:`chronicle.bootstrap` (``signing_key_from``,
``sealer_for``). :func:`audit_report` and :func:`audit_public_key` are what the service's
``GET /audit/verify`` and ``GET /audit/verify/key`` return; ``chronicle verify`` prints the same
report.
"""

from __future__ import annotations

from typing import Any

from chronicle.integrity.report import Problem, ProblemKind, VerificationReport
from chronicle.integrity.sealer import Sealer
from chronicle.integrity.seals import read_evidence, seal_to_dict, write_evidence
from chronicle.integrity.signing import SigningKey, public_key_text
from chronicle.integrity.verifier import Verifier
from chronicle.store.ports import EventStore

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
    "write_evidence",
]


def audit_report(
    store: EventStore,
    *,
    public_key: bytes | None = None,
    since_seal: int | None = None,
) -> dict[str, Any]:
    """The verification report as a JSON-ready dict (``GET /audit/verify``).

    ``public_key`` is the trusted key seals must be signed with; without one each seal is checked
    against the key it names.
    """
    verifier = Verifier(store, public_key=public_key)
    return verifier.verify(since_seal=since_seal).to_dict()


def audit_public_key(public_key: bytes | None) -> dict[str, Any]:
    """The public key seals are signed with (``GET /audit/verify/key``)."""
    return {
        "algorithm": "Ed25519",
        "public_key": public_key_text(public_key) if public_key else None,
        "encoding": "base64 of the 32-byte raw public key",
    }
