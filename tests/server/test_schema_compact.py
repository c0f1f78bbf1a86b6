"""The schemas tools/list advertises: smaller, portable (no references, nullable optionals), and still saying the
same thing."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from pydantic import BaseModel, Field

from tools_server.server.schemas import LIMIT_KEYWORDS, compact_schema, portable_schema


class _Example(BaseModel):
    ids: list[str | None] = Field(description="null = failed")
    note: str | None = None
    either: list[int | dict[str, int]] = []
    name: str = Field(max_length=10)


def test_compaction_drops_titles_limits_and_null_defaults_but_keeps_every_null_branch() -> None:
    schema = compact_schema(_Example.model_json_schema(), LIMIT_KEYWORDS)
    props = schema["properties"]
    assert "title" not in schema and all("title" not in p for p in props.values())
    # Optional: the default goes, the null branch stays (strict clients send every field, null when unused), as a
    # type list: half the characters of anyOf, and Gemini's converters read it as nullable.
    assert props["note"] == {"type": ["string", "null"]}
    assert props["ids"]["items"] == {"type": ["string", "null"]}  # a null in a list is data: kept as well
    assert "anyOf" in props["either"]["items"]  # a union of two real types stays a union
    assert "maxLength" not in props["name"]


def test_compacted_schema_accepts_and_rejects_what_the_original_does() -> None:
    original = _Example.model_json_schema()
    compacted = compact_schema(original, LIMIT_KEYWORDS)
    good = {"ids": ["a", None], "either": [1, {"k": 2}], "name": "n"}
    jsonschema.validate(good, original)
    jsonschema.validate(good, compacted)
    bads: list[dict[str, object]] = [{"ids": [1], "name": "n"}, {"ids": [], "either": ["s"], "name": "n"}, {"ids": []}]
    for bad in bads:
        for schema in (original, compacted):
            try:
                jsonschema.validate(bad, schema)
            except jsonschema.ValidationError:
                continue
            raise AssertionError(f"{bad} passed {schema}")


class _Leaf(BaseModel):
    name: str


class _Node(BaseModel):
    name: str = Field(description="Its name")
    leaf: _Leaf | None = None
    children: list[_Node] | None = None


class _Tree(BaseModel):
    roots: list[_Node]


def _depth(node: dict[str, Any]) -> int:
    children = node["properties"].get("children")
    return 1 + (_depth(children["items"]) if children else 0)


def test_references_are_inlined_and_a_recursive_model_unrolled_to_the_given_depth() -> None:
    schema = portable_schema(_Tree.model_json_schema(), LIMIT_KEYWORDS, copies=3)
    assert "$ref" not in json.dumps(schema) and "$defs" not in schema
    root = schema["properties"]["roots"]["items"]
    assert root["properties"]["leaf"]["properties"] == {"name": {"type": "string"}}
    assert _depth(root) == 3  # the innermost copy has no children property at all
    # The outer copy says what the fields mean; the unrolled copies do not repeat it.
    assert root["properties"]["name"]["description"] == "Its name"
    assert "description" not in json.dumps(root["properties"]["children"])


def test_an_unrolled_schema_accepts_what_the_original_does_down_to_its_depth() -> None:
    original = _Tree.model_json_schema()
    unrolled = portable_schema(original, LIMIT_KEYWORDS, copies=3)
    three = {"roots": [{"name": "a", "children": [{"name": "b", "children": [{"name": "c", "leaf": None}]}]}]}
    nulls = {"roots": [{"name": "a", "leaf": None, "children": None}]}
    for good in (three, nulls):
        jsonschema.validate(good, original)
        jsonschema.validate(good, unrolled)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"roots": [{"name": "a", "children": [{"name": 1}]}]}, unrolled)
