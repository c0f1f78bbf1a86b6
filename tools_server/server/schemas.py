"""The JSON Schemas tools/list advertises: ones every client framework converts without loss, and small, since the
model reads every input schema on every turn.

What converters do with pydantic's own schemas (issue 22): OpenAI strict mode (openai-agents, langchain) gives up on
a ``$ref`` and sends the tool non-strict; Gemini's converters turn a recursive ``$ref`` into a bare array; Gemini CLI
and Copilot CLI refuse ``$ref`` outright. So references are inlined, and a recursive model (a task's subtasks) is
unrolled to a fixed depth (the depth the server accepts anyway). Strict mode also makes every field required: an
optional field keeps its ``null`` branch so a strict model can still say "not given".

Dropped, as they tell a model nothing: titles (field names are the titles), ``default: null`` (the null branch says
it), the size limits the server enforces anyway (LIMIT_KEYWORDS), ``additionalProperties: false`` (the server
rejects unknown keys itself). Kept: ranges and patterns with meaning, as one ``type`` per schema (``anyOf`` with
null, not a type list: Gemini's dialect has no type lists). add_item's and update_items' priority and dates say their
range and form in words where the field is described (inputs.py), which the unrolled copies leave out.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from types import UnionType
from typing import Annotated, Any, Union, cast, get_args, get_origin, get_type_hints

from mcp.types import CallToolResult
from pydantic import BaseModel

_SCHEMA_MAPS = ("properties", "patternProperties")
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SCHEMA_VALUES = ("items", "additionalProperties", "not")
_NULL: dict[str, Any] = {"type": "null"}


# Size limits are enforced by the server (and listed in the README); a model does not write 500-character titles
# because a schema allowed it, so advertising every maxLength only costs context (and OpenAI strict mode rejects
# minLength/maxLength, which pydantic-ai then moves into descriptions). Ranges that carry meaning (priority 1..4)
# and patterns (dates) stay.
LIMIT_KEYWORDS = frozenset({"maxLength", "minLength", "maxItems", "minItems", "exclusiveMinimum"})


class _Cut:
    """A reference past the unrolling depth: the property holding it is left out of the schema."""


_CUT = _Cut()


def portable_schema(schema: dict[str, Any], drop: frozenset[str] = frozenset(), copies: int = 1) -> dict[str, Any]:
    """``schema`` with every ``$ref`` inlined (a recursive model at most ``copies`` times deep, the innermost copy
    without the property that recurses), then compacted (see the module docstring)."""
    defs: dict[str, Any] = schema.get("$defs", {})
    root = {key: value for key, value in schema.items() if key != "$defs"}
    inlined = _inline(root, defs, {}, copies)
    assert isinstance(inlined, dict), "a root schema is never cut"
    return compact_schema(inlined, drop)  # pyright: ignore[reportUnknownArgumentType]


def _inline(node: Any, defs: dict[str, Any], seen: dict[str, int], copies: int) -> Any:
    if isinstance(node, list):
        return [_inline(entry, defs, seen, copies) for entry in cast(list[Any], node)]
    if not isinstance(node, dict):
        return node
    schema = cast(dict[str, Any], node)
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        name = ref.removeprefix("#/$defs/")
        depth = seen.get(name, 0)
        if depth >= copies:
            return _CUT
        target = _inline(defs[name], defs, {**seen, name: depth + 1}, copies)
        siblings = {k: v for k, v in schema.items() if k != "$ref"}
        recursive = f'"{ref}"' in json.dumps(defs[name])
        if depth or (recursive and seen):
            # An unrolled copy repeats fields the model has just read described (a subtask inside a task: the same
            # fields as the task around it); repeating the descriptions in every copy only costs context.
            target = _undescribed(target)
        return {**target, **siblings}
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            kept = {n: _inline(s, defs, seen, copies) for n, s in cast(dict[str, Any], value).items()}
            out[key] = {n: s for n, s in kept.items() if s is not _CUT}
        elif key in _SCHEMA_LISTS and isinstance(value, list):
            branches = [_inline(s, defs, seen, copies) for s in cast(list[Any], value)]
            branches = [s for s in branches if s is not _CUT]
            if not [s for s in branches if s != _NULL]:
                return _CUT  # only "null" is left: the field cannot be given at this depth
            out[key] = branches
        elif key in _SCHEMA_VALUES:
            sub = _inline(value, defs, seen, copies)
            if sub is _CUT:
                return _CUT  # an array of cut items is cut itself
            out[key] = sub
        else:
            out[key] = value
    return out


def _undescribed(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            k: _undescribed(v)
            for k, v in cast(dict[str, Any], node).items()
            if k != "description" or not isinstance(v, str)
        }
    if isinstance(node, list):
        return [_undescribed(v) for v in cast(list[Any], node)]
    return node


def compact_schema(schema: dict[str, Any], drop: frozenset[str] = frozenset()) -> dict[str, Any]:
    """A copy of ``schema`` without titles, ``default: null``, ``additionalProperties: false`` (and the ``drop``
    keywords); optional fields keep their null branch."""
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "title" or key in drop or (key == "additionalProperties" and isinstance(value, bool)):
            continue
        if key == "default" and (value is None or value is False):
            continue  # null: the null branch says it; false: a flag is off unless given
        if key in (*_SCHEMA_MAPS, "$defs") and isinstance(value, dict):
            out[key] = {name: _maybe(sub, drop) for name, sub in value.items()}  # pyright: ignore[reportUnknownVariableType]
        elif key in _SCHEMA_LISTS and isinstance(value, list):
            out[key] = [_maybe(sub, drop) for sub in value]  # pyright: ignore[reportUnknownVariableType]
        elif key in _SCHEMA_VALUES:
            out[key] = _maybe(value, drop)
        else:
            out[key] = value
    return _nullable_type(out)


def _nullable_type(schema: dict[str, Any]) -> dict[str, Any]:
    """``anyOf: [{type: X, ...}, {type: null}]`` as ``{type: [X, "null"], ...}``: the same set of values in about
    half the characters (once per optional field, in every unrolled subtask). Unions of two real types stay anyOf."""
    options = schema.get("anyOf")
    if not (isinstance(options, list) and len(options) == 2 and _NULL in options):  # pyright: ignore[reportUnknownArgumentType]
        return schema
    other: Any = options[0] if options[1] == _NULL else options[1]  # pyright: ignore[reportUnknownVariableType]
    if not (isinstance(other, dict) and isinstance(other.get("type"), str) and "anyOf" not in other):  # pyright: ignore[reportUnknownMemberType]
        return schema
    rest = {k: v for k, v in schema.items() if k != "anyOf"}
    return {**other, **rest, "type": [other["type"], "null"]}


def _maybe(value: Any, drop: frozenset[str]) -> Any:
    return compact_schema(value, drop) if isinstance(value, dict) else value  # pyright: ignore[reportUnknownArgumentType]


def result_model(fn: Callable[..., Any]) -> type[BaseModel] | None:
    """The model in a tool's ``-> Annotated[CallToolResult, Model]`` (alone or beside ``InputRequiredResult``)."""
    hint = get_type_hints(fn, include_extras=True).get("return")
    arms = get_args(hint) if get_origin(hint) in (Union, UnionType) else (hint,)
    for arm in arms:
        if get_origin(arm) is Annotated:
            base, *meta = get_args(arm)
            model = meta[0] if meta else None
            if base is CallToolResult and isinstance(model, type) and issubclass(model, BaseModel):
                return model
    return None


@functools.cache
def output_schema(model: type[BaseModel]) -> dict[str, Any]:
    """``model``'s JSON Schema, derived once per process (shared: callers copy before changing it)."""
    return model.model_json_schema()
