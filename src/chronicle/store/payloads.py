"""How an event's payload (its ``data`` and ``metadata``) is stored: the codec of each row.

Every row carries a codec marker:

- ``RAW`` (0): the canonical JSON bytes, as appended;
- ``GZIP`` (1): gzip (RFC 1952) of those bytes;
- ``ZSTD`` (2): one Zstandard frame (RFC 8878) of those bytes, made with a dictionary trained on
  the store's own events. The frame header names the dictionary (its ``number``), so each row
  decodes on its own, given the store's dictionaries, which are kept forever.

Only old events are re-encoded (see :mod:`chronicle.compression`); every read decodes
transparently. The integrity hash is over the decoded canonical bytes, so no codec ever changes a
hash, and a re-encoding that changed the content fails verification.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import zstandard

from chronicle.errors import ChronicleError

RAW = 0
GZIP = 1
ZSTD = 2
CODECS = {"raw": RAW, "gzip": GZIP, "zstd": ZSTD}
"""Codec names (as settings and reports spell them) and their markers."""
NAMES = {marker: name for name, marker in CODECS.items()}

ZSTD_LEVEL = 9
"""The Zstandard level old events are written with (see bench/ for the measurements)."""


@dataclass(frozen=True, slots=True)
class StoredPayload:
    """A row's payload as stored: its position, codec and encoded ``data`` and ``metadata``."""

    position: int
    codec: int
    data: bytes
    metadata: bytes


class PayloadError(ChronicleError):
    """A stored payload cannot be decoded: an unknown codec, a missing dictionary, a bad frame."""


@dataclass(frozen=True, slots=True)
class Dictionary:
    """A Zstandard dictionary of the store: numbered from 1, content-addressed by ``digest``."""

    number: int
    content: bytes
    samples: int
    ratio: float
    trained_at: datetime

    @property
    def digest(self) -> bytes:
        return dictionary_digest(self.content)


def dictionary_digest(content: bytes) -> bytes:
    """SHA-256 of a dictionary's bytes: what names it, whatever its number."""
    return hashlib.sha256(content).digest()


def train(samples: list[bytes], size: int, number: int) -> bytes:
    """A dictionary of at most ``size`` bytes trained on ``samples``; its frames name ``number``.

    ``PayloadError`` when the samples are too few or too alike to train on.
    """
    try:
        trained = zstandard.train_dictionary(
            size, list[bytes | bytearray | memoryview](samples), dict_id=number
        )
    except zstandard.ZstdError as exc:
        raise PayloadError(f"cannot train a dictionary on {len(samples)} samples: {exc}") from exc
    return bytes(trained.as_bytes())


def decoded_size(codec: int, blob: bytes) -> int:
    """The size of a payload once decoded, read from its frame (nothing is decompressed)."""
    if codec == ZSTD:
        size = zstandard.get_frame_parameters(blob).content_size
        return int(size) if size >= 0 else len(blob)
    if codec == GZIP:
        return int.from_bytes(blob[-4:], "little")  # ISIZE (RFC 1952): payloads are < 4 GiB
    return len(blob)


class Encoder:
    """Encodes payloads with one codec (and, for zstd, one dictionary). Not shared by threads."""

    def __init__(self, codec: int, dictionary: Dictionary | None = None) -> None:
        if codec == ZSTD and dictionary is None:
            raise PayloadError("zstd payloads need a dictionary")
        self.codec = codec
        self.dictionary = dictionary
        self._zstd = (
            zstandard.ZstdCompressor(
                level=ZSTD_LEVEL,
                dict_data=zstandard.ZstdCompressionDict(dictionary.content),
                write_content_size=True,
                write_checksum=False,
            )
            if dictionary is not None and codec == ZSTD
            else None
        )
        self._check = Decoder(self._own_dictionary)

    def encode(self, payload: bytes) -> bytes:
        if self._zstd is not None:
            return bytes(self._zstd.compress(payload))
        if self.codec == GZIP:
            return gzip.compress(payload, compresslevel=9, mtime=0)
        return payload

    def decodes_back(self, encoded: bytes, payload: bytes) -> bool:
        """Whether ``encoded`` decodes to ``payload`` (checked before anything is written)."""
        return self._check.decode(self.codec, encoded) == payload

    def _own_dictionary(self, number: int) -> bytes | None:
        dictionary = self.dictionary
        return dictionary.content if dictionary and dictionary.number == number else None


def dictionary_of(codec: int, blob: bytes) -> int:
    """The number of the dictionary a stored payload was compressed with (0: none)."""
    if codec != ZSTD:
        return 0
    try:
        return int(zstandard.get_frame_parameters(blob).dict_id)
    except zstandard.ZstdError:
        return 0  # not a frame: decoding it says so


class Decoder:
    """Decodes stored payloads; asks ``load`` for a dictionary the first time a frame names it.

    Thread-safe: each thread keeps its own decompressors (dictionaries never change, so what is
    cached stays right).
    """

    def __init__(self, load: Callable[[int], bytes | None]) -> None:
        self._load = load
        self._local = threading.local()
        self._dictionaries: dict[int, zstandard.ZstdCompressionDict] = {}
        self._lock = threading.Lock()

    def decode(self, codec: int, blob: bytes) -> bytes:
        if codec == RAW:
            return blob
        try:
            if codec == ZSTD:
                number = zstandard.get_frame_parameters(blob).dict_id
                return bytes(self._decompressor(number).decompress(blob))
            if codec == GZIP:
                return gzip.decompress(blob)
        except (zstandard.ZstdError, OSError, EOFError) as exc:
            raise PayloadError(f"a stored {NAMES[codec]} payload does not decode: {exc}") from exc
        raise PayloadError(f"a stored payload has the unknown codec {codec}")

    def _decompressor(self, number: int) -> zstandard.ZstdDecompressor:
        cache: dict[int, zstandard.ZstdDecompressor] | None = getattr(self._local, "cache", None)
        if cache is None:
            cache = self._local.cache = {}
        found = cache.get(number)
        if found is None:
            found = cache[number] = zstandard.ZstdDecompressor(dict_data=self._dictionary(number))
        return found

    def _dictionary(self, number: int) -> zstandard.ZstdCompressionDict:
        with self._lock:
            found = self._dictionaries.get(number)
            if found is None:
                content = self._load(number)
                if content is None:
                    raise PayloadError(
                        f"a stored payload needs compression dictionary {number}, "
                        "which the store does not have"
                    )
                found = self._dictionaries[number] = zstandard.ZstdCompressionDict(content)
            return found
