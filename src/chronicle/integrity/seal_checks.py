"""Checks of the seals themselves: their numbering, their own chain, their signatures, and the
evidence kept outside the database; and the trust verdict these allow.

A seal proves something only when nothing in the database could have made it: its signature must
verify with a key the verifier was given (``CHRONICLE_TRUSTED_KEYS``), not one the seal names
itself. Without trusted keys every chain is still checked, but the verdict says ``unanchored``.
Seals made before a signing key was configured are reported as unsigned (a warning), never as
tampered; an unsigned seal after a signed one is a stripped signature.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from chronicle.integrity.keys import TrustedKeys, key_id
from chronicle.integrity.report import Problem, ProblemKind
from chronicle.integrity.seals import NO_PREVIOUS, seal_hash, seal_payload
from chronicle.integrity.signing import signature_valid
from chronicle.store.records import Seal


class Trust(StrEnum):
    TRUSTED = "trusted"
    """The latest seal is signed by a trusted key, and so is every signed seal."""
    UNSIGNED = "unsigned"
    """Trusted keys were given, but the latest seal is not signed: nothing vouches for it."""
    UNANCHORED = "unanchored"
    """No trusted key: nothing ties the seals to a key kept outside the database."""


@dataclass(slots=True)
class SealFindings:
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    trust: Trust = Trust.UNANCHORED
    unsigned: int = 0
    """Seals that carry no signature (made while no signing key was configured, or stripped)."""


def _problem(kind: ProblemKind, message: str, seal: Seal) -> Problem:
    # Findings about the seals come first (index 0): nothing that relies on them can be trusted.
    return Problem(kind=kind, message=message, position=seal.position, seal=seal.number, index=0)


def signature_problem(seal: Seal, trusted: TrustedKeys, what: str) -> str | None:
    """Why ``seal``'s signature proves nothing (None when it verifies with the right key)."""
    if seal.signature is None:
        return f"{what} is unsigned"
    named = seal.key_id if seal.root is not None else None
    if named is None and seal.public_key is not None:
        named = key_id(seal.public_key)  # format 1 named its key by including it
    if trusted:
        public = trusted.get(named or "")
        if public is None:
            return f"{what} is signed by key {named or '?'}, which is not a trusted key"
    else:
        public = seal.public_key
        if public is None or key_id(public) != named:
            return f"{what} does not carry the key it names"
    if not signature_valid(public, seal_payload(seal), seal.signature):
        return f"{what} has a signature that does not verify: the seal was altered after signing"
    return None


def check_seals(seals: Sequence[Seal], trusted: TrustedKeys) -> SealFindings:
    """Numbering, chain and signatures of the database's seals, in number order."""
    found = SealFindings()
    expected, previous, signed_seen = 1, None, False
    unsigned_before: list[int] = []
    for seal in seals:
        if seal.number != expected:
            found.problems.append(
                _problem(
                    ProblemKind.SEAL_MISSING,
                    f"seals {expected}-{seal.number - 1} are missing from the database",
                    seal,
                )
            )
            previous = None  # the chain cannot be checked across the gap
        expected = seal.number + 1
        if seal.root is not None and previous is not None:
            if seal.previous != seal_hash(previous):
                found.problems.append(
                    _problem(
                        ProblemKind.SEAL_ALTERED,
                        f"seal {seal.number} does not chain to seal {previous.number}: one of "
                        "them was altered or replaced",
                        seal,
                    )
                )
        elif seal.root is not None and seal.number == 1 and seal.previous != NO_PREVIOUS:
            found.problems.append(
                _problem(ProblemKind.SEAL_ALTERED, "seal 1 names a previous seal", seal)
            )
        previous = seal
        found.unsigned += seal.signature is None
        if seal.signature is None and not signed_seen:
            unsigned_before.append(seal.number)
            continue
        signed_seen = True
        why = signature_problem(seal, trusted, f"seal {seal.number}")
        if why is not None:
            found.problems.append(_problem(ProblemKind.SIGNATURE_INVALID, why, seal))
    if unsigned_before:
        found.warnings.append(
            f"{_numbers(unsigned_before)} unsigned (made while no signing key was configured): "
            "chained, but no key vouches for them; set CHRONICLE_SIGNING_KEY for the sealer"
        )
    found.trust = _verdict(seals, trusted, found.problems)
    return found


def check_evidence(
    evidence: Sequence[Seal], stored: dict[int, Seal], trusted: TrustedKeys
) -> list[Problem]:
    """The seals kept outside the database against the database's seals of the same numbers."""
    problems = []
    for kept in evidence:
        why = signature_problem(kept, trusted, f"the kept seal {kept.number}")
        if why is not None and kept.signature is not None:
            problems.append(_problem(ProblemKind.SIGNATURE_INVALID, why, kept))
        same = stored.get(kept.number)
        if same is None:
            problems.append(
                _problem(
                    ProblemKind.SEAL_MISSING,
                    f"seal {kept.number}, kept outside the database, is missing from it: seals "
                    "were deleted",
                    kept,
                )
            )
        elif seal_hash(same) != seal_hash(kept):
            problems.append(
                _problem(
                    ProblemKind.SEAL_ALTERED,
                    f"the database's seal {kept.number} differs from the one kept outside it: "
                    "the seal was replaced",
                    kept,
                )
            )
    return problems


def _verdict(seals: Sequence[Seal], trusted: TrustedKeys, problems: list[Problem]) -> Trust:
    if not trusted:
        return Trust.UNANCHORED
    if not seals or seals[-1].signature is None:
        return Trust.UNSIGNED
    if any(problem.kind is ProblemKind.SIGNATURE_INVALID for problem in problems):
        return Trust.UNSIGNED
    return Trust.TRUSTED


def _numbers(numbers: list[int]) -> str:
    if len(numbers) == 1:
        return f"seal {numbers[0]} is"
    if numbers == list(range(numbers[0], numbers[-1] + 1)):
        return f"seals {numbers[0]}-{numbers[-1]} are"
    return f"seals {', '.join(map(str, numbers))} are"
