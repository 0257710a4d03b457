"""The small, honest OData subset the twin understands: `$filter` (comparisons joined by `and`,
`in (...)`, `startswith`), `$select`, `$expand` (nested with `;`-separated options), `$top`,
`$count` and opaque `$skiptoken` paging.

Anything outside that subset is a 400 `BadRequest` that says so: silently ignoring a filter
would let a client bug pass in the sandbox and fail against the real Graph.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from yarl import URL

from bot.sandbox.graph.errors import bad_request

MAX_TOP = 999
_SUPPORTED_OPTIONS = {"$filter", "$select", "$expand", "$top", "$skiptoken", "$count"}
_COMPARISONS = {"eq", "ne", "gt", "ge", "lt", "le"}


# --- $filter ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    path: tuple[str, ...]  # `initiatedBy/user/id` → ("initiatedBy", "user", "id")
    op: str  # eq ne gt ge lt le in startswith
    value: object  # a tuple for `in`

    @property
    def prop(self) -> str:
        return self.path[0]


_TOKEN = re.compile(r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<punct>[(),])|(?P<word>[^\s(),']+))")


def _tokenize(text: str) -> list[str]:
    tokens: list[str] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            if text[position:].strip():
                raise bad_request(f"Invalid $filter: cannot read '{text[position:]}'.")
            break
        tokens.append(match.group("str") or match.group("punct") or match.group("word"))
        position = match.end()
    return tokens


def _literal(token: str) -> object:
    if token.startswith("'"):
        return token[1:-1].replace("''", "'")
    lowered = token.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "null":
        return None
    if re.fullmatch(r"-?\d+", token):
        return int(token)
    return token  # GUIDs and date-times are written without quotes


class _FilterParser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.position = 0

    def parse(self) -> list[Comparison]:
        clauses = self._conjunction()
        if self.position != len(self.tokens):
            raise self._error(f"unexpected '{self.tokens[self.position]}'")
        return clauses

    def _peek(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def _take(self) -> str:
        token = self._peek()
        if token is None:
            raise self._error("the expression ends too early")
        self.position += 1
        return token

    def _expect(self, wanted: str) -> None:
        token = self._take()
        if token != wanted:
            raise self._error(f"expected '{wanted}' but found '{token}'")

    def _error(self, why: str) -> Exception:
        return bad_request(f"Invalid $filter '{self.text}': {why}.")

    def _conjunction(self) -> list[Comparison]:
        clauses = self._primary()
        while (token := self._peek()) is not None and token.lower() in ("and", "or"):
            if token.lower() == "or":
                raise self._error("the sandbox Graph supports 'and' but not 'or'")
            self._take()
            clauses += self._primary()
        return clauses

    def _primary(self) -> list[Comparison]:
        token = self._take()
        if token == "(":
            clauses = self._conjunction()
            self._expect(")")
            return clauses
        if token.lower() == "not":
            raise self._error("'not' is not supported by the sandbox Graph")
        if self._peek() == "(":
            return [self._function(token)]
        path = tuple(token.split("/"))
        op = self._take().lower()
        if op == "in":
            return [Comparison(path, "in", self._value_list())]
        if op not in _COMPARISONS:
            raise self._error(f"unsupported operator '{op}'")
        value_token = self._take()
        if value_token in ("(", ")", ","):
            raise self._error(f"expected a value after '{op}'")
        return [Comparison(path, op, _literal(value_token))]

    def _function(self, name: str) -> Comparison:
        if name.lower() != "startswith":
            raise self._error(f"the function '{name}' is not supported by the sandbox Graph")
        self._expect("(")
        path = tuple(self._take().split("/"))
        self._expect(",")
        prefix = _literal(self._take())
        self._expect(")")
        if not isinstance(prefix, str):
            raise self._error("startswith needs a string")
        return Comparison(path, "startswith", prefix)

    def _value_list(self) -> tuple[object, ...]:
        self._expect("(")
        values = [_literal(self._take())]
        while self._peek() == ",":
            self._take()
            values.append(_literal(self._take()))
        self._expect(")")
        return tuple(values)


def parse_filter(text: str | None) -> list[Comparison]:
    """The comparisons of a `$filter`, all of which must hold (they are joined by `and`)."""
    if not text or not text.strip():
        return []
    return _FilterParser(text).parse()


def _resolve(item: Mapping[str, Any], path: Sequence[str]) -> object:
    value: object = item
    for part in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _as_datetime(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and re.match(r"\d{4}-\d{2}-\d{2}T", value):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return None


def _equal(left: object, right: object) -> bool:
    if isinstance(left, str) and isinstance(right, str):
        return left.lower() == right.lower()  # Graph compares directory strings ignoring case
    return left == right


def _order(left: object, right: object) -> int | None:
    left_time, right_time = _as_datetime(left), _as_datetime(right)
    if left_time is not None and right_time is not None:
        return (left_time > right_time) - (left_time < right_time)
    if isinstance(left, int | float) and isinstance(right, int | float):
        return (left > right) - (left < right)
    if isinstance(left, str) and isinstance(right, str):
        return (left > right) - (left < right)
    return None


def _holds(item: Mapping[str, Any], clause: Comparison) -> bool:
    actual = _resolve(item, clause.path)
    match clause.op:
        case "eq":
            return _equal(actual, clause.value)
        case "ne":
            return not _equal(actual, clause.value)
        case "in":
            assert isinstance(clause.value, tuple)
            return any(_equal(actual, candidate) for candidate in clause.value)
        case "startswith":
            return isinstance(actual, str) and actual.lower().startswith(str(clause.value).lower())
        case _:
            order = _order(actual, clause.value)
            if order is None:
                return False
            return {"gt": order > 0, "ge": order >= 0, "lt": order < 0, "le": order <= 0}[clause.op]


def matches(item: Mapping[str, Any], clauses: Iterable[Comparison]) -> bool:
    return all(_holds(item, clause) for clause in clauses)


def check_filterable(clauses: Iterable[Comparison], allowed: Iterable[str], type_name: str) -> None:
    """400 for a filter on a property the collection does not filter on."""
    allowed_lower = {name.lower() for name in allowed}
    for clause in clauses:
        if clause.prop.lower() not in allowed_lower:
            raise bad_request(
                f"Invalid filter clause: the property '{clause.prop}' of "
                f"'microsoft.graph.{type_name}' cannot be used in a filter here."
            )


def equality_value(clauses: Iterable[Comparison], prop: str) -> object | None:
    """The value of a top-level `prop eq value` clause, or None when there is none."""
    for clause in clauses:
        if clause.op == "eq" and len(clause.path) == 1 and clause.prop.lower() == prop.lower():
            return clause.value
    return None


# --- $select and $expand -----------------------------------------------------------------------


@dataclass(frozen=True)
class Expand:
    name: str
    expand: tuple[Expand, ...] = ()
    select: tuple[str, ...] | None = None


def _split_top_level(text: str, separator: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                raise bad_request(f"Invalid $expand '{text}': unbalanced parentheses.")
        if char == separator and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    if depth:
        raise bad_request(f"Invalid $expand '{text}': unbalanced parentheses.")
    parts.append(current)
    return [part.strip() for part in parts if part.strip()]


def parse_select(text: str | None) -> tuple[str, ...] | None:
    if text is None:
        return None
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    if not names:
        raise bad_request("Invalid $select: no property named.")
    return names


def parse_expand(text: str | None) -> tuple[Expand, ...]:
    if not text:
        return ()
    items = []
    for part in _split_top_level(text, ","):
        match = re.fullmatch(r"([A-Za-z][\w.]*)\s*(?:\((.*)\))?", part, re.DOTALL)
        if not match:
            raise bad_request(f"Invalid $expand item '{part}'.")
        nested: tuple[Expand, ...] = ()
        select: tuple[str, ...] | None = None
        for option in _split_top_level(match.group(2) or "", ";"):
            key, _, value = option.partition("=")
            key = key.strip().lower()
            if key == "$expand":
                nested = parse_expand(value)
            elif key == "$select":
                select = parse_select(value)
            else:
                raise bad_request(f"The option '{key}' inside $expand is not supported.")
        items.append(Expand(match.group(1), nested, select))
    return tuple(items)


def project(item: Mapping[str, Any], select: Sequence[str] | None) -> dict[str, Any]:
    """Keep the selected properties (and annotations such as `@odata.type`)."""
    if select is None:
        return dict(item)
    wanted = {name.lower() for name in select}
    return {
        key: value for key, value in item.items() if key.startswith("@") or key.lower() in wanted
    }


def check_selectable(select: Sequence[str] | None, allowed: Iterable[str], type_name: str) -> None:
    if select is None:
        return
    allowed_lower = {name.lower() for name in allowed}
    for name in select:
        if name.lower() not in allowed_lower:
            raise bad_request(
                f"Could not find a property named '{name}' on type 'microsoft.graph.{type_name}'."
            )


def check_expandable(
    expand: Sequence[Expand], allowed: Iterable[str], type_name: str
) -> dict[str, Expand]:
    """The requested expansions by their canonical name; 400 for an unknown one."""
    canonical = {name.lower(): name for name in allowed}
    chosen: dict[str, Expand] = {}
    for item in expand:
        name = canonical.get(item.name.lower())
        if name is None:
            raise bad_request(
                f"Could not find a navigation property named '{item.name}' on type "
                f"'microsoft.graph.{type_name}'."
            )
        chosen[name] = item
    return chosen


# --- the whole query, and paging ---------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    filter: list[Comparison] = field(default_factory=list)
    select: tuple[str, ...] | None = None
    expand: tuple[Expand, ...] = ()
    top: int | None = None
    offset: int = 0
    count: bool = False


def _decode_skiptoken(token: str) -> int:
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        offset = data["offset"]
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise bad_request("Invalid $skiptoken.") from None
    if not isinstance(offset, int) or offset < 0:
        raise bad_request("Invalid $skiptoken.")
    return offset


def _encode_skiptoken(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode().rstrip("=")


def parse_query(params: Mapping[str, str]) -> Query:
    """Read the system query options; 400 for options the twin does not implement."""
    for key in params:
        if key.startswith("$") and key.lower() not in _SUPPORTED_OPTIONS:
            raise bad_request(f"The query option '{key}' is not supported by the sandbox Graph.")
    lowered = {key.lower(): value for key, value in params.items()}
    top: int | None = None
    if "$top" in lowered:
        raw = lowered["$top"]
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_TOP:
            raise bad_request(
                f"Invalid page size specified: '{raw}'. Must be between 1 and {MAX_TOP} inclusive."
            )
        top = int(raw)
    count = lowered.get("$count", "false").lower()
    if count not in ("true", "false"):
        raise bad_request("Invalid $count: use true or false.")
    return Query(
        filter=parse_filter(lowered.get("$filter")),
        select=parse_select(lowered.get("$select")),
        expand=parse_expand(lowered.get("$expand")),
        top=top,
        offset=_decode_skiptoken(lowered["$skiptoken"]) if "$skiptoken" in lowered else 0,
        count=count == "true",
    )


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_link: str | None
    total: int


def paginate(
    items: Sequence[dict[str, Any]], query: Query, page_size: int, request_url: URL
) -> Page:
    """One page of `items`: `$top` (at most the server's page size) items from the skiptoken's
    offset, and a nextLink that repeats the request with a new skiptoken."""
    size = min(query.top or page_size, page_size)
    end = query.offset + size
    next_link = None
    if end < len(items):
        next_link = str(request_url.update_query({"$skiptoken": _encode_skiptoken(end)}))
    return Page(list(items[query.offset : end]), next_link, len(items))
