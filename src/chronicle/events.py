"""What the store takes and what it gives back.

:class:`NewEvent` is an event to append; :class:`RecordedEvent` is a stored event with its full
envelope (who, when, where in the log, its integrity hash). Domain events are typed classes built
on top of these (see :mod:`chronicle.registry`), resolved from the stable ``event_type`` names.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

JSONObject = dict[str, Any]

_set_attribute = object.__setattr__


def new_event_id() -> str:
    """A fresh random event id (UUID version 4, canonical lower-case form)."""
    return str(uuid.uuid4())


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to append.

    ``event_type`` is a stable name (``MessageCreated``), never a module path. ``event_id`` is
    generated when not given; pass your own to make a retry idempotent. ``schema_version`` is the
    version of the shape of ``data`` (see upcasting in :mod:`chronicle.registry`).
    """

    event_type: str
    data: JSONObject
    metadata: JSONObject | None = None
    event_id: str = field(default_factory=new_event_id)
    schema_version: int = 1

    def __init__(
        self,
        event_type: str,
        data: JSONObject,
        metadata: JSONObject | None = None,
        event_id: str | None = None,
        schema_version: int = 1,
    ) -> None:
        object.__setattr__(self, "event_type", event_type)
        object.__setattr__(self, "data", data)
        object.__setattr__(self, "metadata", metadata)
        object.__setattr__(self, "event_id", event_id if event_id is not None else new_event_id())
        object.__setattr__(self, "schema_version", schema_version)


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    """A stored event and its envelope.

    ``version`` counts 1, 2, 3… per aggregate; ``position`` is the event's place in the global log
    (pass it to ``read_all(after=...)`` to continue); ``timestamp`` is timezone-aware UTC;
    ``hash`` chains the event to the previous event of the same aggregate.
    """

    event_id: str
    aggregate_id: str
    aggregate_type: str
    event_type: str
    version: int
    position: int
    timestamp: datetime
    user_id: str | None
    data: JSONObject
    metadata: JSONObject
    schema_version: int = 1
    partition: int = 0
    hash: bytes = b""
    personal: Any = field(default=None, compare=False)
    """How the event's sealed personal fields were opened (a
    :class:`chronicle.personal.protector.Opened`), or None when it has none."""

    @property
    def stored_data(self) -> JSONObject:
        """``data`` as the store keeps it: with sealed personal fields, their envelope (what the
        integrity hash is computed from, and what archives and proofs carry). Asking for it
        does not open the sealed fields of an event read from the store."""
        data = _DATA_SLOT.__get__(self)
        if type(data) is Unopened:
            return data.reader.stored(data.raw)
        personal = _PERSONAL_SLOT.__get__(self)
        return data if personal is None else personal.stored(data)

    @property
    def correlation_id(self) -> str | None:
        value = self.metadata.get("correlation_id")
        return value if isinstance(value, str) else None

    @property
    def causation_id(self) -> str | None:
        value = self.metadata.get("causation_id")
        return value if isinstance(value, str) else None

    def to_dict(self) -> JSONObject:
        """A JSON-ready dict of the event and its envelope (the timestamp as ISO-8601)."""
        document = self._document(self.data)
        if self.personal is not None:
            document["personal"] = self.personal.to_dict()
        return document

    def to_stored_dict(self) -> JSONObject:
        """:meth:`to_dict` with ``data`` as stored (sealed fields in their envelope): the form
        that archives and proofs carry and that verifies without any key (nothing is opened)."""
        return self._document(self.stored_data)

    def _document(self, data: JSONObject) -> JSONObject:
        return {
            "event_id": self.event_id,
            "aggregate_id": self.aggregate_id,
            "aggregate_type": self.aggregate_type,
            "event_type": self.event_type,
            "version": self.version,
            "position": self.position,
            "timestamp": self.timestamp.isoformat(),
            "user_id": self.user_id,
            "data": data,
            "metadata": self.metadata,
            "schema_version": self.schema_version,
            "partition": self.partition,
            "hash": self.hash.hex(),
        }


class SealedReader(Protocol):
    """Turns the stored bytes of an event whose data holds sealed personal fields into its
    stored form, or into its data opened and how it opened (see :class:`Unopened`)."""

    def stored(self, raw: bytes) -> JSONObject: ...

    def open(self, event_type: str, raw: bytes) -> tuple[JSONObject, Any]: ...


class Unopened:
    """A read event's stored data, as bytes, while its sealed personal fields are not opened:
    they are opened the first time the event's ``data`` or ``personal`` is asked for (see
    :mod:`chronicle.personal`), by the store's :class:`SealedReader`.

    What needs only the stored form (the relay, archives, proofs) then never decrypts, and a
    page of events costs its decoding and decryption only for the events a caller looks into.
    Two threads opening the same event at once each decode the bytes and get equal results.
    """

    __slots__ = ("event_type", "raw", "reader")

    def __init__(self, reader: SealedReader, event_type: str, raw: bytes) -> None:
        self.reader = reader
        self.event_type = event_type
        self.raw = raw

    def __repr__(self) -> str:
        return f"Unopened({self.event_type!r})"


_DATA_SLOT: Any = vars(RecordedEvent)["data"]  # the slots' own descriptors
_PERSONAL_SLOT: Any = vars(RecordedEvent)["personal"]


def _open_slots(event: RecordedEvent, data: Unopened) -> None:
    opened, personal = data.reader.open(data.event_type, data.raw)
    _PERSONAL_SLOT.__set__(event, personal)
    _DATA_SLOT.__set__(event, opened)


def _get_data(event: RecordedEvent) -> JSONObject:
    data = _DATA_SLOT.__get__(event)
    if type(data) is Unopened:
        _open_slots(event, data)
        data = _DATA_SLOT.__get__(event)
    return data


def _get_personal(event: RecordedEvent) -> Any:
    data = _DATA_SLOT.__get__(event)
    if type(data) is Unopened:
        _open_slots(event, data)
    return _PERSONAL_SLOT.__get__(event)


# ``data`` and ``personal`` read through their slots, opening an Unopened on the way; the
# frozen class still refuses every assignment (its __setattr__), while its own __init__ and
# pickling set them through object.__setattr__, which these setters pass to the slots.
setattr(RecordedEvent, "data", property(_get_data, _DATA_SLOT.__set__))  # noqa: B010
setattr(RecordedEvent, "personal", property(_get_personal, _PERSONAL_SLOT.__set__))  # noqa: B010


class _RecordedSlots:
    """:class:`RecordedEvent`'s slots, writable: what :func:`recorded_event` fills.

    A frozen dataclass sets each field through ``object.__setattr__`` (about 1.2 µs for these
    13); plain slot stores and one class assignment take under a third of that, and every read
    path builds one event per row. Python allows the class assignment only between classes with
    the same slots, which these share; a field added to :class:`RecordedEvent` must be set here
    too (``tests/unit/test_events.py`` compares every field).
    """

    __slots__ = RecordedEvent.__slots__

    def __init__(
        self,
        event_id: str,
        aggregate_id: str,
        aggregate_type: str,
        event_type: str,
        version: int,
        position: int,
        timestamp: datetime,
        user_id: str | None,
        data: JSONObject,
        metadata: JSONObject,
        schema_version: int,
        partition: int,
        hash: bytes,
        personal: Any = None,
        _make_recorded: Any = _set_attribute,  # a local name: the hot loop skips a global lookup
    ) -> None:
        self.event_id = event_id
        self.aggregate_id = aggregate_id
        self.aggregate_type = aggregate_type
        self.event_type = event_type
        self.version = version
        self.position = position
        self.timestamp = timestamp
        self.user_id = user_id
        self.data = data
        self.metadata = metadata
        self.schema_version = schema_version
        self.partition = partition
        self.hash = hash
        self.personal = personal
        # From here on the frozen class's __setattr__ and __delattr__ refuse every change.
        _make_recorded(self, "__class__", RecordedEvent)


recorded_event: Callable[..., RecordedEvent] = _RecordedSlots  # type: ignore[assignment]
"""A :class:`RecordedEvent` from its 13 first fields (and ``personal``), in field order: the same immutable event as
the constructor makes, built about 3x faster (the stores' read and append paths use it)."""


@dataclass(frozen=True, slots=True)
class Replay:
    """What rebuilding an aggregate needs of its stored events, and nothing more.

    ``aggregate_type`` is the stored type of the events (None when none is in the range read);
    ``changes`` holds each event's ``(event_type, schema_version, data)`` in version order, the
    first at the version the read started from (an aggregate's versions have no gaps).
    """

    aggregate_type: str | None
    changes: Sequence[tuple[str, int, JSONObject]]
