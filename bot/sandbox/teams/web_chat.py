"""The web chat the Teams twin serves at `/`: a Teams-like 1:1 chat with pimbot in the browser.

The page is static (HTML, JS, CSS shipped as package data, with Microsoft's Adaptive Cards
renderer vendored under `web/vendor/`, so it works offline) and speaks only the twin's client API
(`/_sandbox/users/{who}/…`), exactly as `pimbot chat` does: it says things as a user, presses
card actions, signs in and long-polls the user's transcript for what the bot sent.

The client API changes state without credentials (it stands for people at their Teams clients), so
a page on another origin must not drive it from the user's browser: state-changing requests that
carry a foreign `Origin` are refused.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from importlib import resources

from aiohttp import web

from bot.sandbox.entra import TenantView

WEB_PACKAGE = "bot.sandbox.teams"
WEB_DIR = "web"
ASSET_PREFIX = "/_sandbox/web/"
# Every file the page loads, with its content type; nothing else under the prefix is served.
ASSETS: Mapping[str, str] = {
    "index.html": "text/html; charset=utf-8",
    "webchat.js": "text/javascript; charset=utf-8",
    "markdown.js": "text/javascript; charset=utf-8",
    "webchat.css": "text/css; charset=utf-8",
    "teams.css": "text/css; charset=utf-8",
    "teams_host_config.json": "application/json",
    "vendor/adaptivecards/adaptivecards.min.js": "text/javascript; charset=utf-8",
    "vendor/adaptivecards/adaptivecards.css": "text/css; charset=utf-8",
    "vendor/adaptivecards/LICENSE": "text/plain; charset=utf-8",
    "vendor/adaptivecards/adaptivecards.min.js.LICENSE.txt": "text/plain; charset=utf-8",
    "vendor/adaptivecards/NOTICE": "text/plain; charset=utf-8",
}
# Scripts and styles only from the twin itself: a card or message that smuggled markup into the
# page still could not run anything. (The renderer sets inline styles, hence style-src.)
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def asset_bytes(name: str) -> bytes:
    """A shipped file of the page (package data)."""
    if name not in ASSETS:
        raise KeyError(name)
    path = resources.files(WEB_PACKAGE).joinpath(WEB_DIR, *name.split("/"))
    return path.read_bytes()


class WebChat:
    """Serves the page, its files and the list of people one can chat as."""

    def __init__(self, tenant: TenantView) -> None:
        self.tenant = tenant
        self._assets: dict[str, bytes] = {}
        self._loading = asyncio.Lock()

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/", self._page),
            web.get(ASSET_PREFIX + "{name:.+}", self._asset),
            web.get("/_sandbox/users", self._people),
        ]

    async def _page(self, request: web.Request) -> web.StreamResponse:
        return await self._serve("index.html")

    async def _asset(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in ASSETS or name == "index.html":
            raise web.HTTPNotFound()
        return await self._serve(name)

    async def _serve(self, name: str) -> web.Response:
        body = self._assets.get(name)
        if body is None:
            async with self._loading:
                body = self._assets.get(name)
                if body is None:
                    body = await asyncio.to_thread(asset_bytes, name)
                    self._assets[name] = body
        return web.Response(body=body, headers=_headers(ASSETS[name]))

    async def _people(self, request: web.Request) -> web.Response:
        """Who one can chat as: every demo user but the break-glass accounts."""
        people = [
            {
                "handle": user.handle,
                "displayName": user.display_name,
                "jobTitle": str(getattr(user, "job_title", "") or ""),
            }
            for user in self.tenant.users
            if not getattr(user, "break_glass", False)
        ]
        tenant_name = str(getattr(self.tenant, "display_name", "") or "")
        return web.json_response(
            {"tenant": tenant_name, "users": people}, headers={"Cache-Control": "no-store"}
        )


def _headers(content_type: str) -> dict[str, str]:
    headers = {
        "Content-Type": content_type,
        "Cache-Control": "no-cache",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }
    if content_type.startswith("text/html"):
        headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        headers["X-Frame-Options"] = "DENY"
    return headers


@web.middleware
async def same_origin_only(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse a state-changing request to the client API sent by a page of another origin.

    Browsers add `Origin` to cross-origin POST/PUT/DELETE requests, including the "simple" ones
    that need no preflight (a form posting `text/plain`); clients that are not browsers (the
    terminal chat, the tests, the bot) send none and are unaffected.
    """
    origin = request.headers.get("Origin")
    if (
        request.method not in SAFE_METHODS
        and request.path.startswith("/_sandbox/")
        and origin is not None
        and origin != f"{request.scheme}://{request.host}"
    ):
        return web.json_response(
            {"error": {"code": "Forbidden", "message": "Cross-origin requests are refused."}},
            status=403,
        )
    return await handler(request)
