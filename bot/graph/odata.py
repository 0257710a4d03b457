"""Putting values into Graph URLs: OData string literals in `$filter`, ids in paths."""

from __future__ import annotations

from urllib.parse import quote


def odata_string(value: str) -> str:
    """An OData string literal: single quotes, embedded quotes doubled."""
    return "'" + value.replace("'", "''") + "'"


def path_segment(value: str) -> str:
    """One path segment, every reserved character escaped (an id can't reach another path)."""
    return quote(value, safe="")
