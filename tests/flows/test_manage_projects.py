"""manage_projects through a real MCP client against the local store, read back with plain Sync requests."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client
from mcp.types import ElicitRequestParams, ElicitResult

from tests.support import Harness, connected, harness, structured, text_of

pytestmark = pytest.mark.anyio


async def manage(client: Client, *ops: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return structured(await client.call_tool("manage_projects", {"ops": list(ops), **extra}))


async def store(h: Harness) -> dict[str, dict[str, dict[str, Any]]]:
    """Active projects, sections and labels by name, and open tasks by content."""
    data = await h.raw_sync({"sync_token": "*", "resource_types": ["projects", "sections", "labels", "items"]})
    return {
        kind: {o["name" if kind != "items" else "content"]: o for o in data[kind]}
        for kind in ("projects", "sections", "labels", "items")
    }


async def test_a_project_its_sections_and_a_label_rename_go_in_one_request() -> None:
    async with harness() as h, connected(h) as client:
        await manage(client, {"op": "add", "kind": "label", "name": "errand"})
        await client.call_tool("add_item", {"items": [{"content": "buy milk", "labels": ["errand"]}]})
        h.transport.reset()
        data = await manage(
            client,
            {"op": "add", "kind": "project", "name": "Home", "color": "blue", "description": "house things"},
            {"op": "add", "kind": "section", "name": "Kitchen", "project": "Home"},
            {"op": "add", "kind": "section", "name": "Garden", "project": "home"},
            {"op": "add", "kind": "project", "name": "Repairs", "parent": "Home", "view_style": "board"},
            {"op": "update", "kind": "label", "id": "errand", "name": "shopping", "color": "red"},
        )
        assert (data["ok"], data["failed"], h.transport.count) == (5, 0, 1)
        s = await store(h)
        home = s["projects"]["Home"]
        assert (home["color"], home["description"]) == ("blue", "house things")
        assert {s["sections"]["Kitchen"]["project_id"], s["sections"]["Garden"]["project_id"]} == {home["id"]}
        assert s["projects"]["Repairs"]["parent_id"] == home["id"]
        assert s["projects"]["Repairs"]["view_style"] == "board"
        assert "errand" not in s["labels"] and s["labels"]["shopping"]["color"] == "red"
        assert s["items"]["buy milk"]["labels"] == ["shopping"]  # the backend renames it on its tasks


async def test_update_move_and_reorder_and_undo_puts_everything_back() -> None:
    async with harness() as h, connected(h) as client:
        await manage(
            client,
            *({"op": "add", "kind": "project", "name": n} for n in ("A", "B", "C")),
            {"op": "add", "kind": "project", "name": "Child", "parent": "A"},
            {"op": "add", "kind": "section", "name": "S1", "project": "A"},
            {"op": "add", "kind": "section", "name": "S2", "project": "A"},
        )
        before = await store(h)
        h.transport.reset()
        data = await manage(
            client,
            {"op": "update", "kind": "project", "id": "B", "name": "Bee", "is_favorite": True},
            {"op": "move", "kind": "project", "id": "Child", "parent": None},
            {"op": "reorder", "kind": "project", "id": "C", "order": 1},
            {"op": "reorder", "kind": "section", "id": "S2", "before": "S1"},
            {"op": "move", "kind": "section", "id": "S1", "project": "Bee"},
        )
        assert (data["ok"], data["failed"], h.transport.count) == (5, 0, 1)
        s = await store(h)
        assert s["projects"]["Bee"]["is_favorite"] is True and s["projects"]["Child"]["parent_id"] is None
        roots = sorted((p["child_order"], n) for n, p in s["projects"].items() if not p.get("inbox_project"))
        assert [n for _, n in roots][:3] == ["C", "A", "Bee"]
        assert (before["sections"]["S2"]["section_order"], s["sections"]["S2"]["section_order"]) == (2, 1)
        assert s["sections"]["S1"]["project_id"] == s["projects"]["Bee"]["id"]
        h.transport.reset()
        undone = await client.call_tool("undo", {})
        # One read first (undo compares with what changed elsewhere since), then the one write.
        assert not undone.is_error and h.transport.count == 2, text_of(undone)
        after = await store(h)
        for kind, fields in (("projects", ("parent_id", "child_order", "is_favorite")), ("sections", ("project_id",))):
            for name, old in before[kind].items():
                assert {f: after[kind][name][f] for f in fields} == {f: old[f] for f in fields}, name
        assert after["sections"]["S2"]["section_order"] > after["sections"]["S1"]["section_order"]


async def test_archive_unarchive_and_label_reorder_and_undo_of_an_archive() -> None:
    async with harness() as h, connected(h) as client:
        await manage(
            client,
            {"op": "add", "kind": "project", "name": "Old"},
            {"op": "add", "kind": "project", "name": "Older", "parent": "Old"},
            *({"op": "add", "kind": "label", "name": n} for n in ("x", "y", "z")),
        )
        await manage(
            client,
            {"op": "archive", "kind": "project", "id": "Old"},
            {"op": "reorder", "kind": "label", "id": "z", "after": "x"},
        )
        s = await store(h)
        assert "Old" not in s["projects"] and "Older" not in s["projects"]
        assert [n for n, _ in sorted(s["labels"].items(), key=lambda kv: kv[1]["item_order"])] == ["x", "z", "y"]
        await client.call_tool("undo", {})
        s = await store(h)
        assert s["projects"]["Older"]["parent_id"] == s["projects"]["Old"]["id"]
        assert [n for n, _ in sorted(s["labels"].items(), key=lambda kv: kv[1]["item_order"])] == ["x", "y", "z"]
        await client.call_tool("add_item", {"items": [{"content": "dusty", "project": "Older"}]})
        await manage(client, {"op": "archive", "kind": "project", "id": "Older"})
        overview = text_of(await client.call_tool("query_changes", {}))
        assert "dusty" not in overview and "Older" not in overview  # as a full sync would have it
        data = await manage(client, {"op": "unarchive", "kind": "project", "id": "Older"})  # by name: seen archived
        assert data["ok"] == 1 and "Older" in (await store(h))["projects"]
        assert "dusty" in text_of(await client.call_tool("query_changes", {}))


async def test_undo_deletes_what_was_added_unless_tasks_went_into_it() -> None:
    async with harness() as h, connected(h) as client:
        await manage(
            client,
            {"op": "add", "kind": "project", "name": "Tmp"},
            {"op": "add", "kind": "section", "name": "Sec", "project": "Tmp"},
            {"op": "add", "kind": "label", "name": "tmp"},
        )
        await client.call_tool("undo", {})
        s = await store(h)
        assert "Tmp" not in s["projects"] and "Sec" not in s["sections"] and "tmp" not in s["labels"]
        made = await manage(client, {"op": "add", "kind": "project", "name": "Kept"})
        task = {"type": "item_add", "uuid": "elsewhere-1", "args": {"content": "t", "project_id": made["ids"][0]}}
        await h.raw_sync({"sync_token": "*", "commands": [task]})  # another client puts a task in it
        undone = await client.call_tool("undo", {})
        assert "(project 'Kept' holds what was added since: " in text_of(undone)
        assert "Kept" in (await store(h))["projects"]


async def test_deleting_a_project_with_more_than_3_tasks_needs_their_count() -> None:
    async with harness() as h, connected(h) as client:
        await manage(client, {"op": "add", "kind": "project", "name": "Big"})
        items = [{"content": f"t{i}", "project": "Big", "subtasks": [{"content": f"s{i}"}]} for i in range(2)]
        await client.call_tool("add_item", {"items": items})
        h.transport.reset()
        op = {"op": "delete", "kind": "project", "id": "Big"}
        refused = await client.call_tool("manage_projects", {"ops": [op]})
        assert refused.is_error and "confirm=4" in text_of(refused)
        assert h.transport.commands_sent() == 0 and "Big" in (await store(h))["projects"]
        wrong = await client.call_tool("manage_projects", {"ops": [op], "confirm": 3})
        assert wrong.is_error and h.transport.commands_sent() == 0
        data = await manage(client, op, confirm=4)
        assert data["ok"] == 1
        s = await store(h)
        assert "Big" not in s["projects"] and not any(n.startswith(("t", "s")) for n in s["items"])
        undone = await client.call_tool("undo", {})
        assert "Todoist has no undelete" in text_of(undone)


async def test_unknown_and_ambiguous_names_fail_per_op_with_suggestions() -> None:
    async with harness() as h, connected(h) as client:
        await manage(
            client,
            {"op": "add", "kind": "project", "name": "Work"},
            {"op": "add", "kind": "project", "name": "Home"},
            {"op": "add", "kind": "section", "name": "Todo", "project": "Work"},
            {"op": "add", "kind": "section", "name": "Todo", "project": "Home"},
        )
        h.transport.reset()
        result = await client.call_tool(
            "manage_projects",
            {
                "ops": [
                    {"op": "update", "kind": "project", "id": "Wrok", "name": "Job"},
                    {"op": "update", "kind": "section", "id": "Todo", "name": "Doing"},
                    {"op": "update", "kind": "section", "id": "Todo", "project": "Work", "name": "Doing"},
                    {"op": "delete", "kind": "label", "id": "nolabel"},
                ]
            },
        )
        data = structured(result)
        tags = [(f["index"], f["error_tag"]) for f in data["failures"]]
        assert tags == [(0, "PROJECT_NOT_FOUND"), (1, "AMBIGUOUS_SECTION"), (3, "LABEL_NOT_FOUND")]
        assert "closest: Work" in text_of(result) and data["ok"] == 1 and h.transport.commands_sent() == 1
        assert (await store(h))["sections"]["Doing"]["project_id"] == (await store(h))["projects"]["Work"]["id"]


async def test_bad_ops_name_the_field_and_send_nothing() -> None:
    async with harness() as h, connected(h) as client:
        await client.call_tool("query_changes", {})
        h.transport.reset()
        cases = [
            ({"op": "move", "kind": "label", "id": "x"}, "move does not apply to a label"),
            ({"op": "add", "kind": "section", "name": "S"}, "project: required for section add"),
            ({"op": "add", "kind": "project", "name": "P", "color": "pink"}, "unknown color 'pink'"),
            ({"op": "reorder", "kind": "project", "id": "P"}, "exactly one of order, before, after"),
            ({"op": "add", "kind": "label", "name": "l", "parent": "P"}, "parent: not used by label add"),
            ({"op": "update", "kind": "project", "id": "P"}, "give a field to change"),
        ]
        for op, message in cases:
            result = await client.call_tool("manage_projects", {"ops": [op]})
            assert result.is_error and "ops.0" in text_of(result) and message in text_of(result), text_of(result)
        assert h.transport.count == 0


async def test_dry_run_sends_nothing_and_150_ops_take_two_requests() -> None:
    async with harness() as h, connected(h) as client:
        ops = [{"op": "add", "kind": "label", "name": f"l{i}"} for i in range(150)]
        h.transport.reset()
        preview = await manage(client, *ops, dry_run=True)
        assert preview["dry_run"] is True and len(preview["plan"]) == 150 and h.transport.commands_sent() == 0
        assert preview["plan"][0] == {"type": "label_add", "uuid": preview["plan"][0]["uuid"],
                                      "temp_id": preview["plan"][0]["temp_id"], "args": {"name": "l0"}}  # fmt: skip
        h.transport.reset()
        data = await manage(client, *ops)
        # The session's first read (commands never go with sync_token "*"), then two requests of at most 100.
        assert data["ok"] == 150 and h.transport.count == 3 and len((await store(h))["labels"]) == 150


async def test_the_user_can_confirm_a_large_project_delete_through_elicitation() -> None:
    asked: list[str] = []

    async def yes(_context: Any, params: ElicitRequestParams) -> ElicitResult:
        asked.append(params.message)
        return ElicitResult(action="accept", content={"confirm": True})

    callback: Any = yes
    async with harness() as h, Client(h.server(), mode="legacy", elicitation_callback=callback) as client:
        await manage(client, {"op": "add", "kind": "project", "name": "Big"})
        await client.call_tool("add_item", {"items": [{"content": f"t{i}", "project": "Big"} for i in range(5)]})
        data = await manage(client, {"op": "delete", "kind": "project", "id": "Big"})
        assert data["ok"] == 1 and "Big" not in (await store(h))["projects"]
    assert asked == ["Delete 5 tasks (subtasks included)? This cannot be undone."]


async def test_undo_of_a_section_archive_unarchives_it_and_reopens_the_tasks_it_completed() -> None:
    async with harness() as h, connected(h) as client:
        await manage(
            client,
            {"op": "add", "kind": "project", "name": "P"},
            {"op": "add", "kind": "section", "name": "Done soon", "project": "P"},
        )
        items = [{"content": f"t{i}", "project": "P", "section": "Done soon"} for i in range(2)]
        await client.call_tool("add_item", {"items": items})
        await manage(client, {"op": "archive", "kind": "section", "id": "Done soon"})
        s = await store(h)
        assert "Done soon" not in s["sections"] and "t0" not in s["items"]
        await client.call_tool("undo", {})
        s = await store(h)
        assert "Done soon" in s["sections"] and {"t0", "t1"} <= set(s["items"])
        assert s["items"]["t0"]["section_id"] == s["sections"]["Done soon"]["id"]


async def test_update_fields_and_deleting_a_section_and_a_label() -> None:
    async with harness() as h, connected(h) as client:
        await manage(
            client,
            {"op": "add", "kind": "project", "name": "P", "is_favorite": True},
            {"op": "add", "kind": "section", "name": "Gone", "project": "P"},
            {"op": "add", "kind": "section", "name": "Stay", "project": "P"},
            {"op": "add", "kind": "label", "name": "tag", "is_favorite": True, "color": "teal"},
        )
        items = [{"content": "in gone", "project": "P", "section": "Gone"}, {"content": "tagged", "labels": ["tag"]}]
        await client.call_tool("add_item", {"items": items})
        h.transport.reset()
        data = await manage(
            client,
            {"op": "update", "kind": "project", "id": "P", "color": "grape", "view_style": "board", "description": "d"},
            {"op": "update", "kind": "section", "id": "Stay", "name": "Stayed"},
            {"op": "update", "kind": "label", "id": "tag", "is_favorite": False},
            {"op": "delete", "kind": "section", "id": "Gone"},
            {"op": "delete", "kind": "label", "id": "tag"},
        )
        # One read of the section's completed tasks (they count toward the confirmation), then the one write.
        assert (data["ok"], h.transport.count) == (5, 2)
        s = await store(h)
        project = s["projects"]["P"]
        assert (project["color"], project["view_style"], project["description"], project["is_favorite"]) == (
            "grape",
            "board",
            "d",
            True,
        )
        assert set(s["sections"]) == {"Stayed"} and "in gone" not in s["items"]
        assert "tag" not in s["labels"] and s["items"]["tagged"]["labels"] == []
        undone = await client.call_tool("undo", {})
        s = await store(h)
        assert s["projects"]["P"]["color"] == "charcoal" and "Stay" in s["sections"]
        assert "Cannot undo: 2 deletion(s)" in text_of(undone)


@pytest.mark.parametrize("kind", ["project", "section"])
async def test_deleting_a_project_or_section_counts_its_completed_tasks_read_fresh(kind: str) -> None:
    async with harness() as h:
        async with connected(h) as client:
            await manage(client, {"op": "add", "kind": "project", "name": "Old"})
            await manage(client, {"op": "add", "kind": "section", "name": "Done", "project": "Old"})
            made = structured(
                await client.call_tool(
                    "add_item", {"items": [{"content": f"t{i}", "project": "Old", "section": "Done"} for i in range(4)]}
                )
            )
            assert structured(await client.call_tool("complete_items", {"ids": made["ids"]}))["ok"] == 4
        async with connected(h) as client:  # a new process: its mirror never held the completed tasks
            target = {"op": "delete", "kind": kind, "id": "Old" if kind == "project" else "Done"}
            refused = await client.call_tool("manage_projects", {"ops": [target]})
            assert refused.is_error and "confirm=4" in text_of(refused), text_of(refused)
            assert "Old" in (await store(h))["projects"] and "Done" in (await store(h))["sections"]
            done = await manage(client, target, confirm=4)
            assert done["ok"] == 1 and "Done" not in (await store(h))["sections"]
        gone = await h.completed("completion", since="2026-11-01T00:00:00Z", until="2026-12-01T00:00:00Z")
        assert gone == []
