"""Chronicle's typed errors.

Every error the library raises derives from :class:`ChronicleError`. Adapters translate driver
errors into these at the boundary and keep the cause (``raise ... from exc``); the API and the CLI
translate them into HTTP problems and exit codes.
"""

from __future__ import annotations


class ChronicleError(Exception):
    """Base class of every error Chronicle raises on purpose."""


class ConfigurationError(ChronicleError):
    """A setting has a value Chronicle cannot use. Names the variable and what it accepts."""

    def __init__(self, variable: str, problem: str) -> None:
        self.variable = variable
        self.problem = problem
        super().__init__(f"{variable}: {problem}")


class InvalidEventError(ChronicleError):
    """An event, an aggregate id or a query argument breaks the input rules. Nothing was stored."""


class EventTooLargeError(InvalidEventError):
    """An encoded event is larger than CHRONICLE_MAX_EVENT_BYTES. Nothing was stored."""


class ConcurrencyError(ChronicleError):
    """The expected version of an append was stale: another writer got there first.

    Nothing was written. Reload the aggregate and decide again.
    """

    def __init__(
        self, aggregate_id: str, expected_version: int | None, actual_version: int
    ) -> None:
        self.aggregate_id = aggregate_id
        self.expected_version = expected_version
        self.actual_version = actual_version
        super().__init__(
            f"aggregate {aggregate_id!r} is at version {actual_version}, "
            f"not at the expected version {expected_version}"
        )


class DuplicateEventError(ChronicleError):
    """Some, but not all, of an append's event ids are already stored, or stored elsewhere.

    A retry must resend exactly the batch it sent before.
    """


class StoreUnavailableError(ChronicleError):
    """The event store cannot be reached or refused the connection."""


class ImmutableEventError(ChronicleError):
    """Something tried to change or delete a stored event outside the maintenance paths."""


class SchemaVersionError(ChronicleError):
    """The database holds a newer Chronicle schema than this code understands."""


class UnknownAggregateError(ChronicleError):
    """No event is stored for the aggregate id asked for."""

    def __init__(self, aggregate_id: str) -> None:
        self.aggregate_id = aggregate_id
        super().__init__(f"no events are stored for aggregate {aggregate_id!r}")


class UnknownEventTypeError(ChronicleError):
    """A stored event type has no class in the registry (or a class was never registered)."""


class UpcastError(ChronicleError):
    """A stored event could not be brought to its current schema version."""


class DomainError(ChronicleError):
    """A command broke a rule of the domain (an empty message, a forbidden status change…).

    The aggregate recorded nothing. The API answers 422, the CLI exits 1.
    """


class AggregateTypeError(ChronicleError):
    """An aggregate id holds events of another aggregate type than the one asked for."""

    def __init__(self, aggregate_id: str, expected: str, actual: str) -> None:
        self.aggregate_id = aggregate_id
        self.expected = expected
        self.actual = actual
        super().__init__(f"aggregate {aggregate_id!r} is a {actual}, not a {expected}")


class AggregateNotYetCreatedError(UnknownAggregateError):
    """Time travel asked for an instant before the aggregate's first event."""

    def __init__(self, aggregate_id: str, instant: str, first_event_at: str) -> None:
        self.instant = instant
        self.first_event_at = first_event_at
        super().__init__(aggregate_id)
        self.args = (
            f"aggregate {aggregate_id!r} did not exist yet at {instant} "
            f"(its first event is at {first_event_at})",
        )


class PublishError(ChronicleError):
    """Events could not be handed to the broker. The relay's checkpoint did not move."""


class BrokerUnavailableError(PublishError):
    """The broker at EVENT_QUEUE_URL cannot be reached, dropped the connection or nacked a message.

    Nothing is lost: the relay retries the same events from its checkpoint.
    """


class DuplicateKeyError(ChronicleError):
    """A row with the same unique key is stored already; ``constraint`` names the key if known.

    The store turns it into what it means where it happens (a seal number taken, an event id
    stored); elsewhere it reaches the caller as it is.
    """

    def __init__(self, message: str, constraint: str | None = None) -> None:
        super().__init__(message)
        self.constraint = constraint


class CheckpointMovedError(ChronicleError):
    """Someone else moved a follower's checkpoint since it was read; reload and try again."""


class SealConflictError(ChronicleError):
    """Another sealer recorded a seal with the same number first. Nothing was written."""


class SealRefusedError(ChronicleError):
    """The sealer will not sign: the database's seals or log no longer extend the evidence kept
    outside it (seals deleted or replaced, history rewritten). Nothing was sealed; an operator
    must investigate (``chronicle verify``)."""


class EvidenceFileError(ChronicleError):
    """An exported seal file cannot be read or is not a Chronicle seal."""


class UnsupportedOperationError(ChronicleError):
    """The operation does not apply to this backend (the message says why)."""


class RetentionRefusedError(ChronicleError):
    """A retention run refused to start or to go on; nothing was removed. Says why and what to
    do (a ``--now`` far in the future, holds that differ from their events, a damaged log)."""


class HoldNotFoundError(ChronicleError):
    """There is no active legal hold with this id."""

    def __init__(self, hold_id: str) -> None:
        self.hold_id = hold_id
        super().__init__(f"there is no active legal hold {hold_id!r} (chronicle hold list)")


class ArchivedHistoryError(ChronicleError):
    """What was asked for lies in events retention moved to the archive; the store answers only
    from the version after ``archived_to`` on."""

    def __init__(self, aggregate_id: str, archived_to: int) -> None:
        self.aggregate_id = aggregate_id
        self.archived_to = archived_to
        versions = "version 1" if archived_to == 1 else f"versions 1-{archived_to}"
        super().__init__(
            f"{versions} of {aggregate_id!r} are archived (retention): read them with "
            f"chronicle archive read {aggregate_id} or history with include_archive"
        )


class KeyStoreUnavailableError(StoreUnavailableError):
    """The key store of personal data cannot be reached: nothing personal is written in clear,
    and nothing sealed can be read, until it is back (CHRONICLE_KEY_STORE_URL)."""


class SubjectErasedError(ChronicleError):
    """The personal data of this subject was erased; it takes no new personal data."""

    def __init__(self, subject: str, erased_at: str) -> None:
        self.subject = subject
        self.erased_at = erased_at
        super().__init__(f"the personal data of {subject!r} was erased on {erased_at}")


class ErasureRefusedError(ChronicleError):
    """An erasure cannot be carried out (an unknown subject, one already erased, a legal hold
    on the subject or its data). Nothing was erased."""

    def __init__(self, message: str, *, hold_id: str | None = None) -> None:
        self.hold_id = hold_id
        super().__init__(message)
