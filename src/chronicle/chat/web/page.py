"""Serves the audit page (``/ui``), its script and style, and the standalone proof checker
(``/ui/proof.js``: inclusion proofs checked in the browser with Web Crypto), with a strict
content policy.

The page holds no data of its own: after sign-in it calls ``/auth/token`` and the ``/audit/…``
endpoints with the caller's bearer token, so it shows exactly what that role may read.
"""

from __future__ import annotations

from importlib.resources import files

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response

_ASSETS = {
    "audit.html": "text/html; charset=utf-8",
    "audit.js": "text/javascript; charset=utf-8",
    "proof.js": "text/javascript; charset=utf-8",
    "audit.css": "text/css; charset=utf-8",
}
_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


def web_router() -> APIRouter:
    """Routes for the audit page; its files are read once, when the router is built."""
    folder = files("chronicle.chat.web").joinpath("static")
    bodies = {name: folder.joinpath(name).read_bytes() for name in _ASSETS}
    router = APIRouter(include_in_schema=False)

    def asset(name: str) -> Response:
        return Response(
            bodies[name],
            media_type=_ASSETS[name],
            headers={
                "Content-Security-Policy": _POLICY,
                "X-Content-Type-Options": "nosniff",
                "Cache-Control": "no-cache",
            },
        )

    @router.get("/")
    def root() -> RedirectResponse:
        return RedirectResponse("/ui")

    @router.get("/ui")
    def page() -> Response:
        return asset("audit.html")

    @router.get("/ui/audit.js")
    def script() -> Response:
        return asset("audit.js")

    @router.get("/ui/proof.js")
    def proof_script() -> Response:
        return asset("proof.js")

    @router.get("/ui/audit.css")
    def style() -> Response:
        return asset("audit.css")

    return router
