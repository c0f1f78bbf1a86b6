"""What a text-only client shows the model after a write: new ids for any batch size, counts that name their kind."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.support import connected, harness, structured, text_of

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("count", [4, 6, 30, 100])
async def test_add_item_text_names_the_new_ids_in_input_order_within_300_characters(count: int) -> None:
    async with harness() as h, connected(h) as client:
        result = await client.call_tool("add_item", {"items": [{"content": f"task {i}"} for i in range(count)]})
        stored = [i["id"] for i in sorted(await h.active_items(), key=lambda i: i["content"].split()[-1].zfill(4))]
    text = text_of(result)
    ids = structured(result)["ids"]
    assert ids == stored
    assert len(text) <= 300, text
    named = re.findall(r"\b[0-9A-Za-z]{16}\b", text)
    assert named == ids[: len(named)]  # a prefix, in input order
    more = re.search(r"\+(\d+) more", text)
    assert len(named) + (int(more.group(1)) if more else 0) == count
    assert (more is None) == (len(named) == count)


async def test_a_hundred_task_add_names_as_many_ids_as_fit() -> None:
    async with harness() as h, connected(h) as client:
        result = await client.call_tool("add_item", {"items": [{"content": f"t{i}"} for i in range(100)]})
    text = text_of(result)
    assert text.startswith("Added 100 tasks. New ids in input order: ")
    assert len(re.findall(r"\b[0-9A-Za-z]{16}\b", text)) >= 10
    assert re.search(r" more\. Undo: write='[^']+'\.$", text), text  # the undo handle fits the same 300 characters


async def test_new_projects_and_sections_are_counted_by_kind() -> None:
    async with harness() as h, connected(h) as client:
        result = await client.call_tool(
            "add_item",
            {
                "new_projects": [{"name": "Trip", "sections": ["Packing"]}, {"name": "Home", "sections": ["A", "B"]}],
                "items": [{"content": "Pack", "project": "Trip", "section": "Packing"}],
            },
        )
        one = await client.call_tool(
            "add_item", {"new_projects": [{"name": "Solo", "sections": ["Only"]}], "items": [{"content": "x"}]}
        )
        state = await h.state()
    assert "Created 2 projects and 3 sections." in text_of(result)
    assert "Created 1 project and 1 section." in text_of(one)
    assert len([p for p in state["projects"] if not p.get("inbox_project")]) == 3 and len(state["sections"]) == 4


async def test_the_overview_says_what_the_project_numbers_are() -> None:
    async with harness() as h, connected(h) as client:
        await client.call_tool("add_item", {"items": [{"content": "a"}, {"content": "b"}]})
        text = text_of(await client.call_tool("query_changes", {}))
        inbox = next(p for p in (await h.state())["projects"] if p.get("inbox_project"))
    assert f"Projects (id, open tasks): Inbox ({inbox['id']}, 2)" in text


async def test_a_text_only_client_finds_every_handle_it_needs_in_the_text() -> None:
    """Clients that show the model only the text block (issue 22): the write handle for undo, the cursor for the
    next query_changes; the resend batch is in the text of an unconfirmed write (test_write_outcomes)."""
    async with harness() as h, connected(h) as client:
        overview = await client.call_tool("query_changes", {})
        cursor = structured(overview)["cursor"]
        assert f"cursor: {cursor}" in text_of(overview)
        writes: list[tuple[str, dict[str, Any]]] = [
            ("add_item", {"items": [{"content": "a"}, {"content": "b"}]}),
        ]
        added = await client.call_tool(*writes[0])
        a, b = structured(added)["ids"]
        writes += [
            ("update_items", {"items": [{"id": a, "priority": 4}]}),
            ("move_items", {"ids": [b], "to_parent": a}),
            ("complete_items", {"ids": [b]}),
            ("comment_items", {"add": [{"task": a, "content": "note"}]}),
            ("manage_projects", {"ops": [{"op": "add", "kind": "label", "name": "home"}]}),
        ]
        results = [added] + [await client.call_tool(name, args) for name, args in writes[1:]]
        for (name, _), result in zip(writes, results, strict=True):
            handle = structured(result)["write"]
            assert f"write='{handle}'" in text_of(result), name
            assert len(text_of(result)) <= 300, name
        # The handle read from the text alone undoes that write, from any session of the account.
        handle = re.search(r"write='([^']+)'", text_of(results[1]))
        assert handle is not None
        undone = await client.call_tool("undo", {"write": handle.group(1)})
        assert not undone.is_error, text_of(undone)
        assert {i["id"]: i["priority"] for i in await h.active_items()}[a] == 1
