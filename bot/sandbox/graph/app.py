"""`GraphTwin`: the aiohttp application that stands in for Microsoft Graph's PIM endpoints.

Every call, direct or inside `$batch`, goes through one pipeline: injected latency → outage → bearer
token → injected throttling → the clock (sweep) → the resource → Graph's error format, with
`request-id`/`client-request-id` headers, recorded in `calls` for tests to assert on.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from aiohttp import web
from yarl import URL

from bot.sandbox.graph.auth import Caller, unauthenticated
from bot.sandbox.graph.context import TwinContext
from bot.sandbox.graph.errors import GraphHttpError, bad_request, error_body
from bot.sandbox.graph.licence import PimLicence
from bot.sandbox.graph.resources import build_router
from bot.sandbox.graph.role_management import RoleManagement
from bot.sandbox.graph.router import GraphRequest, GraphResponse
from bot.sandbox.graph.state import (
    TwinState,
    load_state,
    seed_state,
    write_state_atomically,
)
from bot.sandbox.graph.teamwork import TeamsAppInstalls
from bot.sandbox.graph.values import new_guid, utc_now
from bot.sandbox.tenant import DemoTenant

log = logging.getLogger(__name__)

MAX_BATCH_REQUESTS = 20
_OUTAGE_CODES = {500: "generalException", 503: "serviceNotAvailable", 504: "gatewayTimeout"}


@dataclass(frozen=True)
class RecordedCall:
    """One call the twin answered (a `$batch` records itself and each of its sub-requests)."""

    method: str
    path: str  # with the version, e.g. "/v1.0/users/adele@contoso.example"
    query: dict[str, str]
    json: Any  # the request body, None when there was none
    status: int
    claims: Mapping[str, Any] | None  # the caller's verified token claims; None if unverified
    request_id: str = ""
    batch_request_id: str = ""  # a `$batch` sub-request: the request-id of its batch


@dataclass
class _Injected:
    remaining: int
    status: int
    retry_after: int | None = None
    method: str | None = None

    def applies_to(self, method: str) -> bool:
        return self.remaining > 0 and (self.method is None or self.method == method.upper())


@dataclass
class _Delay:
    remaining: int
    seconds: float
    method: str | None
    path: str | None  # a suffix of the path after the version: "/roleAssignmentScheduleRequests"
    answer_late: bool = False  # carry the request out first, then hold its answer

    def applies_to(self, method: str, path: str) -> bool:
        return (
            self.remaining > 0
            and (self.method is None or self.method == method.upper())
            and (self.path is None or path.endswith(self.path))
        )


@dataclass
class _Call:
    method: str
    version: str
    path: str
    query: dict[str, str]
    body: Any
    headers: Mapping[str, str]
    url: URL
    claims: Mapping[str, Any] | None = field(default=None)


class GraphTwin:
    """Microsoft Graph's PIM endpoints for one demo tenant, on aiohttp."""

    def __init__(
        self,
        tenant: DemoTenant,
        *,
        verify_token: Callable[[str], Mapping[str, Any]],
        now: Callable[[], datetime] = utc_now,
        page_size: int = 100,
        state_path: Path | None = None,
    ) -> None:
        self.tenant = tenant
        self.calls: list[RecordedCall] = []
        self._verify_token = verify_token
        self._now = now
        self._state_path = state_path
        self._state = self._initial_state()
        self._roles = RoleManagement(tenant, self._state, now)
        self.teamwork = TeamsAppInstalls(tenant)  # the Twins runner makes Teams its host
        self._context = TwinContext(self._roles, page_size, self.teamwork)
        self._router = build_router()
        self.licence = PimLicence()  # `licensed = False`: a tenant without PIM's licence
        self._throttles: list[_Injected] = []
        self._outages: list[_Injected] = []
        self._delays: list[_Delay] = []
        self._released = asyncio.Event()
        self.held = 0  # requests waiting in an injected delay right now
        self._dirty = False
        self._save_lock = asyncio.Lock()
        self._pending_saves: set[asyncio.Task[None]] = set()
        self.app = web.Application()
        self.app.router.add_post("/{version:v1\\.0|beta}/$batch", self._serve_batch)
        self.app.router.add_route("*", "/{version:v1\\.0|beta}/{path:.*}", self._serve)
        self.app.on_cleanup.append(self._flush)

    # --- test and sandbox controls ------------------------------------------------------------

    def throttle(self, count: int, retry_after: int = 1, *, method: str | None = None) -> None:
        """The next `count` requests (with that method, if given) get 429 + Retry-After."""
        self._throttles.append(
            _Injected(count, 429, retry_after, method.upper() if method else None)
        )

    def outage(self, count: int, status: int = 503) -> None:
        """The next `count` requests (a `$batch` counts as one) get `status`."""
        self._outages.append(_Injected(count, status))

    def delay(
        self,
        seconds: float,
        count: int = 1,
        *,
        method: str | None = None,
        path: str | None = None,
        answer_late: bool = False,
    ) -> None:
        """The next `count` requests (with that method and path suffix, if given) wait `seconds`
        before they are served, or until `release()`. A held request is served even when its
        client has gone away meanwhile, as Graph finishes what it received. With `answer_late`,
        the request is carried out at once and its answer waits instead (Graph has done it; the
        caller does not know yet)."""
        self._delays.append(
            _Delay(count, seconds, method.upper() if method else None, path, answer_late)
        )

    def release(self) -> None:
        """End every injected wait now. Call it on the twin's loop."""
        self._released.set()
        self._released = asyncio.Event()

    def calm(self) -> None:
        """Drop every injected throttle, outage and delay, and end the waits. On the twin's loop."""
        self._throttles.clear()
        self._outages.clear()
        self._delays.clear()
        self.release()

    def sweep(self) -> None:
        """Apply the clock now: ended schedules disappear (with audit records), future ones
        start, approvals time out. Also runs before every request."""
        roles_changed = self._roles.sweep()
        if self._context.reviews.sweep() or roles_changed:
            self._dirty = True
            self._save_soon()

    @property
    def state(self) -> TwinState:
        """The twin's PIM state (read it in tests; change it only through Graph calls)."""
        return self._state

    # --- persistence ---------------------------------------------------------------------------

    def _initial_state(self) -> TwinState:
        seeded = seed_state(self.tenant)
        saved = load_state(self._state_path) if self._state_path else None
        if saved is None:
            return seeded
        known = {policy.role_id for policy in saved.policies}
        saved.policies += [p for p in seeded.policies if p.role_id not in known]
        return saved

    async def _save_if_changed(self) -> None:
        if not self._dirty or self._state_path is None:
            self._dirty = False
            return
        async with self._save_lock:
            if not self._dirty:
                return
            self._dirty = False
            document = self._state.model_dump_json()  # a consistent snapshot, taken on the loop
            await asyncio.to_thread(write_state_atomically, self._state_path, document)

    def _save_soon(self) -> None:
        if self._state_path is None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._dirty = False
            write_state_atomically(self._state_path, self._state.model_dump_json())
            return
        task = loop.create_task(self._save_if_changed())
        self._pending_saves.add(task)
        task.add_done_callback(self._pending_saves.discard)

    async def _flush(self, _: web.Application) -> None:
        if self._pending_saves:
            await asyncio.gather(*self._pending_saves)
        await self._save_if_changed()

    # --- HTTP ----------------------------------------------------------------------------------

    def _delay_for(self, call: _Call) -> _Delay | None:
        """The injected delay this call takes (counted as taken), if any."""
        rule = next((d for d in self._delays if d.applies_to(call.method, call.path)), None)
        if rule is not None:
            rule.remaining -= 1
        return rule

    async def _hold(self, rule: _Delay | None) -> None:
        if rule is None:
            return
        self.held += 1
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._released.wait(), rule.seconds)
        finally:
            self.held -= 1

    async def _wait_if_delayed(self, call: _Call) -> None:
        await self._hold(self._delay_for(call))

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        call = await self._read_call(request)
        if isinstance(call, web.Response):
            return call
        rule = self._delay_for(call)
        if rule is None or not rule.answer_late:
            await self._hold(rule)
        response = self._run(call, outer=True)
        await self._save_if_changed()
        if rule is not None and rule.answer_late:
            await self._hold(rule)
        return _to_web(response)

    async def _read_call(self, request: web.Request) -> _Call | web.Response:
        version = request.match_info["version"]
        body: Any = None
        if request.can_read_body:
            text = await request.text()
            if text.strip():
                try:
                    body = json.loads(text)
                except ValueError:
                    request_id = new_guid()
                    client_request_id = request.headers.get("client-request-id") or request_id
                    invalid = bad_request("The request body is not valid JSON.")
                    return _to_web(self._error_response(invalid, request_id, client_request_id))
        return _Call(
            method=request.method.upper(),
            version=version,
            path="/" + request.match_info.get("path", "$batch"),
            query=dict(request.query),
            body=body,
            headers=request.headers,
            url=request.url,
        )

    def _run(self, call: _Call, *, outer: bool, batch_request_id: str = "") -> GraphResponse:
        """The pipeline for one call; `outer` is False for a `$batch` sub-request (of the batch
        `batch_request_id`)."""
        request_id = new_guid()
        client_request_id = call.headers.get("client-request-id") or request_id
        try:
            if outer:
                self._inject(self._outages, call.method, retry_after_header=False)
            if call.claims is None:
                call.claims = self._authenticate(call.headers)
            self._inject(self._throttles, call.method, retry_after_header=True)
            self.sweep()
            self.licence.check(call.path)
            graph_request = GraphRequest(
                method=call.method,
                version=call.version,
                path=call.path,
                query=call.query,
                body=call.body,
                caller=Caller(call.claims),
                url=call.url,
            )
            response, mutates = self._router.dispatch(self._context, graph_request)
            if mutates and response.changes_state:
                self._dirty = True
        except GraphHttpError as error:
            response = self._error_response(error, request_id, client_request_id)
        response.headers.setdefault("request-id", request_id)
        response.headers.setdefault("client-request-id", client_request_id)
        self.calls.append(
            RecordedCall(
                method=call.method,
                path=f"/{call.version}{call.path}",
                query=dict(call.query),
                json=call.body,
                status=response.status,
                claims=call.claims,
                request_id=request_id,
                batch_request_id=batch_request_id,
            )
        )
        return response

    def _inject(self, injected: list[_Injected], method: str, *, retry_after_header: bool) -> None:
        rule = next((i for i in injected if i.applies_to(method)), None)
        if rule is None:
            return
        rule.remaining -= 1
        if rule.status == 429:
            raise GraphHttpError(
                429,
                "TooManyRequests",
                "Too many requests. Retry after the time given in the Retry-After header.",
                headers={"Retry-After": str(rule.retry_after)} if retry_after_header else {},
            )
        raise GraphHttpError(
            rule.status,
            _OUTAGE_CODES.get(rule.status, "UnknownError"),
            "The service is temporarily unavailable. Please try again later.",
        )

    def _authenticate(self, headers: Mapping[str, str]) -> Mapping[str, Any]:
        scheme, _, token = headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise unauthenticated("Access token is empty.")
        try:
            return self._verify_token(token.strip())
        except Exception as exc:  # the verifier's own reasons stay in our log, not the answer
            log.info("graph twin: rejected a bearer token (%s)", type(exc).__name__)
            raise unauthenticated("Access token validation failure.") from None

    def _error_response(
        self, error: GraphHttpError, request_id: str, client_request_id: str
    ) -> GraphResponse:
        body = error_body(
            error.code,
            error.message,
            request_id=request_id,
            client_request_id=client_request_id,
            now=self._now(),
        )
        headers = {
            **error.headers,
            "request-id": request_id,
            "client-request-id": client_request_id,
        }
        return GraphResponse(error.status, body, headers)

    # --- $batch --------------------------------------------------------------------------------

    async def _serve_batch(self, request: web.Request) -> web.StreamResponse:
        call = await self._read_call(request)
        if isinstance(call, web.Response):
            return call
        call.path = "/$batch"
        await self._wait_if_delayed(call)
        request_id = new_guid()
        client_request_id = call.headers.get("client-request-id") or request_id
        try:
            self._inject(self._outages, call.method, retry_after_header=False)
            call.claims = self._authenticate(call.headers)
            responses = self._run_batch(call, request_id)
            response = GraphResponse(200, {"responses": responses})
        except GraphHttpError as error:
            response = self._error_response(error, request_id, client_request_id)
        response.headers.update({"request-id": request_id, "client-request-id": client_request_id})
        self.calls.append(
            RecordedCall(
                call.method,
                f"/{call.version}/$batch",
                call.query,
                call.body,
                response.status,
                call.claims,
                request_id,
            )
        )
        await self._save_if_changed()
        return _to_web(response)

    def _run_batch(self, batch: _Call, request_id: str) -> list[dict[str, Any]]:
        items = batch.body.get("requests") if isinstance(batch.body, dict) else None
        if not isinstance(items, list) or not items:
            raise bad_request("A batch needs a non-empty 'requests' array.")
        if len(items) > MAX_BATCH_REQUESTS:
            raise bad_request(
                f"The number of requests in the batch ({len(items)}) exceeds the limit of "
                f"{MAX_BATCH_REQUESTS}."
            )
        ids: list[str] = []
        for item in items:
            if not isinstance(item, dict) or not all(k in item for k in ("id", "method", "url")):
                raise bad_request("Each batch request needs 'id', 'method' and 'url'.")
            if str(item["id"]) in ids:
                raise bad_request(f"The batch request id '{item['id']}' is used twice.")
            for dependency in item.get("dependsOn") or []:
                if str(dependency) not in ids:
                    raise bad_request(
                        f"Request '{item['id']}' depends on '{dependency}', which is not an "
                        "earlier request of the batch."
                    )
            ids.append(str(item["id"]))
        statuses: dict[str, int] = {}
        responses = []
        for item in items:
            item_id = str(item["id"])
            failed = [d for d in item.get("dependsOn") or [] if statuses[str(d)] >= 400]
            if failed:
                response = GraphResponse(
                    424,
                    {"error": {"code": "FailedDependency", "message": "A dependency failed."}},
                )
            else:
                response = self._run(
                    self._sub_call(batch, item), outer=False, batch_request_id=request_id
                )
            statuses[item_id] = response.status
            entry: dict[str, Any] = {
                "id": item_id,
                "status": response.status,
                "headers": {"Content-Type": "application/json", **response.headers},
            }
            if response.body is not None:
                entry["body"] = response.body
            responses.append(entry)
        return responses

    def _sub_call(self, batch: _Call, item: Mapping[str, Any]) -> _Call:
        relative = URL(str(item["url"]).lstrip("/"))
        if relative.is_absolute():
            raise bad_request("Batch request URLs must be relative to the version.")
        path = "/" + relative.path.lstrip("/")
        headers = {str(k): str(v) for k, v in (item.get("headers") or {}).items()}
        return _Call(
            method=str(item["method"]).upper(),
            version=batch.version,
            path=path,
            query=dict(relative.query),
            body=item.get("body"),
            headers=headers,
            url=batch.url.with_path(f"/{batch.version}{path}").with_query(dict(relative.query)),
            claims=batch.claims,
        )


def _to_web(response: GraphResponse) -> web.Response:
    if response.body is None:
        return web.Response(status=response.status, headers=response.headers)
    return web.json_response(response.body, status=response.status, headers=response.headers)


__all__ = ["GraphTwin", "RecordedCall"]
