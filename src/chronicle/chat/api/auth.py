"""Bearer tokens: HS256 JWTs with an expiry, signed with CHRONICLE_SECRET_KEY.

When the variable is unset, a random key is generated once and kept in the data folder (beside
the SQLite file, or ``./data/secret_key``) so tokens survive a restart; a warning says so.
"""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt

from chronicle.config import EventConfig
from chronicle.errors import ChronicleError, ConfigurationError

log = logging.getLogger("chronicle.api")

ALGORITHM = "HS256"


class InvalidTokenError(ChronicleError):
    """A bearer token is missing, malformed, expired or not signed with our key."""


class InvalidCredentialsError(ChronicleError):
    """A log-in with a username and password that do not match an account."""


def secret_file(settings: EventConfig) -> Path:
    """Where the generated key is kept: next to the SQLite file, else ``./data/secret_key``."""
    if settings.store_url.startswith("sqlite:///"):
        path = settings.store_url.removeprefix("sqlite:///")
        if path and path != ":memory:":
            return Path(path).parent / "secret_key"
    return Path("data") / "secret_key"


def load_secret(settings: EventConfig) -> str:
    """CHRONICLE_SECRET_KEY, else the key kept in the data folder (generated on first use)."""
    if settings.secret_key is not None:
        value = settings.secret_key.get_secret_value()
        if len(value) < 32:
            raise ConfigurationError("CHRONICLE_SECRET_KEY", "must be at least 32 characters")
        return value
    path = secret_file(settings)
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    value = secrets.token_urlsafe(48)
    # Created with owner-only permissions before anything is written into it.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    log.warning(
        "CHRONICLE_SECRET_KEY is not set: generated a signing key for tokens and kept it in %s; "
        "set CHRONICLE_SECRET_KEY in production",
        path,
    )
    return value


@dataclass(frozen=True)
class Bearer:
    """What a valid token says: whose it is, and the token generation it was issued in."""

    user_id: str
    generation: int


@dataclass(frozen=True)
class Tokens:
    """Issues and checks access tokens.

    A token's ``gen`` claim is its user's token generation when it was issued (see
    ``Credentials.void_tokens``); a token without one, issued before the claim existed, is of
    generation 0.
    """

    secret: str
    minutes: int

    def issue(self, user_id: str, generation: int = 0) -> str:
        now = datetime.now(UTC)
        claims = {
            "sub": user_id,
            "gen": generation,
            "iat": now,
            "exp": now + timedelta(minutes=self.minutes),
        }
        return jwt.encode(claims, self.secret, algorithm=ALGORITHM)

    def read(self, token: str) -> Bearer:
        """Whose a valid token is, and its generation; ``InvalidTokenError`` otherwise."""
        try:
            claims = jwt.decode(
                token, self.secret, algorithms=[ALGORITHM], options={"require": ["exp", "sub"]}
            )
        except jwt.ExpiredSignatureError as exc:
            raise InvalidTokenError("the token has expired: log in again") from exc
        except jwt.InvalidTokenError as exc:
            raise InvalidTokenError("the token is not valid") from exc
        subject = claims.get("sub")
        if not isinstance(subject, str):
            raise InvalidTokenError("the token names no user")
        generation = claims.get("gen", 0)
        # bool is an int to Python, not a generation.
        if type(generation) is not int or generation < 0:
            raise InvalidTokenError("the token is not valid")
        return Bearer(subject, generation)

    def user_id(self, token: str) -> str:
        """The user id a valid token was issued to; ``InvalidTokenError`` otherwise."""
        return self.read(token).user_id
