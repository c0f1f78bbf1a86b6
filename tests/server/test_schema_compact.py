"""The schemas tools/list advertises: smaller, and still saying the same thing."""

from __future__ import annotations

import jsonschema
from pydantic import BaseModel, Field

from tools_server.server.schemas import LIMIT_KEYWORDS, compact_schema


class _Example(BaseModel):
    ids: list[str | None] = Field(description="null = failed")
    note: str | None = None
    either: list[int | dict[str, int]] = []
    name: str = Field(max_length=10)


def test_compaction_drops_titles_limits_and_optional_nulls_but_keeps_data_nulls() -> None:
    schema = compact_schema(_Example.model_json_schema(), LIMIT_KEYWORDS)
    props = schema["properties"]
    assert "title" not in schema and all("title" not in p for p in props.values())
    assert props["note"] == {"type": "string"}  # optional: its null branch and default go
    # A null in a list is data: kept. As anyOf branches, not a type list: the Inspector's portability check flags
    # type lists, since some clients map schemas onto a one-type-per-schema dialect (Gemini's).
    assert props["ids"]["items"] == {"anyOf": [{"type": "string"}, {"type": "null"}]}
    assert "anyOf" in props["either"]["items"]
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
