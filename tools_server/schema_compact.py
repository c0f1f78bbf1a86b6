"""Smaller JSON Schemas for tools/list: every tool schema is read by the model on every turn, so bytes are context.

pydantic's schemas carry a ``title`` per field and spell each optional field as ``anyOf: [X, null]`` with
``default: null``. Neither tells a model anything: field names are the titles, and optional fields are simply left
out (structured results are dumped with ``exclude_none``). Both are dropped here; nothing else changes (a null that
is data, like a list entry, keeps its null branch).
"""

from __future__ import annotations

from typing import Any

_SCHEMA_MAPS = ("properties", "$defs", "patternProperties")
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SCHEMA_VALUES = ("items", "additionalProperties", "not")


def compact_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``schema`` without titles and with nullable optionals written as their non-null form."""
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "title":
            continue
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            out[key] = {name: _maybe(sub) for name, sub in value.items()}  # pyright: ignore[reportUnknownVariableType]
        elif key in _SCHEMA_LISTS and isinstance(value, list):
            out[key] = [_maybe(sub) for sub in value]  # pyright: ignore[reportUnknownVariableType]
        elif key in _SCHEMA_VALUES:
            out[key] = _maybe(value)
        else:
            out[key] = value
    options = out.get("anyOf")
    # Only optional fields (default null, left out of results) lose their null branch; a null inside a list is data.
    optional = "default" in out and out["default"] is None
    if optional and isinstance(options, list) and len(options) == 2 and {"type": "null"} in options:  # pyright: ignore[reportUnknownArgumentType]
        other: Any = next(o for o in options if o != {"type": "null"})  # pyright: ignore[reportUnknownVariableType, reportUnknownArgumentType]
        if isinstance(other, dict):
            del out["anyOf"]
            del out["default"]
            out = {**other, **out}  # pyright: ignore[reportUnknownArgumentType]
    return out


def _maybe(value: Any) -> Any:
    return compact_schema(value) if isinstance(value, dict) else value  # pyright: ignore[reportUnknownArgumentType]
