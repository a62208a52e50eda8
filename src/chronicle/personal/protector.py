"""Personal data sealed on the way in and opened on the way out: what the stores call.

:class:`PersonalData` joins a domain's declarations (:class:`PersonalPolicy`) to a key store.
The event stores call it in the two places every event passes: the shared append preparation
(:meth:`seal_event`) and the row readers (:meth:`open_event`); snapshots likewise
(:meth:`seal_state`, :meth:`open_state`). What cannot be opened reads as a placeholder, never
as an error: ``[erased on DATE]`` once the key is destroyed, ``[unreadable: why]`` when the
envelope was altered (which ``chronicle verify`` reports).

Keys are cached for ``cache_seconds`` (default 1 s): an erasure made by another process is
honoured by this one within that time; the process that erases forgets at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from chronicle.events import JSONObject
from chronicle.personal import envelope
from chronicle.personal.declarations import Personal, PersonalPolicy, erased_text
from chronicle.personal.keystore import DataKey, ErasedKey, KeyState, KeyStore, UnusableKey

SNAPSHOT_SUBJECT = "snapshot:"
"""Snapshots of an aggregate are sealed under a key of their own, ``snapshot:AGGREGATE_ID``,
which an erasure destroys for every aggregate the subject wrote to."""

_REFRESH_AT_ONCE = 255
"""At most this many other expired keys are refreshed with the one a read needs."""

OPEN = "open"
ERASED = "erased"
UNREADABLE = "unreadable"


class Opened:
    """What an opened event keeps of its envelope: the stored envelope itself (to give back the
    stored form, which the integrity hash is computed from) and how the opening went
    (``status``: open, erased or unreadable). Made once per sealed event read: a plain slotted
    class, not a frozen dataclass, as every read path builds one."""

    __slots__ = ("envelope", "erased_on", "problem", "status")

    def __init__(
        self,
        envelope: JSONObject,
        status: str,
        erased_on: str | None = None,
        problem: str | None = None,
    ) -> None:
        self.envelope = envelope
        self.status = status
        self.erased_on = erased_on
        self.problem = problem

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Opened) and (
            self.envelope,
            self.status,
            self.erased_on,
            self.problem,
        ) == (other.envelope, other.status, other.erased_on, other.problem)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Opened(status={self.status!r}, key={self.envelope.get('key')!r})"

    def stored(self, data: JSONObject) -> JSONObject:
        """The stored form of the opened ``data``."""
        return envelope.with_envelope(data, self.envelope)

    def to_dict(self) -> JSONObject:
        """How an event's sealed fields read and the stored envelope itself, from which the
        stored form is rebuilt (an import does)."""
        described: JSONObject = {"status": self.status, "envelope": self.envelope}
        if self.erased_on is not None:
            described["erased_on"] = self.erased_on
        if self.problem is not None:
            described["problem"] = self.problem
        return described


@dataclass(frozen=True, slots=True)
class AppendedPlaintext:
    """An appended event's plaintext, as its append gives it back (a fresh copy each time)."""

    canonical: bytes
    how: Opened

    def data(self) -> JSONObject:
        loaded: JSONObject = orjson.loads(self.canonical)
        return loaded


class PersonalData:
    """Seals and opens the personal fields ``policy`` declares, with keys from ``keys``."""

    def __init__(
        self,
        policy: PersonalPolicy,
        keys: KeyStore,
        *,
        cache_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.policy = policy
        self.keys = keys
        self._events = dict(policy.events)
        self._states = dict(policy.states)
        self._ttl = cache_seconds
        self._clock = clock
        self._writing: dict[str, tuple[DataKey, float]] = {}
        self._reading: dict[str, tuple[KeyState, float]] = {}
        self._ciphers: dict[str, AESGCM] = {}
        # An erased state field reads as an erased event field of the same name does.
        empty = {path: value for d in policy.events.values() for path, value in d.empty.items()}
        self._state_empty = Personal(
            fields=(), empty=empty
        )  # by key id; dropped once the key is erased
        self._lock = threading.Lock()

    @property
    def cache_seconds(self) -> float:
        return self._ttl

    # -- keys ------------------------------------------------------------------------------

    def _write_key(self, subject: str, *, renew: bool = False) -> DataKey:
        now = self._clock()
        cached = self._writing.get(subject)
        if cached is not None:
            if now - cached[1] < self._ttl:
                return cached[0]
            if type(self._read_key(cached[0].key_id)) is DataKey:  # still live: one lookup
                with self._lock:
                    self._writing[subject] = (cached[0], now)
                return cached[0]
        key = self.keys.active_key(subject, renew=renew)
        with self._lock:
            self._writing[subject] = (key, now)
            self._reading[key.key_id] = (key, now)
        return key

    def _read_key(self, key_id: str) -> KeyState | None:
        now = self._clock()
        cached = self._reading.get(key_id)
        if cached is not None and (type(cached[0]) is ErasedKey or now - cached[1] < self._ttl):
            return cached[0]
        wanted = [key_id]
        if self._ttl > 0:
            # Other live keys that have expired are asked for in the same round trip.
            with self._lock:
                entries = list(self._reading.items())
            wanted += [
                other
                for other, (state, at) in entries
                if other != key_id and type(state) is DataKey and now - at >= self._ttl
            ][:_REFRESH_AT_ONCE]
        found = self.keys.keys(wanted)
        with self._lock:
            for known_id, state in found.items():
                self._reading[known_id] = (state, now)
                if type(state) is ErasedKey:
                    self._ciphers.pop(known_id, None)
        return found.get(key_id)

    def _cipher(self, key: DataKey) -> AESGCM:
        cipher = self._ciphers.get(key.key_id)
        if cipher is None:
            cipher = self._ciphers[key.key_id] = AESGCM(key.key)
        return cipher

    def forget(self, subject: str) -> None:
        """Drop every cached key of ``subject`` (after its erasure, in the erasing process)."""
        with self._lock:
            self._writing.pop(subject, None)
            for key_id in [
                k for k, (state, _) in self._reading.items() if state.subject == subject
            ]:
                del self._reading[key_id]
                self._ciphers.pop(key_id, None)

    # -- events ----------------------------------------------------------------------------

    def declaration(self, event_type: str) -> Personal | None:
        return self._events.get(event_type)

    def seal_event(
        self, event_type: str, data: JSONObject, *, aggregate_id: str, user_id: str | None
    ) -> envelope.Sealed | None:
        """``data`` with its declared personal fields sealed, or None when it has none."""
        declared = self._events.get(event_type)
        if declared is None:
            return None
        rest, values = envelope.split(data, declared.fields)
        if not values:
            return None
        subject = declared.subject_of(aggregate_id, user_id)
        key = self._write_key(subject)  # only for data that has personal fields to seal
        return envelope.seal_values(
            rest, values, subject=subject, key_id=key.key_id, cipher=self._cipher(key)
        )

    def opened_on_append(self, sealed: envelope.Sealed, plaintext: bytes) -> AppendedPlaintext:
        """What an append of ``sealed`` (whose plaintext data encodes to ``plaintext``) returns."""
        return AppendedPlaintext(plaintext, Opened(sealed.envelope, OPEN))

    def opened_as_read(self, event_type: str, stored: JSONObject) -> AppendedPlaintext:
        """What an append of already sealed ``stored`` data returns: the data as a read opens it."""
        data, how = self.open_event(event_type, stored)
        assert how is not None
        return AppendedPlaintext(orjson.dumps(data), how)

    def open_event(
        self, event_type: str, data: JSONObject, *, owned: bool = False
    ) -> tuple[JSONObject, Opened | None]:
        """Stored ``data`` opened: its personal fields back in (or their placeholders).
        ``owned``: ``data`` is the caller's to change (a row just decoded), so it is opened in
        place rather than copied."""
        sealed = data.get(envelope.ENVELOPE)
        if type(sealed) is not dict:
            return data, None
        rest = data if owned else dict(data)
        del rest[envelope.ENVELOPE]
        return self._open(sealed, rest, self._events.get(event_type) or _NOTHING_DECLARED)

    def _open(
        self, sealed: JSONObject, rest: JSONObject, declared: Personal
    ) -> tuple[JSONObject, Opened]:
        key_id = sealed.get("key")
        key: KeyState | None = None
        if type(key_id) is str:
            cached = self._reading.get(key_id)  # the read path's common case, inline
            if cached is not None and self._clock() - cached[1] < self._ttl:
                key = cached[0]
            else:
                key = self._read_key(key_id)
        fields = _fields(sealed)
        for path in fields:
            if path in rest if "." not in path else _has(rest, path):
                # Only a write behind Chronicle's back puts a sealed field in clear beside its
                # envelope: what the hash covers is the envelope, so the clear copy is no
                # evidence.
                problem = "a sealed field is also stored in clear beside its envelope"
                return self._unreadable(sealed, rest, declared, problem)
        if type(key) is DataKey:
            try:
                values = envelope.open_with(sealed, self._cipher(key))
            except envelope.EnvelopeError as exc:
                return self._unreadable(sealed, rest, declared, str(exc))
            for path, value in values.items():
                if "." in path:
                    envelope.put(rest, path, value)
                else:
                    rest[path] = value
            return rest, Opened(sealed, OPEN)
        if type(key) is ErasedKey:
            erased_on = key.erased_at.date().isoformat()
            placeholders = _placeholders(rest, fields, declared, erased_text(erased_on))
            return placeholders, Opened(sealed, ERASED, erased_on=erased_on)
        if type(key) is UnusableKey:
            return self._unreadable(sealed, rest, declared, key.problem)
        return self._unreadable(sealed, rest, declared, f"the key store has no key {key_id}")

    def commitment_holds(self, opened: Opened) -> bool:
        """Whether an opened event's plaintext is the one its hashed commitment was made to
        (what ``chronicle verify`` asks of every event whose key lives)."""
        key = self._read_key(str(opened.envelope.get("key")))
        if type(key) is not DataKey:
            return True  # erased or unknown: nothing left to compare
        try:
            return envelope.commitment_holds(opened.envelope, self._cipher(key))
        except envelope.EnvelopeError:
            return False

    def _unreadable(
        self, sealed: JSONObject, rest: JSONObject, declared: Personal, problem: str
    ) -> tuple[JSONObject, Opened]:
        placeholders = _placeholders(rest, _fields(sealed), declared, f"[unreadable: {problem}]")
        return placeholders, Opened(sealed, UNREADABLE, problem=problem)

    # -- snapshots -------------------------------------------------------------------------

    def seal_state(
        self, aggregate_type: str, aggregate_id: str, state: JSONObject, *, renew: bool = False
    ) -> JSONObject:
        """A snapshot's state as stored: its personal fields sealed under the aggregate's
        snapshot key. Once an erasure destroyed that key, ``SubjectErasedError`` unless
        ``renew``: a writer's state may have been loaded before the erasure and still hold what
        it erased, so only a state replayed from the store since (retention's) makes a new key."""
        fields = self._states.get(aggregate_type)
        if not fields:
            return state
        subject = SNAPSHOT_SUBJECT + aggregate_id
        key = self._write_key(subject, renew=renew)
        sealed = envelope.seal(
            state, fields, subject=subject, key_id=key.key_id, cipher=self._cipher(key)
        )
        return state if sealed is None else sealed.stored

    def open_state(self, aggregate_type: str, state: JSONObject) -> tuple[JSONObject, bool]:
        """A stored snapshot state opened, and whether all of it could be (False once its key
        was destroyed: the personal fields are then placeholders)."""
        sealed = envelope.envelope_of(state)
        if sealed is None:
            return state, True
        opened, how = self._open(sealed, envelope.without_envelope(state), self._state_empty)
        return opened, how.status == OPEN


_NOTHING_DECLARED = Personal(fields=())


def _fields(sealed: JSONObject) -> list[str]:
    fields = sealed.get("fields")
    if type(fields) is not list:
        return []
    if all(type(path) is str for path in fields):
        return fields
    return [str(path) for path in fields]


def _has(data: JSONObject, path: str) -> bool:
    parent, _, child = path.partition(".")
    if not child:
        return parent in data
    holder = data.get(parent)
    return isinstance(holder, dict) and child in holder


def _placeholders(rest: JSONObject, fields: list[str], declared: Personal, text: str) -> JSONObject:
    for path in fields:
        value: Any = declared.erased_value(path, text)
        envelope.put(rest, path, value)
    return rest
