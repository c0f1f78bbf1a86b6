"""Saved filters (issue 23, item 2): added, changed, reordered and deleted through manage_projects, run by name with
find_items, listed in the overview, and undone; through a real MCP client against the local store, read back with
plain Sync requests. The documented filter object (reference §2.8, DS 18) is read by the client in test_wire_shapes."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client

from tests.support import Harness, connected, harness, structured, text_of

pytestmark = pytest.mark.anyio


async def manage(client: Client, *ops: dict[str, Any]) -> dict[str, Any]:
    result = await client.call_tool("manage_projects", {"ops": list(ops)})
    assert not result.is_error, text_of(result)
    return structured(result)


async def saved(h: Harness) -> dict[str, dict[str, Any]]:
    """The store's live saved filters by name."""
    data = await h.raw_sync({"sync_token": "*", "resource_types": ["filters"]})
    return {f["name"]: f for f in data["filters"]}


def by_order(filters: dict[str, dict[str, Any]]) -> list[str]:
    return [name for name, _ in sorted(filters.items(), key=lambda kv: kv[1]["item_order"])]


async def test_filters_added_changed_and_reordered_in_one_request_each_and_run_by_name() -> None:
    async with harness() as h, connected(h) as client:
        await client.call_tool(
            "add_item",
            {"items": [{"content": "pay rent", "priority": 4}, {"content": "call mum", "labels": ["home"]}]},
        )
        h.transport.reset()
        data = await manage(
            client,
            {"op": "add", "kind": "filter", "name": "Urgent", "query": "p1", "color": "red"},
            {"op": "add", "kind": "filter", "name": "Home", "query": "@home", "is_favorite": True},
            {"op": "add", "kind": "filter", "name": "Later", "query": "no date"},
        )
        assert (data["ok"], data["failed"], h.transport.count) == (3, 0, 1)
        stored = await saved(h)
        assert {n: (f["query"], f["color"], f["is_favorite"]) for n, f in stored.items()} == {
            "Urgent": ("p1", "red", False),
            "Home": ("@home", "charcoal", True),
            "Later": ("no date", "charcoal", False),
        }
        assert by_order(stored) == ["Urgent", "Home", "Later"]

        h.transport.reset()
        found = await client.call_tool("find_items", {"filter": "urgent"})  # a saved filter's name, any case
        assert h.transport.count == 0  # the write just before left the mirror fresh: no request
        text = text_of(found)
        assert text.startswith(f"Saved filter 'Urgent' ({stored['Urgent']['id']}): p1")
        assert "pay rent" in text and "call mum" not in text
        assert structured(found)["saved_filter"] == "Urgent"

        h.transport.reset()
        data = await manage(
            client,
            {"op": "update", "kind": "filter", "id": "Urgent", "name": "Now", "query": "p1 | @home"},
            {"op": "reorder", "kind": "filter", "id": "Later", "order": 1},
        )
        assert (data["ok"], h.transport.count) == (2, 1)
        stored = await saved(h)
        assert stored["Now"]["query"] == "p1 | @home" and "Urgent" not in stored
        assert by_order(stored) == ["Later", "Now", "Home"]
        both = text_of(await client.call_tool("find_items", {"filter": "Now"}))
        assert "pay rent" in both and "call mum" in both

        overview = text_of(await client.call_tool("query_changes", {}))
        ids = {n: f["id"] for n, f in stored.items()}
        assert f"Saved filters (find_items by name): Later ({ids['Later']}), Now ({ids['Now']}), Home" in overview


async def test_undo_puts_back_a_changed_a_reordered_and_a_deleted_filter_and_removes_an_added_one() -> None:
    async with harness() as h, connected(h) as client:
        await manage(
            client,
            {"op": "add", "kind": "filter", "name": "A", "query": "today", "color": "blue"},
            {"op": "add", "kind": "filter", "name": "B", "query": "overdue"},
            {"op": "add", "kind": "filter", "name": "C", "query": "p2"},
        )
        before = await saved(h)
        await manage(
            client,
            {"op": "update", "kind": "filter", "id": "A", "query": "tomorrow", "color": "red"},
            {"op": "reorder", "kind": "filter", "id": "C", "before": "A"},
            {"op": "delete", "kind": "filter", "id": "B"},
            {"op": "add", "kind": "filter", "name": "D", "query": "p3"},
        )
        changed = await saved(h)
        assert by_order(changed) == ["C", "A", "D"] and changed["A"]["query"] == "tomorrow"
        h.transport.reset()
        undone = await client.call_tool("undo", {})
        assert not undone.is_error and h.transport.count == 2, text_of(undone)  # a read, then one write
        after = await saved(h)
        assert set(after) == {"A", "B", "C"}  # D removed, B added again (a new id: Todoist has no undelete)
        for name in ("A", "B", "C"):
            keep = ("query", "color", "item_order", "is_favorite")
            assert {k: after[name][k] for k in keep} == {k: before[name][k] for k in keep}, name
        assert by_order(after) == ["A", "B", "C"]


async def test_an_unknown_or_ambiguous_filter_fails_its_own_op_and_sends_nothing_for_it() -> None:
    async with harness() as h, connected(h) as client:
        await manage(client, {"op": "add", "kind": "filter", "name": "Work", "query": "#Work"})
        h.transport.reset()
        result = await client.call_tool("manage_projects", {"ops": [{"op": "delete", "kind": "filter", "id": "Wrok"}]})
        assert "no saved filter named 'Wrok'" in text_of(result)
        assert h.transport.count == 0 and set(await saved(h)) == {"Work"}
        bad = await client.call_tool("manage_projects", {"ops": [{"op": "add", "kind": "filter", "name": "No query"}]})
        assert bad.is_error and "query: required for filter add" in text_of(bad)
        wrong = await client.call_tool(
            "manage_projects", {"ops": [{"op": "add", "kind": "label", "name": "x", "query": "p1"}]}
        )
        assert wrong.is_error and "query: not used by label add" in text_of(wrong)
        assert h.transport.count == 0


async def test_a_saved_filter_whose_query_cannot_be_read_is_named_in_the_error() -> None:
    async with harness() as h, connected(h) as client:
        await manage(client, {"op": "add", "kind": "filter", "name": "Broken", "query": "p1 & (today"})
        result = await client.call_tool("find_items", {"filter": "Broken"})
        assert result.is_error and "saved filter 'Broken': '(' is never closed" in text_of(result)
        # Text that is no saved filter's name is read as a query, as before.
        plain = await client.call_tool("find_items", {"filter": "today"})
        assert not plain.is_error and structured(plain).get("saved_filter") is None
