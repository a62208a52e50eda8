"""Compression of old events: their payloads re-encoded in place, their content untouched.

Events older than ``CHRONICLE_COMPRESS_AFTER_DAYS`` are re-encoded in batches, oldest position
first, by ``chronicle worker`` and ``chronicle compress``. With zstd (the default) they are
compressed with a dictionary trained on the store's own old events: chat events are small
(300-800 bytes) and alike, which a dictionary captures and a per-event codec cannot. A dictionary
is stored in the store (numbered, content-addressed, kept forever, since rows keep needing it)
before any row is written with it. When the ratio of a batch falls below :data:`DRIFT` of what
the dictionary achieved on events held out of its training, a new dictionary is trained on the
most recent old events and kept if it does clearly better.

Every re-encoded payload is decoded again and compared with the original before it is written,
and the guard triggers let the maintenance UPDATE change only the payload and the codec; the
integrity hash is over the decoded content, so ``chronicle verify`` passes before and after and
catches a maintenance write that changed content.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from chronicle.errors import ChronicleError, DuplicateKeyError, UnsupportedOperationError
from chronicle.store.payloads import (
    GZIP,
    NAMES,
    RAW,
    ZSTD,
    Dictionary,
    Encoder,
    PayloadError,
    StoredPayload,
    decoded_size,
    train,
)
from chronicle.store.prepare import now_utc

log = logging.getLogger("chronicle.compression")

DICTIONARY_BYTES = 256 * 1024
"""The size of a trained dictionary. Measured on chat events (bench/compression_bench.py): 110
KiB (zstd's default) gives about 2.9x, 256 KiB about 3.3x, larger ones add little and memorise
more of the text; training takes well under a second either way."""
TRAINING_EVENTS = 10_000
"""How many old events a dictionary is trained on (the oldest at first, the most recent when
retraining), a fifth of them held out to measure it."""
MIN_TRAINING_EVENTS = 200
"""Below this many old events no dictionary is trained, and nothing is compressed yet."""
DRIFT = 0.8
"""Retrain when a batch compresses to less than this share of the dictionary's held-out ratio."""
RETRAIN_GAIN = 1.1
"""A new dictionary replaces the current one only if it compresses the batch this much better."""
BATCH = 500
"""Rows re-encoded per transaction."""


class PayloadStore(Protocol):
    """What compression needs of a store (the SQL backends)."""

    def uncompressed_payloads(
        self, before: datetime, after: int = 0, limit: int = 1000
    ) -> list[StoredPayload]: ...

    def rewrite_payloads(self, rewrites: Sequence[StoredPayload], old_codec: int = 0) -> int: ...

    def dictionaries(self) -> list[Dictionary]: ...

    def add_dictionary(self, dictionary: Dictionary) -> None: ...


@dataclass
class CompressionReport:
    """What one run did (or, with ``dry_run``, would do)."""

    codec: str
    cutoff: datetime
    dry_run: bool
    events: int = 0
    bytes_before: int = 0
    bytes_after: int = 0
    dictionaries_trained: list[int] = field(default_factory=list)
    waiting: str | None = None
    """Why nothing was compressed although old events are stored raw, if so."""

    @property
    def ratio(self) -> float | None:
        return self.bytes_before / self.bytes_after if self.bytes_after else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "codec": self.codec,
            "cutoff": self.cutoff.isoformat(),
            "dry_run": self.dry_run,
            "events": self.events,
            "bytes_before": self.bytes_before,
            "bytes_after": self.bytes_after,
            "ratio": None if self.ratio is None else round(self.ratio, 3),
            "dictionaries_trained": self.dictionaries_trained,
            "waiting": self.waiting,
        }


@dataclass(frozen=True)
class CodecBytes:
    """How the events of one codec are stored: how many, their stored and their decoded bytes."""

    codec: str
    events: int
    stored_bytes: int
    logical_bytes: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "codec": self.codec,
            "events": self.events,
            "stored_bytes": self.stored_bytes,
            "logical_bytes": self.logical_bytes,
        }


def stored_sizes(store: Any, batch: int = 5000) -> list[CodecBytes]:
    """Stored and decoded payload bytes by codec. Decoded sizes come from each frame's header
    (zstd's content size, gzip's length trailer): nothing is decompressed."""
    counts: dict[int, tuple[int, int]] = store.payload_bytes()
    logical = {codec: 0 for codec in counts}
    logical[RAW] = counts.get(RAW, (0, 0))[1]
    after = 0
    while rows := store.encoded_payloads(after, batch):
        for row in rows:
            logical[row.codec] += decoded_size(row.codec, row.data)
            logical[row.codec] += decoded_size(row.codec, row.metadata)
        after = rows[-1].position
    return [
        CodecBytes(NAMES.get(codec, str(codec)), count, size, logical[codec])
        for codec, (count, size) in sorted(counts.items())
    ]


def codec_of(name: str) -> int:
    """The marker of ``CHRONICLE_COMPRESSION``'s value (``zstd`` or ``gzip``)."""
    if name == "zstd":
        return ZSTD
    if name == "gzip":
        return GZIP
    raise ValueError(f"unknown codec {name!r}: zstd or gzip")


class Compressor:
    """Re-encodes the payloads of events older than ``after_days``."""

    def __init__(
        self,
        store: Any,
        *,
        codec: str = "zstd",
        after_days: int = 7,
        batch_size: int = BATCH,
        clock: Callable[[], datetime] = now_utc,
    ) -> None:
        if not store.capabilities.compression:
            raise UnsupportedOperationError(
                f"the {store.backend} store keeps no stored bytes to compress"
            )
        self.store: PayloadStore = store
        self.codec = codec_of(codec)
        self.after_days = after_days
        self.batch_size = batch_size
        self.clock = clock

    def run(
        self,
        now: datetime | None = None,
        *,
        dry_run: bool = False,
        progress: Callable[[int], None] | None = None,
    ) -> CompressionReport:
        """Re-encode every event older than the cut-off that is still stored raw."""
        cutoff = (now or self.clock()) - timedelta(days=self.after_days)
        report = CompressionReport(NAMES[self.codec], cutoff, dry_run)
        encoder = self._encoder(cutoff, report)
        if encoder is None:
            return report
        recent: deque[StoredPayload] = deque(maxlen=TRAINING_EVENTS)
        after = 0
        retrain_after = 0
        while batch := self.store.uncompressed_payloads(cutoff, after, self.batch_size):
            recent.extend(batch)
            rewrites, before, encoded = self._encode(encoder, batch)
            dictionary = encoder.dictionary
            if (
                dictionary is not None
                and len(batch) == self.batch_size
                and before < DRIFT * dictionary.ratio * encoded
                and report.events >= retrain_after
            ):
                better = self._retrain(list(recent), dictionary, batch, before / encoded, report)
                retrain_after = report.events + TRAINING_EVENTS
                if better is not None:
                    encoder = better
                    rewrites, before, encoded = self._encode(encoder, batch)
            if not dry_run:
                self.store.rewrite_payloads(rewrites)
            report.events += len(batch)
            report.bytes_before += before
            report.bytes_after += encoded
            after = batch[-1].position
            if progress is not None:
                progress(len(batch))
        return report

    def follow(
        self,
        stop: threading.Event,
        interval: float = 300.0,
        on_run: Callable[[CompressionReport], None] | None = None,
    ) -> None:
        """Run every ``interval`` seconds until ``stop`` is set (the worker's compressor);
        ``on_run`` sees each run's report (the worker's metrics)."""
        while not stop.is_set():
            try:
                report = self.run()
                if on_run is not None:
                    on_run(report)
            except ChronicleError as exc:
                log.warning("compression failed, retrying in %.0fs: %s", interval, exc)
            else:
                if report.events:
                    log.info(
                        "compressed %d events (%s, %.2fx)",
                        report.events,
                        report.codec,
                        report.ratio or 1.0,
                    )
            stop.wait(interval)

    # -- encoding ----------------------------------------------------------------------------

    def _encode(
        self, encoder: Encoder, batch: list[StoredPayload]
    ) -> tuple[list[StoredPayload], int, int]:
        """The rewrites of ``batch``, each checked by decoding it again; bytes before, after."""
        rewrites: list[StoredPayload] = []
        before = encoded = 0
        for row in batch:
            data, metadata = encoder.encode(row.data), encoder.encode(row.metadata)
            if not (
                encoder.decodes_back(data, row.data)
                and encoder.decodes_back(metadata, row.metadata)
            ):
                raise PayloadError(f"the event at position {row.position} did not re-encode")
            rewrites.append(StoredPayload(row.position, encoder.codec, data, metadata))
            before += len(row.data) + len(row.metadata)
            encoded += len(data) + len(metadata)
        return rewrites, before, encoded

    def _encoder(self, cutoff: datetime, report: CompressionReport) -> Encoder | None:
        if self.codec == GZIP:
            return Encoder(GZIP)
        kept = self.store.dictionaries()
        if kept:
            return Encoder(ZSTD, kept[-1])
        samples = self.store.uncompressed_payloads(cutoff, 0, TRAINING_EVENTS)
        if len(samples) < MIN_TRAINING_EVENTS:
            if samples:
                report.waiting = (
                    f"only {len(samples)} events are old enough; a dictionary is trained once "
                    f"{MIN_TRAINING_EVENTS} are"
                )
            return None
        dictionary = self._trained(samples, 1)
        if not report.dry_run:
            dictionary = self._keep(dictionary)
        report.dictionaries_trained.append(dictionary.number)
        return Encoder(ZSTD, dictionary)

    def _retrain(
        self,
        recent: list[StoredPayload],
        current: Dictionary,
        batch: list[StoredPayload],
        ratio: float,
        report: CompressionReport,
    ) -> Encoder | None:
        """A new dictionary from ``recent`` if it does clearly better on ``batch``, else None."""
        candidate = self._trained(recent, current.number + 1)
        _, before, encoded = self._encode(Encoder(ZSTD, candidate), batch)
        if before < RETRAIN_GAIN * ratio * encoded:
            log.info(
                "a new dictionary would compress at %.2fx against %.2fx: kept dictionary %d",
                before / encoded,
                ratio,
                current.number,
            )
            return None
        if not report.dry_run:
            candidate = self._keep(candidate)
        report.dictionaries_trained.append(candidate.number)
        return Encoder(ZSTD, candidate)

    def _trained(self, rows: list[StoredPayload], number: int) -> Dictionary:
        """A dictionary trained on four fifths of ``rows``; its ratio measured on the rest."""
        held_out = rows[::5]
        training = [row for index, row in enumerate(rows) if index % 5]
        samples = [blob for row in training for blob in (row.data, row.metadata)]
        content = train(samples, DICTIONARY_BYTES, number)
        dictionary = Dictionary(number, content, len(training), 1.0, self.clock())
        _, before, encoded = self._encode(Encoder(ZSTD, dictionary), held_out)
        return replace(dictionary, ratio=before / encoded if encoded else 1.0)

    def _keep(self, dictionary: Dictionary) -> Dictionary:
        """Store ``dictionary`` before any row uses it; when another compressor stored one of
        that number first, use that one."""
        try:
            self.store.add_dictionary(dictionary)
        except DuplicateKeyError:
            return next(d for d in self.store.dictionaries() if d.number == dictionary.number)
        return dictionary
