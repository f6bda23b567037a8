"""The web interface: the built single-page app (``frontend/web/dist``) served at ``/``.

The router's default (what it calls when no route matches), so every API route,
``/health``, ``/ready``, ``/metrics`` and ``/docs`` keeps precedence, and a wrong method
on an API path stays a 405. A file of the build is answered as such; any other GET of a
client-side route gets ``index.html`` (the app routes in the browser), except under the
API prefixes, which keep answering JSON 404s. HTML answers carry the
Content-Security-Policy the app works under: scripts only from this origin, inline styles
(MUI/emotion inject them), API and WebSocket calls only to this origin, no framing."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.types import Receive, Scope, Send

from deployments.ingress.errors import error_response

DEFAULT_DIST = Path(__file__).resolve().parents[2] / "frontend" / "web" / "dist"

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
HTML_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-cache",
}
# Paths that never fall back to index.html (unknown ones stay JSON 404s).
RESERVED = ("api", "health", "ready", "metrics", "docs", "redoc", "openapi.json")


class WebApp:
    """ASGI app serving the build in ``dist`` (which must contain ``index.html``)."""

    def __init__(self, dist: Path) -> None:
        self.dist = dist.resolve()
        self.index = self.dist / "index.html"

    def _file(self, path: str) -> Path | None:
        if not path:
            return None
        candidate = (self.dist / path).resolve()
        if not candidate.is_relative_to(self.dist) or not candidate.is_file():
            return None
        return candidate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        path = request.url.path.lstrip("/")
        first = path.split("/", 1)[0]
        response: Response
        if first in RESERVED or request.method not in ("GET", "HEAD"):  # API: JSON 404s
            response = error_response(404, "Not Found")
        else:
            found = self._file(path)
            if found is not None and found != self.index:
                immutable = path.startswith("assets/")
                headers = {"X-Content-Type-Options": "nosniff",
                           "Cache-Control": "public, max-age=31536000, immutable" if immutable
                           else "no-cache"}
                if found.suffix == ".html":
                    headers.update(HTML_HEADERS)
                response = FileResponse(found, headers=headers)
            elif found is None and "." in path.rsplit("/", 1)[-1]:
                response = error_response(404, "Not Found")  # a missing asset, not a route
            else:
                response = FileResponse(self.index, headers=HTML_HEADERS,
                                        media_type="text/html; charset=utf-8")
        await response(scope, receive, send)


def web_app(dist: Path | None = None) -> WebApp | None:
    """The app for ``dist`` (default: the repository's ``frontend/web/dist``); None when it
    has not been built."""
    folder = dist or DEFAULT_DIST
    return WebApp(folder) if (folder / "index.html").is_file() else None
