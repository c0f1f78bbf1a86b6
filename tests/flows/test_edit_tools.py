"""update_items, delete_items and undo through a real MCP client against the local store."""

from __future__ import annotations

import json
from typing import Any

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp.types import ElicitRequestParams, ElicitResult

from tests.support import Harness, connected, harness, structured, text_of

pytestmark = pytest.mark.anyio


async def add(client: Client, *items: dict[str, Any], **extra: Any) -> list[str]:
    data = structured(await client.call_tool("add_item", {"items": list(items), **extra}))
    assert data["failed"] == 0, data
    ids: list[str] = data["ids"]
    return ids


async def by_content(h: Harness) -> dict[str, dict[str, Any]]:
    return {i["content"]: i for i in await h.active_items()}


async def test_update_items_changes_many_tasks_in_one_request() -> None:
    async with harness() as h, connected(h) as client:
        a, b, c = await add(client, {"content": "a"}, {"content": "b"}, {"content": "c", "due": "tomorrow"})
        h.transport.reset()
        changes = [
            {"id": a, "priority": 4, "labels": ["work"]},
            {"id": b, "content": "b renamed", "description": "more"},
            {"id": c, "clear": ["due"]},
        ]
        data = structured(await client.call_tool("update_items", {"items": changes}))
        assert (data["ok"], data["failed"]) == (3, 0) and h.transport.count == 1
        items = await by_content(h)
        assert items["a"]["priority"] == 4 and items["a"]["labels"] == ["work"]
        assert items["b renamed"]["description"] == "more" and items["c"]["due"] is None


async def test_a_new_date_keeps_recurrence_and_a_new_phrase_replaces_it() -> None:
    async with harness() as h, connected(h) as client:
        water, gym = await add(
            client, {"content": "water", "due": "every day"}, {"content": "gym", "due": "every monday"}
        )
        await client.call_tool("update_items", {"items": [{"id": water, "due_date": "2026-12-01"}]})
        await client.call_tool("update_items", {"items": [{"id": gym, "due": "next friday"}]})
        items = await by_content(h)
        assert items["water"]["due"]["date"] == "2026-12-01" and items["water"]["due"]["is_recurring"] is True
        assert items["water"]["due"]["string"] == "every day"
        assert items["gym"]["due"]["is_recurring"] is False


async def test_update_items_reports_bad_ids_and_empty_changes_per_task() -> None:
    async with harness() as h, connected(h) as client:
        [a] = await add(client, {"content": "a"})
        items = [{"id": a, "priority": 2}, {"id": "NoSuchTask000000", "priority": 2}, {"id": a}]
        data = structured(await client.call_tool("update_items", {"items": items}))
        assert data["ok"] == 1
        assert [(f["index"], f["error_tag"]) for f in data["failures"]] == [
            (1, "ITEM_NOT_FOUND"),
            (2, "NOTHING_TO_UPDATE"),
        ]
        clash = await client.call_tool("update_items", {"items": [{"id": a, "due": "today", "clear": ["due"]}]})
        assert clash.is_error and "due is both set and cleared" in text_of(clash)


async def test_delete_over_the_threshold_needs_confirmation_and_changes_nothing_without_it() -> None:
    async with harness() as h, connected(h) as client:
        ids = await add(client, *({"content": f"t{i}"} for i in range(5)))
        h.transport.reset()
        refused = await client.call_tool("delete_items", {"ids": ids})
        assert refused.is_error and "confirm=5" in text_of(refused)
        # Counting subtasks takes one incremental read; no command is sent.
        assert h.transport.commands_sent() == 0 and len(await h.active_items()) == 5
        wrong = await client.call_tool("delete_items", {"ids": ids, "confirm": 4})
        assert wrong.is_error and len(await h.active_items()) == 5
        done = structured(await client.call_tool("delete_items", {"ids": ids, "confirm": 5}))
        assert done["ok"] == 5 and await h.active_items() == []
        few = await add(client, {"content": "x", "subtasks": [{"content": "x1"}]})
        assert structured(await client.call_tool("delete_items", {"ids": few[:1]}))["ok"] == 1
        assert await h.active_items() == []


async def test_delete_asks_the_user_through_elicitation_when_the_client_can() -> None:
    asked: list[str] = []

    def answering(accept: bool) -> Any:
        async def callback(_context: Any, params: ElicitRequestParams) -> ElicitResult:
            asked.append(params.message)
            return ElicitResult(action="accept", content={"confirm": accept})

        return callback

    async with harness() as h:
        async with Client(h.server(), mode="legacy", elicitation_callback=answering(False)) as client:
            ids = await add(client, *({"content": f"t{i}"} for i in range(4)))
            declined = await client.call_tool("delete_items", {"ids": ids})
            assert declined.is_error and len(await h.active_items()) == 4
        async with Client(h.server(), mode="legacy", elicitation_callback=answering(True)) as client:
            accepted = structured(await client.call_tool("delete_items", {"ids": ids}))
            assert accepted["ok"] == 4 and await h.active_items() == []
    assert len(asked) == 2 and "Delete 4 tasks" in asked[0]


async def test_undo_add_deletes_what_was_added() -> None:
    async with harness() as h, connected(h) as client:
        await add(client, {"content": "keep"})
        await add(client, {"content": "p", "subtasks": [{"content": "p1"}]}, {"content": "q"})
        data = structured(await client.call_tool("undo", {}))
        assert data["ok"] == 2
        assert list(await by_content(h)) == ["keep"]
        again = await client.call_tool("undo", {})
        assert again.is_error and "nothing to undo" in text_of(again)


async def test_undo_complete_reopens_tasks_with_their_subtasks_and_rewinds_recurring_ones() -> None:
    async with harness() as h, connected(h) as client:
        parent, child, daily = await add(
            client, {"content": "parent", "subtasks": [{"content": "child"}]}, {"content": "daily", "due": "every day"}
        )
        before = await by_content(h)
        await client.call_tool("complete_items", {"ids": [parent, daily]})
        assert set(await by_content(h)) == {"daily"}
        data = structured(await client.call_tool("undo", {}))
        assert data["failed"] == 0, data
        after = await by_content(h)
        assert set(after) == {"parent", "child", "daily"} and after["child"]["parent_id"] == parent
        assert after["daily"]["due"]["date"] == before["daily"]["due"]["date"] and after["daily"]["due"]["is_recurring"]
        assert child == after["child"]["id"]


async def test_undo_move_puts_tasks_back_where_they_were() -> None:
    async with harness() as h, connected(h) as client:
        await client.call_tool(
            "add_item", {"new_projects": [{"name": "A", "sections": ["S"]}, {"name": "B"}], "items": [{"content": "s"}]}
        )
        in_section, under, plain = await add(
            client,
            {"content": "in section", "project": "A", "section": "S"},
            {"content": "under"},
            {"content": "plain"},
        )
        top = (await by_content(h))["s"]["id"]
        await client.call_tool("move_items", {"ids": [under], "to_parent": top})
        start = await by_content(h)
        await client.call_tool("move_items", {"ids": [in_section, under, plain], "to_project": "B"})
        assert {i["project_id"] for n, i in (await by_content(h)).items() if n != "s"} != {start["plain"]["project_id"]}
        assert structured(await client.call_tool("undo", {}))["ok"] == 3
        end = await by_content(h)
        for name in ("in section", "under", "plain"):
            was, now = start[name], end[name]
            assert (now["project_id"], now["section_id"], now["parent_id"]) == (
                was["project_id"],
                was["section_id"],
                was["parent_id"],
            ), name


async def test_undo_update_restores_the_old_fields_and_delete_cannot_be_undone() -> None:
    async with harness() as h, connected(h) as client:
        [a] = await add(client, {"content": "a", "priority": 2, "due": "every monday", "labels": ["x"]})
        before = (await by_content(h))["a"]
        await client.call_tool(
            "update_items",
            {"items": [{"id": a, "content": "A!", "priority": 4, "due": "tomorrow", "clear": ["labels"]}]},
        )
        preview = structured(await client.call_tool("undo", {"dry_run": True}))
        assert preview["dry_run"] is True and (await by_content(h)).get("A!") is not None
        assert structured(await client.call_tool("undo", {}))["ok"] == 1
        after = (await by_content(h))["a"]
        for field in ("content", "priority", "labels", "due"):
            assert after[field] == before[field], field
        await client.call_tool("delete_items", {"ids": [a]})
        result = await client.call_tool("undo", {})
        assert "no undelete" in text_of(result) and await h.active_items() == []


async def test_resources_serve_the_project_list_and_a_task_from_the_session_mirror() -> None:
    async with harness() as h, connected(h) as client:
        sink_tree = {"content": "sink", "project": "Home", "section": "Kitchen", "subtasks": [{"content": "soap"}]}
        await client.call_tool(
            "add_item", {"new_projects": [{"name": "Home", "sections": ["Kitchen"]}], "items": [sink_tree]}
        )
        listed = {str(r.uri) for r in (await client.list_resources()).resources}
        templates = {t.uri_template for t in (await client.list_resource_templates()).resource_templates}
        assert "todoist://projects" in listed and "todoist://tasks/{task_id}" in templates
        projects = json.loads(_text((await client.read_resource("todoist://projects")).contents[0]))
        home = next(p for p in projects if p["name"] == "Home")
        assert home["tasks"] == 2 and [s["name"] for s in home["sections"]] == ["Kitchen"]
        assert projects[0]["name"] == "Inbox" and projects[0]["inbox"] is True
        sink = (await by_content(h))["sink"]
        task = json.loads(_text((await client.read_resource(f"todoist://tasks/{sink['id']}")).contents[0]))
        assert task["content"] == "sink" and task["project"] == "Home" and task["section"] == "Kitchen"
        assert len(task["subtask_ids"]) == 1
        with pytest.raises(MCPError, match="no open task"):
            await client.read_resource("todoist://tasks/NoSuchTask000000")


def _text(contents: Any) -> str:
    text: str = contents.text
    return text


async def test_find_items_evaluates_filters_over_the_mirror_without_another_request() -> None:
    async with harness() as h, connected(h) as client:
        await client.call_tool(
            "add_item",
            {
                "new_projects": [{"name": "Work", "sections": ["Ops"]}],
                "items": [
                    {"content": "deploy", "project": "Work", "section": "Ops", "priority": 4, "due": "today"},
                    {"content": "report", "project": "Work", "due": "tomorrow", "labels": ["writing"]},
                    {"content": "milk", "due_date": "2026-11-20"},
                    {"content": "someday"},
                ],
            },
        )
        h.transport.reset()
        data = structured(await client.call_tool("find_items", {"filter": "today | overdue"}))
        assert h.transport.count == 0  # the write just before left the mirror current
        [found] = data["lists"]
        assert {t["content"] for t in found["tasks"]} == {"deploy", "milk"}
        two = structured(await client.call_tool("find_items", {"filter": "#Work & !p1, no date"}))
        assert [[t["content"] for t in lst["tasks"]] for lst in two["lists"]] == [["report"], ["someday"]]
        labelled = await client.call_tool("find_items", {"filter": "@writing | /Ops", "limit": 1})
        assert structured(labelled)["lists"][0]["more"] == 1 and "+1 more" in text_of(labelled)
        ghost = structured(await client.call_tool("find_items", {"filter": "#Nowhere"}))
        assert ghost["unknown"] == ["#Nowhere"] and ghost["lists"][0]["tasks"] == []
        bad = await client.call_tool("find_items", {"filter": "p1 & (today"})
        assert bad.is_error and "filter:" in text_of(bad) and "position" in text_of(bad)


async def test_add_and_remove_labels_keep_the_others_and_the_overview_names_the_labels() -> None:
    async with harness() as h, connected(h) as client:
        made = structured(await client.call_tool("manage_projects", {"ops": [{"op": "add", "kind": "label",
                                                                               "name": "calls"}]}))  # fmt: skip
        assert made["ok"] == 1
        (task,) = await add(client, {"content": "Ring the bank", "labels": ["calls", "errand"]})
        # Someone tags it elsewhere after our last look: the edit starts from the task as it is now.
        await h.raw_sync({"commands": [{"type": "item_update", "uuid": "u-elsewhere",
                                        "args": {"id": task, "labels": ["calls", "errand", "Home"]}}]})  # fmt: skip
        reply = await client.call_tool("update_items", {"items": [{"id": task, "add_labels": ["waiting", "CALLS"],
                                                                  "remove_labels": ["errand"]}]})  # fmt: skip
        assert structured(reply)["ok"] == 1, text_of(reply)
        assert (await by_content(h))["Ring the bank"]["labels"] == ["calls", "Home", "waiting"]
        overview = await client.call_tool("query_changes", {})
        said = "Labels (open tasks): @calls (1), @errand (0), @Home (1), @waiting (1)"  # errand: a label, unused
        assert said in text_of(overview), text_of(overview)
        assert structured(overview)["labels"][0] == {"name": "calls", "tasks": 1}
        undone = await client.call_tool("undo", {})
        assert "reverted 1 task" in text_of(undone), text_of(undone)
        assert (await by_content(h))["Ring the bank"]["labels"] == ["calls", "errand", "Home"]


async def test_labels_and_a_label_edit_together_are_refused_and_nothing_is_sent() -> None:
    async with harness() as h, connected(h) as client:
        (task,) = await add(client, {"content": "t", "labels": ["a"]})
        h.transport.reset()
        for change in ({"labels": ["b"], "add_labels": ["c"]}, {"clear": ["labels"], "remove_labels": ["a"]},
                       {"add_labels": ["x"], "remove_labels": ["X"]}):  # fmt: skip
            reply = await client.call_tool("update_items", {"items": [{"id": task, **change}]})
            assert reply.is_error and "labels" in text_of(reply), text_of(reply)
        assert h.transport.count == 0
        missing = await client.call_tool("update_items", {"items": [{"id": "nope", "add_labels": ["c"]}]})
        assert structured(missing)["failed"] == 1 and "no open task with id nope" in text_of(missing)
