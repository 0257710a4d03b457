"""Several Graph reads in one round trip: JSON batching (`POST /v1.0/$batch`).

Graph runs each sub-request on its own: each has its own status, a throttled one answers 429
with its own `Retry-After` while the others succeed, at most 20 go in one batch, and the answers
may come in any order (matched by `id`). `get_collections` reads collections this way: every
first page in one batch (20 per batch), then any further pages one by one (`@odata.nextLink`),
and throttled or unavailable sub-requests again in a later batch after their `Retry-After`,
within `GraphHttp`'s retry budget. One read alone is sent as a plain GET.

Counting: a batch is one HTTP round trip to Graph; each sub-request is still a request Graph
executes and counts against the throttling limits, as if sent alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from bot.graph.errors import GraphError, error_from_response
from bot.graph.http import RETRIED_STATUSES, GraphHttp, JsonObject, Params
from bot.retry_after import parse_retry_after

MAX_BATCH_REQUESTS = 20
BATCH_PATH = "/$batch"


@dataclass(frozen=True)
class CollectionRead:
    """A GET of a collection: `path` relative to the version, with its query."""

    path: str
    params: Params


Items = list[JsonObject]


async def get_collections(
    http: GraphHttp, reads: Sequence[CollectionRead]
) -> list[Items | GraphError]:
    """For each read, in order: every item of the collection, or the error Graph ended it with
    (after the retries a throttled or unavailable read gets). Errors of the batch itself
    (the round trip, authentication) are raised."""
    if len(reads) == 1:
        return [await _alone(http, reads[0])]
    results: list[Items | GraphError | None] = [None] * len(reads)
    for start in range(0, len(reads), MAX_BATCH_REQUESTS):
        chunk = range(start, min(start + MAX_BATCH_REQUESTS, len(reads)))
        await _run_chunk(http, reads, list(chunk), results)
    done: list[Items | GraphError] = []
    for result in results:
        assert result is not None
        done.append(result)
    return done


async def _alone(http: GraphHttp, read: CollectionRead) -> Items | GraphError:
    try:
        return [item async for item in http.get_all(read.path, read.params)]
    except GraphError as exc:
        return exc


async def _run_chunk(
    http: GraphHttp,
    reads: Sequence[CollectionRead],
    indexes: list[int],
    results: list[Items | GraphError | None],
) -> None:
    waiting = indexes
    attempt = 0
    slept = 0.0
    started = http.clock()
    while waiting:
        body = {
            "requests": [
                {"id": str(i), "method": "GET", "url": sub_request_url(reads[i])} for i in waiting
            ]
        }
        payload, _ = await http.post_json(BATCH_PATH, body)
        answers = _answers_by_id(payload)
        again: list[int] = []
        delay = 0.0
        for i in waiting:
            answer = answers.get(str(i))
            if answer is None:
                results[i] = GraphError(
                    200, "InvalidResponse", f"the batch answer has no response for request {i}"
                )
                continue
            status, headers, sub_body = answer
            if status in RETRIED_STATUSES:
                retry_after = parse_retry_after(headers.get("retry-after"))
                wait = retry_after if retry_after is not None else http.backoff(attempt)
                if http.within_budget(started, slept, max(delay, wait)):
                    again.append(i)
                    delay = max(delay, wait)
                    continue
                results[i] = _error(status, headers, sub_body, retry_after)
            elif status >= 400:
                results[i] = _error(status, headers, sub_body, None)
            else:
                results[i] = await _all_items(http, sub_body, status, headers)
        waiting = again
        if waiting:
            await http.sleep(delay)
            slept += delay
            attempt += 1


def sub_request_url(read: CollectionRead) -> str:
    """The sub-request's URL, relative to the version, with its query percent-encoded."""
    query = "&".join(
        f"{quote(str(name), safe='$')}={quote(str(value), safe=chr(39) + '$,()')}"
        for name, value in read.params.items()
    )
    return read.path + (f"?{query}" if query else "")


def _answers_by_id(payload: JsonObject) -> dict[str, tuple[int, dict[str, str], Any]]:
    answers: dict[str, tuple[int, dict[str, str], Any]] = {}
    responses = payload.get("responses")
    if not isinstance(responses, list):
        raise GraphError(200, "InvalidResponse", "the batch answer has no 'responses' array")
    for response in responses:
        if not isinstance(response, dict) or "id" not in response:
            continue
        try:
            status = int(response.get("status") or 0)
        except (TypeError, ValueError):
            status = 0
        raw_headers = response.get("headers")
        headers = (
            {str(k).lower(): str(v) for k, v in raw_headers.items()}
            if isinstance(raw_headers, dict)
            else {}
        )
        answers[str(response["id"])] = (status, headers, response.get("body"))
    return answers


def _error(
    status: int, headers: dict[str, str], body: Any, retry_after: float | None
) -> GraphError:
    return error_from_response(
        status, body, request_id=headers.get("request-id"), retry_after=retry_after
    )


async def _all_items(
    http: GraphHttp, body: Any, status: int, headers: dict[str, str]
) -> Items | GraphError:
    if not isinstance(body, dict):
        return GraphError(
            status,
            "InvalidResponse",
            "Graph answered a batched read without a JSON object",
            request_id=headers.get("request-id"),
        )
    items: Items = [item for item in body.get("value") or [] if isinstance(item, dict)]
    next_link = body.get("@odata.nextLink")
    if next_link:
        try:
            items.extend([item async for item in http.get_all_from(str(next_link))])
        except GraphError as exc:
            return exc
    return items
