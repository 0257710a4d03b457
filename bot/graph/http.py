"""The one way pimbot talks HTTP to Microsoft Graph.

Retries what Graph asks to be retried (429, 503, 504, with `Retry-After`) and what never reached
it (connection failures), within a total time budget; refreshes the token once on a 401; follows
`@odata.nextLink` pages; turns error responses into the `GraphError` hierarchy. A POST is only
retried when Graph certainly did not act on it: a refusal response (429/503/504) or a failure to
connect. A timeout after the request may have been sent is retried for idempotent methods only.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any

import httpx

from bot.graph import httpcore_speedup  # noqa: F401  (applies its fix on import)
from bot.graph.errors import GraphError, GraphUnavailable, error_from_response
from bot.graph.tokens import TokenProvider
from bot.retry_after import parse_retry_after
from bot.telemetry import mark_failed, record_graph_request, work_span

logger = logging.getLogger(__name__)

Params = Mapping[str, str | int]
# Told of every attempt: method, status (None: no response) and seconds taken (for metrics).
GraphObserver = Callable[[str, int | None, float], None]
JsonObject = dict[str, Any]

RETRIED_STATUSES = frozenset({429, 503, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
# Raised before any byte of the request left: safe to retry for every method.
NOT_SENT_ERRORS: tuple[type[Exception], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
)
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
# At most 20 connections to Graph, all kept alive. httpx's default (100 connections, 20 kept
# alive) made a busy bot reconnect: httpcore closes an idle connection whenever the pool holds
# more than 20 connections in all, so with more than 20 turns waiting on Graph most answers
# closed their connection and the next request connected (against Graph, a TLS handshake)
# again. And the pool's bookkeeping on each request start and end visits every connection,
# and for each idle one counts them all: its cost grows with the square of the pool's size
# (in a 50-user profile with 100 allowed, more than half of httpcore's time). A 21st request
# in flight waits for a free connection.
DEFAULT_LIMITS = httpx.Limits(max_connections=20, max_keepalive_connections=20)


def retry_after_seconds(headers: httpx.Headers, now: datetime | None = None) -> float | None:
    """`Retry-After` in seconds (Graph sends seconds; an HTTP date is accepted too)."""
    return parse_retry_after(headers.get("retry-after"), now)


class GraphHttp:
    """Graph over httpx: `base_url` is PIMBOT_GRAPH_URL (`https://graph.microsoft.com`); paths
    are relative to the version (`/roleManagement/directory/roleDefinitions`)."""

    def __init__(
        self,
        base_url: str,
        tokens: TokenProvider,
        *,
        version: str = "v1.0",
        client: httpx.AsyncClient | None = None,
        max_retry_time: float = 30.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
        backoff_base: float = 0.5,
        backoff_cap: float = 8.0,
        observer: GraphObserver | None = None,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._tokens = tokens
        self._version = version
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(timeout=DEFAULT_TIMEOUT, limits=DEFAULT_LIMITS)
        self._max_retry_time = max_retry_time
        self._sleep = sleep
        self._clock = clock
        self._jitter = jitter
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._observer = observer

    @property
    def base_url(self) -> str:
        return self._base_url

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    def url(self, path: str, version: str | None = None) -> str:
        return f"{self._base_url}/{version or self._version}/{path.lstrip('/')}"

    # --- verbs ---------------------------------------------------------------------------------

    async def get_json(
        self,
        path: str,
        params: Params | None = None,
        *,
        version: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> JsonObject:
        response = await self.request(
            "GET", self.url(path, version), params=params, headers=headers
        )
        return _json_object(response)

    async def post_json(
        self, path: str, body: Mapping[str, Any], *, version: str | None = None
    ) -> tuple[JsonObject, httpx.Headers]:
        response = await self.request("POST", self.url(path, version), json=body)
        return _json_object(response), response.headers

    async def patch_json(
        self, path: str, body: Mapping[str, Any], *, version: str | None = None
    ) -> JsonObject:
        """The updated object, or {} for Graph's usual 204 No Content."""
        response = await self.request("PATCH", self.url(path, version), json=body)
        return _json_object(response)

    async def delete(self, path: str, *, version: str | None = None) -> None:
        await self.request("DELETE", self.url(path, version))

    async def get_all(
        self,
        path: str,
        params: Params | None = None,
        *,
        version: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> AsyncIterator[JsonObject]:
        """Every item of a collection, following `@odata.nextLink` exactly as given."""
        async for item in self._items(self.url(path, version), params, headers):
            yield item

    async def get_all_from(self, next_link: str) -> AsyncIterator[JsonObject]:
        """The items of a collection from its `@odata.nextLink` on (a page Graph sent inside a
        `$batch` answer)."""
        if not _has_base(next_link, self._base_url):
            raise GraphError(
                200, "UnexpectedNextLink", f"@odata.nextLink points outside {self._base_url}"
            )
        async for item in self._items(next_link, None, None):
            yield item

    async def _items(
        self, first_url: str, params: Params | None, headers: Mapping[str, str] | None
    ) -> AsyncIterator[JsonObject]:
        url: str | None = first_url
        page_params: Params | None = params
        while url:
            response = await self.request("GET", url, params=page_params, headers=headers)
            page = _json_object(response)
            for item in page.get("value") or []:
                if isinstance(item, dict):
                    yield item
            next_link = page.get("@odata.nextLink")
            url = str(next_link) if next_link else None
            if url and not _has_base(url, self._base_url):
                # The bearer token must never leave for another host.
                raise GraphError(
                    response.status_code,
                    "UnexpectedNextLink",
                    f"@odata.nextLink points outside {self._base_url}",
                    request_id=response.headers.get("request-id"),
                )
            page_params = None  # the link carries its own query

    # --- the engine room -----------------------------------------------------------------------

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: Params | None = None,
        json: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send with retries; return a 2xx/3xx response or raise the matching GraphError. One
        span (`graph <METHOD>`) covers the request with all its attempts."""
        method = method.upper()
        attributes = {"http.request.method": method, "url.path": _path_of(url)}
        with work_span(f"graph {method}", attributes) as span:
            started = self._clock()
            status: int | None = None
            try:
                response = await self._send(method, url, params=params, json=json, headers=headers)
            except GraphError as exc:
                status = exc.status
                span.set_attribute("http.response.status_code", exc.status)
                span.set_attribute("graph.error.code", exc.code)
                mark_failed(span, exc.code)
                raise
            finally:
                record_graph_request(method, status, self._clock() - started)
            status = response.status_code
            span.set_attribute("http.response.status_code", status)
            request_id = response.headers.get("request-id")
            if request_id:
                span.set_attribute("graph.request_id", request_id)
            return response

    async def _send(
        self,
        method: str,
        url: str,
        *,
        params: Params | None,
        json: Mapping[str, Any] | None,
        headers: Mapping[str, str] | None,
    ) -> httpx.Response:
        started = self._clock()
        slept = 0.0
        attempt = 0
        token_refreshed = False
        while True:
            token = await self._tokens.token()
            request_headers = {
                **(headers or {}),
                "Authorization": f"Bearer {token}",
                "client-request-id": str(uuid.uuid4()),
                "Accept": "application/json",
            }
            sent_at = self._clock()
            try:
                response = await self._client.request(
                    method, url, params=params, json=json, headers=request_headers
                )
            except httpx.TransportError as exc:
                self._log(method, url, None, sent_at, None, request_headers, repr(exc))
                if method not in IDEMPOTENT_METHODS and not isinstance(exc, NOT_SENT_ERRORS):
                    raise _transport_error(exc, "the request may have been received") from exc
                delay = self.backoff(attempt)
                if not self.within_budget(started, slept, delay):
                    raise _transport_error(exc, "retry budget exhausted") from exc
                await self._sleep(delay)
                slept += delay
                attempt += 1
                continue

            request_id = response.headers.get("request-id")
            self._log(method, url, response.status_code, sent_at, request_id, request_headers)
            if response.status_code == 401 and not token_refreshed:
                self._tokens.invalidate()
                token_refreshed = True
                continue
            if response.status_code in RETRIED_STATUSES:
                retry_after = retry_after_seconds(response.headers)
                delay = retry_after if retry_after is not None else self.backoff(attempt)
                if self.within_budget(started, slept, delay):
                    await self._sleep(delay)
                    slept += delay
                    attempt += 1
                    continue
                raise _error(response, retry_after)
            if response.status_code >= 400:
                raise _error(response, retry_after_seconds(response.headers))
            return response

    # --- retry arithmetic, shared with `bot.graph.batch` (sub-requests retried in a batch) ----

    def clock(self) -> float:
        return self._clock()

    async def sleep(self, seconds: float) -> None:
        await self._sleep(seconds)

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with equal jitter: half fixed, half random."""
        ceiling = min(self._backoff_cap, self._backoff_base * 2**attempt)
        return float(ceiling / 2 + ceiling / 2 * self._jitter())

    def within_budget(self, started: float, slept: float, delay: float) -> bool:
        # With an injected sleep the clock does not move; count what was slept as well.
        spent = max(self._clock() - started, slept)
        return spent + delay <= self._max_retry_time

    def _log(
        self,
        method: str,
        url: str,
        status: int | None,
        sent_at: float,
        request_id: str | None,
        request_headers: Mapping[str, str],
        failure: str = "",
    ) -> None:
        if self._observer is not None:
            self._observer(method, status, self._clock() - sent_at)
        logger.info(
            "graph %s %s -> %s in %.0f ms request-id=%s client-request-id=%s%s",
            method,
            _path_of(url),
            status if status is not None else "no response",
            (self._clock() - sent_at) * 1000,
            request_id,
            request_headers.get("client-request-id"),
            f" ({failure})" if failure else "",
        )


def _path_of(url: str) -> str:
    """The path of an absolute URL (for logs and spans), without parsing all of it."""
    _, _, rest = url.partition("://")
    path = "/" + rest.partition("/")[2]
    return path.partition("?")[0].partition("#")[0]


def _has_base(url: str, base: str) -> bool:
    return url == base or url.startswith(base + "/")


def _json_object(response: httpx.Response) -> JsonObject:
    if response.status_code == 204 or not response.content:
        return {}
    try:
        body = response.json()
    except ValueError as exc:
        raise GraphError(
            response.status_code,
            "InvalidResponse",
            "Graph answered with a body that is not JSON",
            request_id=response.headers.get("request-id"),
        ) from exc
    if not isinstance(body, dict):
        raise GraphError(
            response.status_code,
            "InvalidResponse",
            "Graph answered with JSON that is not an object",
            request_id=response.headers.get("request-id"),
        )
    return body


def _error(response: httpx.Response, retry_after: float | None) -> GraphError:
    try:
        body: object = response.json()
    except ValueError:
        body = None
    return error_from_response(
        response.status_code,
        body,
        request_id=response.headers.get("request-id"),
        retry_after=retry_after,
    )


def _transport_error(exc: httpx.TransportError, why: str) -> GraphUnavailable:
    timed_out = isinstance(exc, httpx.TimeoutException)
    return GraphUnavailable(
        504 if timed_out else 503,
        "Timeout" if timed_out else "ConnectionFailed",
        f"no answer from Graph ({type(exc).__name__}); {why}",
    )
