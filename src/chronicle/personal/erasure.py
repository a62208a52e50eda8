"""Erasure: a subject's data keys destroyed, after the log recorded that, why and by whom.

The order makes a crash harmless: (1) the erasure is recorded (by the domain, as an event that
names the keys and aggregates and holds no personal data), (2) the subject's keys and the
snapshot keys of every aggregate it wrote to are destroyed, (3) the store is scrubbed (SQLite:
its write-ahead log checkpointed and truncated, so no old page image keeps a redacted read
model's text). A run stopped after (1) is completed by running it again: an erasure that is
recorded while keys still live is finished, not refused and not recorded twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from chronicle.errors import ErasureRefusedError
from chronicle.events import RecordedEvent
from chronicle.personal.keystore import ErasedKey
from chronicle.personal.protector import SNAPSHOT_SUBJECT, PersonalData
from chronicle.store.integrity import ENVELOPE
from chronicle.store.ports import LogReader

_PAGE = 1000


@dataclass(frozen=True, slots=True)
class ErasureRequest:
    """What the domain records: whose data, why, by whom, which keys, which aggregates."""

    subject: str
    reason: str
    erased_by: str | None
    erased_on: str
    key_ids: list[str]
    aggregates: list[str]


@dataclass(slots=True)
class ErasureResult:
    subject: str
    erased_on: str
    key_ids: list[str] = field(default_factory=list)
    aggregates: list[str] = field(default_factory=list)
    recorded: RecordedEvent | None = None
    completed_earlier_run: bool = False

    def to_dict(self) -> dict[str, object]:
        return {
            "subject": self.subject,
            "erased_on": self.erased_on,
            "key_ids": self.key_ids,
            "aggregates": self.aggregates,
            "position": self.recorded.position if self.recorded is not None else None,
            "completed_earlier_run": self.completed_earlier_run,
        }


def _by_actor(log: LogReader, subject: str) -> Iterator[RecordedEvent]:
    after = None
    while page := log.search_events(user_id=subject, after=after, limit=_PAGE):
        yield from page
        after = page[-1].position


def written_aggregates(
    log: LogReader,
    subject: str,
    personal: PersonalData,
    archived: Iterable[RecordedEvent] = (),
) -> tuple[list[str], int]:
    """Every aggregate holding personal data of ``subject`` (its own, and those it wrote
    personal fields to as their actor), in the store or in ``archived`` (its archived events),
    and how many of its events hold declared personal fields in clear (stored before the store
    sealed them)."""
    found: dict[str, None] = {subject: None}
    in_clear = 0
    own = log.get_events_for_aggregate(subject)  # type: ignore[attr-defined]
    for event in (*own, *_by_actor(log, subject), *archived):
        sealed = event.personal.envelope if event.personal is not None else None
        if sealed is None and isinstance(event.data.get(ENVELOPE), dict):
            sealed = event.data[ENVELOPE]  # an archived event, as stored
        if sealed is not None:
            if sealed.get("subject") == subject:
                found.setdefault(event.aggregate_id, None)
            continue
        declared = personal.declaration(event.event_type)
        if declared is not None and any(_holds(event.data, path) for path in declared.fields):
            owner = event.aggregate_id if declared.subject == "aggregate" else event.user_id
            if owner == subject:
                in_clear += 1
    return list(found), in_clear


def _holds(data: dict[str, object], path: str) -> bool:
    parent, _, child = path.partition(".")
    value = data.get(parent)
    return value is not None if not child else isinstance(value, dict) and child in value


class Erasure:
    """Erases subjects' personal data from ``log`` (whose store ``personal`` seals it).

    ``recorded(subject)`` finds the erasure event already in the log (None: none yet);
    ``record(request)`` appends it; ``hold(subject, aggregates)`` names the legal hold that
    forbids the erasure (None: none does); ``archived(subject)`` gives the subject's events
    retention archived (its own and those it wrote); ``scrub()`` clears what the store keeps
    of freed pages.
    """

    def __init__(
        self,
        log: LogReader,
        personal: PersonalData,
        *,
        recorded: Callable[[str], RecordedEvent | None],
        record: Callable[[ErasureRequest], RecordedEvent],
        hold: Callable[[str, list[str]], str | None],
        archived: Callable[[str], Iterable[RecordedEvent]] = lambda subject: (),
        scrub: Callable[[], None] = lambda: None,
    ) -> None:
        self.log = log
        self.personal = personal
        self._recorded = recorded
        self._record = record
        self._hold = hold
        self._archived = archived
        self._scrub = scrub

    def erase(self, subject: str, *, reason: str, erased_by: str | None) -> ErasureResult:
        """Erase ``subject``'s personal data; ``ErasureRefusedError`` (nothing changed) when it
        was erased already, has no personal data, or a legal hold covers it or its data."""
        reason = reason.strip()
        if not reason:
            raise ErasureRefusedError("an erasure needs a reason (--reason)")
        keys = self.personal.keys.keys_of(subject)
        live = [key for key in keys if not isinstance(key, ErasedKey)]  # unusable ones too
        earlier = self._recorded(subject)
        if earlier is not None:
            if not live:
                erased = [key for key in keys if isinstance(key, ErasedKey)]
                on = erased[-1].erased_at.date().isoformat() if erased else "an earlier run"
                raise ErasureRefusedError(f"the personal data of {subject} was erased on {on}")
            request = _request_of(earlier, subject)
            result = ErasureResult(
                subject, request.erased_on, request.key_ids, request.aggregates, earlier, True
            )
        else:
            if not keys:
                raise ErasureRefusedError(f"{subject} has no personal data in this store")
            if not live:  # its record archived since, or lost: the keys say it is done
                last = max(key.erased_at for key in keys if isinstance(key, ErasedKey))
                raise ErasureRefusedError(
                    f"the personal data of {subject} was erased on {last.date().isoformat()}"
                )
            aggregates, in_clear = written_aggregates(
                self.log, subject, self.personal, self._archived(subject)
            )
            if in_clear:
                raise ErasureRefusedError(
                    f"{in_clear} events of {subject} hold personal fields in clear (stored "
                    "before this store sealed personal data): they cannot be shredded; see "
                    "'Erasure of personal data' in the README"
                )
            hold = self._hold(subject, aggregates)
            if hold is not None:
                raise ErasureRefusedError(
                    f"legal hold {hold} covers {subject} or its data: release it first "
                    "(chronicle hold list)",
                    hold_id=hold,
                )
            request = ErasureRequest(
                subject=subject,
                reason=reason,
                erased_by=erased_by,
                erased_on=datetime.now(UTC).date().isoformat(),
                key_ids=[key.key_id for key in live],
                aggregates=aggregates,
            )
            recorded_event = self._record(request)
            result = ErasureResult(
                subject, request.erased_on, request.key_ids, aggregates, recorded_event
            )
        self._destroy(subject, request)
        self._scrub()
        return result

    def _destroy(self, subject: str, request: ErasureRequest) -> None:
        """The subject's keys and the snapshot keys of its aggregates, in one transaction, with
        the recorded who and why (a rerun does not rewrite them)."""
        snapshots = [SNAPSHOT_SUBJECT + aggregate_id for aggregate_id in request.aggregates]
        self.personal.keys.erase_all(
            [*snapshots, subject], erased_by=request.erased_by, reason=request.reason
        )
        for forgotten in (*snapshots, subject):
            self.personal.forget(forgotten)


def _request_of(event: RecordedEvent, subject: str) -> ErasureRequest:
    data = event.data
    return ErasureRequest(
        subject=subject,
        reason=str(data.get("reason", "")),
        erased_by=event.user_id,
        erased_on=str(data.get("erased_on", "")),
        key_ids=[str(key) for key in data.get("key_ids", ())],
        aggregates=[str(aggregate) for aggregate in data.get("aggregates", ())],
    )
