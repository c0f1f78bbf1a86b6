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


# Size limits are enforced by the server (and listed in the README); a model does not write 500-character titles
# because a schema allowed it, so advertising every maxLength only costs context. Ranges that carry meaning
# (priority 1..4) and patterns (dates) stay.
LIMIT_KEYWORDS = frozenset({"maxLength", "minLength", "maxItems", "minItems", "exclusiveMinimum"})


def compact_schema(schema: dict[str, Any], drop: frozenset[str] = frozenset()) -> dict[str, Any]:
    """A copy of ``schema`` without titles (and the ``drop`` keywords), nullable optionals in their non-null form."""
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "title" or key in drop or (key == "additionalProperties" and isinstance(value, bool)):
            continue
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            out[key] = {name: _maybe(sub, drop) for name, sub in value.items()}  # pyright: ignore[reportUnknownVariableType]
        elif key in _SCHEMA_LISTS and isinstance(value, list):
            out[key] = [_maybe(sub, drop) for sub in value]  # pyright: ignore[reportUnknownVariableType]
        elif key in _SCHEMA_VALUES:
            out[key] = _maybe(value, drop)
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


def _maybe(value: Any, drop: frozenset[str]) -> Any:
    return compact_schema(value, drop) if isinstance(value, dict) else value  # pyright: ignore[reportUnknownArgumentType]
