"""The ``chronicle`` command for operators.

Each command group lives in its own module and registers itself on :data:`app`; ``main`` reads the
settings once before any command runs, so a bad variable stops every command with exit code 2.
"""

from __future__ import annotations

import sys

from chronicle.cli import (  # noqa: F401  (each registers its commands)
    archive_commands,
    audit_commands,
    hold_commands,
    import_commands,
    integrity_commands,
    keys_commands,
    lifecycle_commands,
    projection_commands,
    proof_commands,
    publish_commands,
    serve_commands,
    store_commands,
    users_commands,
)
from chronicle.cli.app import app, console_err
from chronicle.config import get_settings
from chronicle.errors import ConfigurationError

__all__ = ["app", "main"]


# Commands that read no settings: a proof is checked with nothing but the file and a key.
_WITHOUT_SETTINGS = {"verify-proof"}


def main() -> None:
    """Entry point of the ``chronicle`` console script."""
    if not _WITHOUT_SETTINGS.intersection(sys.argv[1:2]):
        try:
            get_settings()
        except ConfigurationError as exc:
            console_err.print(f"[bold red]configuration error:[/] {exc}")
            sys.exit(2)
    app()
