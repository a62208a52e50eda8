"""The chat service's HTTP API. Build it with :func:`create_app`."""

from chronicle.chat.api.app import create_app

__all__ = ["create_app"]
