"""The audit web page: a static page over the service's own audit API."""

from chronicle.chat.web.page import web_router

__all__ = ["web_router"]
