"""Checks a Graph twin's JSON against Microsoft's Graph SDK models (msgraph-sdk, kiota): every
property the twin sends must be one the SDK's model of that type knows."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from kiota_abstractions.serialization import Parsable
from kiota_serialization_json.json_parse_node import JsonParseNode


def unknown_properties(payload: Any, model: type[Parsable]) -> list[str]:
    """Paths of the properties in `payload` that the SDK's `model` (and the models of its
    nested values, by their `@odata.type`) does not know; empty when the shape is Graph's."""
    parsed = JsonParseNode(payload).get_object_value(model)  # type: ignore[type-var]
    return sorted(_unknown(parsed, ""))


def _unknown(value: Any, path: str) -> Iterator[str]:
    if isinstance(value, list):
        for index, item in enumerate(value):
            yield from _unknown(item, f"{path}[{index}]")
        return
    if not isinstance(value, Parsable):
        return
    extra = getattr(value, "additional_data", None) or {}
    for name in extra:
        if not name.startswith("@odata."):
            yield f"{path}.{name}" if path else name
    for attribute, nested in vars(value).items():
        if attribute != "additional_data":
            yield from _unknown(nested, f"{path}.{attribute}" if path else attribute)
