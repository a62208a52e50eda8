"""``chronicle verify``'s check of the key store against the erasures the log records.

An erasure is two things: an event in the log (hash-chained, sealed) and tombstones in the key
store (which the log does not cover). Someone with write access to the key store could destroy
a key without an erasure (data silently gone) or put a destroyed key back from a backup (erased
data readable again). So each tombstone must belong to a recorded erasure (its key, or the
snapshot key of an aggregate it names), and each key a recorded erasure names must be a
tombstone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from chronicle.events import RecordedEvent
from chronicle.integrity.report import Problem, ProblemKind
from chronicle.personal.keystore import DataKey, ErasedKey, KeyStore
from chronicle.personal.protector import SNAPSHOT_SUBJECT


@dataclass(frozen=True, slots=True)
class RecordedErasure:
    """What an erasure event says it destroyed."""

    subject: str
    key_ids: frozenset[str]
    aggregates: frozenset[str]
    position: int


def erasure_problems(
    keys: KeyStore,
    recorded: Iterable[RecordedErasure],
    archived: Callable[[], Iterable[RecordedErasure]] = lambda: (),
) -> list[Problem]:
    """Tombstones no erasure records (``archived`` is asked only then: an erasure event that
    retention has moved to the archive still counts), and recorded keys still alive."""
    erasures = list(recorded)
    tombstones = keys.tombstones()
    unrecorded = _unrecorded(tombstones, erasures)
    if unrecorded:
        erasures += list(archived())
        unrecorded = _unrecorded(tombstones, erasures)
    problems = [
        Problem(
            ProblemKind.KEY_ERASED_WITHOUT_RECORD,
            f"the data key {key.key_id} of {key.subject} was destroyed on "
            f"{key.erased_at.date().isoformat()} but no erasure in the log names it: the key "
            "store was changed behind Chronicle's back",
            aggregate_id=key.subject.removeprefix(SNAPSHOT_SUBJECT),
        )
        for key in unrecorded
    ]
    named = {key_id: erasure for erasure in erasures for key_id in erasure.key_ids}
    for key_id, state in keys.keys(list(named)).items():
        if isinstance(state, DataKey):
            erasure = named[key_id]
            problems.append(
                Problem(
                    ProblemKind.ERASURE_INCOMPLETE,
                    f"the erasure of {erasure.subject} (position {erasure.position}) names the "
                    f"data key {key_id}, which still opens its data: the erasure was cut short "
                    "(run it again) or the key was put back",
                    aggregate_id=erasure.subject,
                    position=erasure.position,
                )
            )
    return problems


def _unrecorded(tombstones: list[ErasedKey], erasures: list[RecordedErasure]) -> list[ErasedKey]:
    keys = {key_id for erasure in erasures for key_id in erasure.key_ids}
    snapshots = {
        SNAPSHOT_SUBJECT + aggregate for erasure in erasures for aggregate in erasure.aggregates
    }
    subjects = {erasure.subject for erasure in erasures}
    return [
        key
        for key in tombstones
        if key.key_id not in keys and key.subject not in snapshots and key.subject not in subjects
    ]


def recorded_erasure(event: RecordedEvent) -> RecordedErasure:
    """An erasure as its event records it (``key_ids``, ``aggregates``; the subject is the
    aggregate it was recorded on)."""
    data = event.data
    return RecordedErasure(
        subject=event.aggregate_id,
        key_ids=frozenset(str(key) for key in data.get("key_ids", ())),
        aggregates=frozenset(str(aggregate) for aggregate in data.get("aggregates", ())),
        position=event.position,
    )
