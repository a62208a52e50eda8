"""The key-encryption key that wraps every data key: from settings, or a file made on first use.

``CHRONICLE_KEY_ENCRYPTION_KEY`` holds 32 random bytes in base64 (``chronicle keys new-kek``
prints one); keep it in the deployment's secret store, never beside a backup of the key store.
Without it, a development store makes ``chronicle.kek`` (mode 0600) beside its key store the first
time a key is needed, and says so in the log.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import secrets
from pathlib import Path

from chronicle.errors import ConfigurationError

log = logging.getLogger(__name__)
VARIABLE = "CHRONICLE_KEY_ENCRYPTION_KEY"


def parse_kek(text: str) -> bytes:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise ConfigurationError(
            VARIABLE, "accepts 32 random bytes in base64 (make one with chronicle keys new-kek)"
        )
    return raw


def new_kek_text() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def kek_from_file(path: Path) -> bytes:
    """The key in ``path``, made there (readable by its owner only) when it does not exist.

    A new key is written whole to a file of its own and then linked to ``path``, which fails if
    another process got there first: a reader never sees a half-written key, and two processes
    starting at once end with the same key.
    """
    if path.exists():
        return parse_kek(path.read_text())
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(new_kek_text() + "\n")
            file.flush()
            os.fsync(file.fileno())
        try:
            os.link(draft, path)
            made = True
        except FileExistsError:
            made = False
        finally:
            draft.unlink()
    except OSError as exc:
        raise ConfigurationError(VARIABLE, f"is not set, and {path} cannot be made: {exc}") from exc
    if made:
        log.warning(
            "%s is not set: made a key-encryption key in %s; set the variable in production and "
            "keep the key apart from backups of the key store",
            VARIABLE,
            path,
        )
    return parse_kek(path.read_text())
