"""Which code answers a Graph call: the twin's routing table.

Transport-free: a `GraphRequest` in, a `GraphResponse` out, so that `$batch` runs sub-requests
through exactly the same code as direct calls.

Adding a resource to the twin takes two steps:

1. A new module in `bot/sandbox/graph/resources/` that declares its routes on its own table::

       routes = Routes()

       @routes.route("GET", f"/things/{ID}")
       def get_thing(
           twin: TwinContext, request: GraphRequest, match: re.Match[str]
       ) -> GraphResponse:
           request.caller.require(READ_THINGS)
           return twin.entity(request, "things", ..., properties=..., type_name="thing")

   A handler reads the tenant and PIM state from `TwinContext` (`context.py`), which also answers
   with Graph's collection and entity rules (`$filter`, `$select`, `$expand`, paging).
2. One line registering the module: its name in `RESOURCES` in `resources/__init__.py`.

The router answers 405 (with `Allow`) for a known path called with another method, and Graph's
"unknown segment" 400 for a path it does not know. Two modules declaring the same method and
path is refused when the router is built.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from yarl import URL

from bot.sandbox.graph.auth import Caller
from bot.sandbox.graph.errors import GraphHttpError, unknown_segment

if TYPE_CHECKING:
    from bot.sandbox.graph.context import TwinContext

GRAPH_VERSIONS = ("v1.0", "beta")
ID = r"(?P<id>[^/()]+)"  # one key segment, captured as match["id"]
BY_CURRENT_USER = r"/filterByCurrentUser\(on='(?P<on>\w+)'\)"  # captured as match["on"]


@dataclass(frozen=True)
class GraphRequest:
    method: str
    version: str  # "v1.0" or "beta"
    path: str  # below the version, e.g. "/users/adele@contoso.example"
    query: Mapping[str, str]
    body: Any
    caller: Caller
    url: URL  # the absolute URL as called, for @odata.context and nextLink

    @property
    def service_root(self) -> str:
        return str(self.url.origin()) + f"/{self.version}"


@dataclass
class GraphResponse:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def changes_state(self) -> bool:
        return self.status < 400


Handler = Callable[["TwinContext", GraphRequest, "re.Match[str]"], GraphResponse]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    versions: tuple[str, ...]

    @property
    def mutates(self) -> bool:
        return self.method != "GET"


class Routes:
    """One resource module's routes, declared with `route` (decorators stack)."""

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def route(
        self, method: str, pattern: str, *, versions: tuple[str, ...] = GRAPH_VERSIONS
    ) -> Callable[[Handler], Handler]:
        """Serve `method` on `pattern` (a regex of the path below the version, matched whole,
        case-insensitively, with an optional trailing slash) with the decorated handler."""

        def register(handler: Handler) -> Handler:
            compiled = re.compile(pattern + "/?", re.IGNORECASE)
            self.routes.append(Route(method.upper(), compiled, handler, versions))
            return handler

        return register


class Router:
    """Every route of the registered resource modules, in registration order."""

    def __init__(self, tables: Iterable[Routes]) -> None:
        self.routes: list[Route] = []
        seen: set[tuple[str, str, str]] = set()
        for table in tables:
            for route in table.routes:
                for version in route.versions:
                    key = (route.method, route.pattern.pattern.lower(), version)
                    if key in seen:
                        raise ValueError(
                            f"{route.method} {route.pattern.pattern} ({version}) is declared twice"
                        )
                    seen.add(key)
                self.routes.append(route)
        self._known_words = {version: self._segments(version) for version in GRAPH_VERSIONS}

    def _segments(self, version: str) -> set[str]:
        words: set[str] = set()
        for route in self.routes:
            if version in route.versions:
                for part in route.pattern.pattern.split("/"):
                    if re.fullmatch(r"[A-Za-z$.]+", part):
                        words.add(part.lower())
        return words

    def dispatch(self, twin: TwinContext, request: GraphRequest) -> tuple[GraphResponse, bool]:
        """The response, and whether the call may have changed state."""
        allowed_methods = []
        for route in self.routes:
            if request.version not in route.versions:
                continue
            match = route.pattern.fullmatch(request.path)
            if match is None:
                continue
            if route.method != request.method:
                allowed_methods.append(route.method)
                continue
            return route.handler(twin, request, match), route.mutates
        if allowed_methods:
            raise GraphHttpError(
                405,
                "Request_BadRequest",
                f"The HTTP method '{request.method}' is not allowed for this resource.",
                headers={"Allow": ", ".join(sorted(set(allowed_methods)))},
            )
        known_words = self._known_words.get(request.version, set())
        segments = [s for s in request.path.split("/") if s]
        unknown = next((s for s in segments if s.lower() not in known_words), None)
        raise unknown_segment(unknown or (segments[-1] if segments else ""))
