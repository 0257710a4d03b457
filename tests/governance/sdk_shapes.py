"""Graph JSON checked against Microsoft's own Graph SDK models (msgraph-beta-sdk): parsed with
kiota's JSON parse node into the model the SDK would build, every property must be one the model
knows (unknown ones land in `additional_data`), in nested objects too."""

from __future__ import annotations

import json
from typing import Any

from kiota_abstractions.serialization import Parsable
from kiota_serialization_json.json_parse_node import JsonParseNode

# Annotations Graph adds to any object; the SDK keeps them aside too.
_ANNOTATIONS = ("@odata.context", "@odata.nextLink", "@odata.count")


def unknown_properties(payload: dict[str, Any], model: type[Parsable]) -> list[str]:
    body = {k: v for k, v in payload.items() if k not in _ANNOTATIONS}
    parsed = JsonParseNode(json.loads(json.dumps(body))).get_object_value(model)
    return sorted(_unknown(parsed, type(parsed).__name__))


def _unknown(value: Any, where: str) -> list[str]:
    found: list[str] = []
    if isinstance(value, list):
        for index, item in enumerate(value):
            found += _unknown(item, f"{where}[{index}]")
        return found
    if not hasattr(value, "get_field_deserializers"):
        return found
    extra = getattr(value, "additional_data", {}) or {}
    found += [f"{where}.{key}" for key in extra if not key.startswith("@odata.")]
    for name in value.get_field_deserializers():
        attr = _attribute(name)
        found += _unknown(getattr(value, attr, None), f"{where}.{name}")
    return found


def _attribute(camel: str) -> str:
    if camel.startswith("@odata."):
        return "odata_" + camel.removeprefix("@odata.")
    return "".join("_" + c.lower() if c.isupper() else c for c in camel)
