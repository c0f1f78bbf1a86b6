"""`tools-server tools [NAME]` and the tool list in `call --help`: rendered from the server's own tools/list.

Nothing here is written by hand per tool, so a new tool or argument shows up without touching this file.
"""

from __future__ import annotations

import json
from typing import Any, cast

from mcp.types import Tool

from tools_server.clock import SYSTEM_CLOCK
from tools_server.server import Backend, build_server
from tools_server.sync.client import SyncClient


def _no_client(_token: str) -> SyncClient:
    raise RuntimeError("listing tools sends no request")


async def server_tools() -> list[Tool]:
    """The tools as an MCP client sees them (compacted schemas included); no store is opened, no request is sent."""
    from mcp import Client  # the client side is only needed by the terminal commands

    backend = Backend(default_token="local", client_for=_no_client)
    async with Client(build_server(backend, clock=SYSTEM_CLOCK)) as client:
        return list((await client.list_tools()).tools)


def first_sentence(text: str | None) -> str:
    text = " ".join((text or "").split())
    end = text.find(". ")
    return text[: end + 1] if end >= 0 else text


def tool_lines(tools: list[Tool]) -> list[str]:
    """One line per tool: its name and the first sentence of its description."""
    width = max((len(t.name) for t in tools), default=0)
    return [f"  {t.name.ljust(width)}  {first_sentence(t.description)}" for t in tools]


def _type_of(schema: dict[str, Any], defs: dict[str, Any]) -> tuple[str, dict[str, Any] | None]:
    """A short type label and, for objects (or arrays of objects), the object schema to list below it."""
    ref = schema.get("$ref")
    if isinstance(ref, str):
        target: dict[str, Any] = defs.get(ref.rsplit("/", 1)[-1], {})
        return "object", target
    kind = schema.get("type")
    if isinstance(kind, list):  # a nullable field, `type: [X, "null"]`: null is "not given", not worth a label
        kinds = [str(k) for k in cast(list[Any], kind) if k != "null"]
        kind = kinds[0] if len(kinds) == 1 else " | ".join(kinds)
    if kind == "array":
        items: dict[str, Any] = schema.get("items") or {}
        inner, nested = _type_of(items, defs)
        return f"list of {inner}", nested
    if "enum" in schema:
        return " | ".join(str(v) for v in schema["enum"]), None
    if "anyOf" in schema:
        labels = [_type_of(option, defs)[0] for option in schema["anyOf"] if option.get("type") != "null"]
        return " | ".join(labels), None
    if kind == "object" and "properties" in schema:
        return "object", schema
    return str(kind or "any"), None


def _limits(schema: dict[str, Any]) -> str:
    parts: list[str] = []
    for key, label in (
        ("minimum", ">="),
        ("maximum", "<="),
        ("minLength", "min length "),
        ("maxLength", "max length "),
    ):
        if key in schema:
            parts.append(f"{label}{schema[key]}")
    if "default" in schema:
        parts.append(f"default {json.dumps(schema['default'])}")
    return ", ".join(parts)


def _argument_lines(
    schema: dict[str, Any], defs: dict[str, Any], indent: str, seen: frozenset[str] = frozenset()
) -> list[str]:
    lines: list[str] = []
    required = set(schema.get("required", ()))
    properties: dict[str, Any] = schema.get("properties", {})
    for name, prop in properties.items():
        label, nested = _type_of(prop, defs)
        detail = ", ".join(x for x in ("required" if name in required else "", _limits(prop)) if x)
        text = f"{indent}{name} ({label}{'; ' + detail if detail else ''})"
        if prop.get("description"):
            text += f": {prop['description']}"
        lines.append(text)
        items: dict[str, Any] = prop.get("items") or {}
        ref: Any = prop.get("$ref") or items.get("$ref")
        key = str(ref) if ref else f"{name}@{indent}"
        if nested is not None and key not in seen:
            lines.extend(_argument_lines(nested, defs, indent + "    ", seen | {key}))
        elif nested is not None:
            lines.append(f"{indent}    (same fields as above, nested)")
    return lines


def tool_help(tool: Tool) -> str:
    """A tool's description and its arguments, nested objects indented below the argument that holds them."""
    schema: dict[str, Any] = dict(tool.input_schema)
    defs: dict[str, Any] = schema.get("$defs", {})
    lines = [tool.name, "", " ".join((tool.description or "").split()), "", "arguments:"]
    lines += _argument_lines(schema, defs, "  ") or ["  (none)"]
    return "\n".join(lines)


def unknown_tool(name: str, tools: list[Tool]) -> str:
    return f"no tool named {name!r}; the tools are: " + ", ".join(t.name for t in tools)
