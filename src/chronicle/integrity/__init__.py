"""Tamper evidence: the log chain, seals (signed checkpoints), the sealer and the verifier.

Everything here takes what it works on (a store, a key) from its caller; the key and the sealer
configured from settings come from :mod:`chronicle.bootstrap` (``signing_key_from``,
``sealer_for``). :func:`audit_report` and :func:`audit_public_key` are what the service's
``GET /audit/verify`` and ``GET /audit/verify/key`` return; ``chronicle verify`` prints the same
report.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from chronicle.integrity.keys import TrustedKeys, key_entry
from chronicle.integrity.report import Problem, ProblemKind, VerificationReport
from chronicle.integrity.sealer import Sealer
from chronicle.integrity.seals import read_evidence, seal_to_dict, write_evidence
from chronicle.integrity.signing import SigningKey, public_key_text
from chronicle.integrity.verifier import Verifier
from chronicle.store.ports import EventStore
from chronicle.store.records import Seal

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
    trusted_keys: TrustedKeys | None = None,
    evidence: Sequence[Seal] = (),
    snapshot_check: Callable[[], list[Problem]] | None = None,
    since_seal: int | None = None,
) -> dict[str, Any]:
    """The verification report as a JSON-ready dict (``GET /audit/verify``).

    ``trusted_keys`` are the keys seals must be signed with; without any each seal is checked
    against the key it carries and the verdict is ``unanchored``. ``evidence``: the seal folder.
    """
    verifier = Verifier(
        store, trusted_keys=trusted_keys, evidence=evidence, snapshot_check=snapshot_check
    )
    return verifier.verify(since_seal=since_seal).to_dict()


def audit_public_key(trusted_keys: TrustedKeys) -> dict[str, Any]:
    """The public keys seals are checked against (``GET /audit/verify/key``), newest last."""
    entries = [key_entry(public) for public in trusted_keys.values()]
    return {
        "algorithm": "Ed25519",
        "public_key": public_key_text(list(trusted_keys.values())[-1]) if trusted_keys else None,
        "key_id": list(trusted_keys)[-1] if trusted_keys else None,
        "trusted_keys": entries,
        "encoding": "KEY_ID:BASE64, KEY_ID being the first 16 hex digits of the SHA-256 of the "
        "32-byte raw public key and BASE64 that key",
    }
