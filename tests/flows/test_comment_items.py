"""comment_items through a real MCP client against the local store; the store is read back with plain Sync requests."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client

from tests.support import Harness, connected, harness, structured, text_of
from tools_server.user import local_time

pytestmark = pytest.mark.anyio


async def add_tasks(client: Client, *contents: str) -> list[str]:
    data = structured(await client.call_tool("add_item", {"items": [{"content": c} for c in contents]}))
    ids: list[str] = data["ids"]
    return ids


async def notes(h: Harness) -> dict[str, dict[str, Any]]:
    data = await h.raw_sync({"sync_token": "*", "resource_types": ["notes", "project_notes"]})
    return {n["id"]: n for n in [*data["notes"], *data["project_notes"]]}


async def test_comments_on_tasks_and_projects_go_in_one_request_and_land_in_the_store() -> None:
    async with harness() as h, connected(h) as client:
        a, b = await add_tasks(client, "a", "b")
        h.transport.reset()
        added = [
            {"task": a, "content": "first"},
            {"task": b, "content": "second"},
            {"project": "Inbox", "content": "about the inbox"},
        ]
        data = structured(await client.call_tool("comment_items", {"add": added}))
        assert (data["ok"], data["failed"], h.transport.count) == (3, 0, 1)
        stored = await notes(h)
        assert [stored[i]["content"] for i in data["ids"]] == ["first", "second", "about the inbox"]
        assert stored[data["ids"][0]]["item_id"] == a and "project_id" in stored[data["ids"][2]]


async def test_150_comments_take_two_requests() -> None:
    async with harness() as h, connected(h) as client:
        [a] = await add_tasks(client, "a")
        h.transport.reset()
        added = [{"task": a, "content": f"c{i}"} for i in range(150)]
        data = structured(await client.call_tool("comment_items", {"add": added}))
        assert data["ok"] == 150 and h.transport.count == 2
        assert len(await notes(h)) == 150


async def test_update_and_delete_change_the_store_and_undo_restores_them() -> None:
    async with harness() as h, connected(h) as client:
        [a] = await add_tasks(client, "a")
        made = structured(await client.call_tool("comment_items", {"add": [{"task": a, "content": "x"}] * 2}))
        keep, drop = made["ids"]
        h.transport.reset()
        data = structured(
            await client.call_tool("comment_items", {"update": [{"id": keep, "content": "edited"}], "delete": [drop]})
        )
        assert (data["ok"], h.transport.count) == (2, 1)
        stored = await notes(h)
        assert stored[keep]["content"] == "edited" and drop not in stored
        undone = await client.call_tool("undo", {})
        assert "Cannot undo: 1 deletion(s)" in text_of(undone)
        assert (await notes(h))[keep]["content"] == "x"


async def test_undo_deletes_the_comments_just_added() -> None:
    async with harness() as h, connected(h) as client:
        [a] = await add_tasks(client, "a")
        await client.call_tool("comment_items", {"add": [{"task": a, "content": "oops"}]})
        assert len(await notes(h)) == 1
        await client.call_tool("undo", {})
        assert await notes(h) == {}


async def test_dry_run_sends_nothing() -> None:
    async with harness() as h, connected(h) as client:
        [a] = await add_tasks(client, "a")
        h.transport.reset()
        data = structured(
            await client.call_tool("comment_items", {"add": [{"task": a, "content": "x"}], "dry_run": True})
        )
        assert data["dry_run"] is True and data["plan"][0]["type"] == "note_add"
        assert data["plan"][0]["args"] == {"content": "x", "item_id": a}
        assert h.transport.commands_sent() == 0 and await notes(h) == {}


async def test_bad_input_names_the_field_and_sends_nothing() -> None:
    async with harness() as h, connected(h) as client:
        [a] = await add_tasks(client, "a")
        h.transport.reset()
        both = await client.call_tool("comment_items", {"add": [{"task": a, "project": "Inbox", "content": "x"}]})
        assert both.is_error and "add.0" in text_of(both) and "exactly one of task or project" in text_of(both)
        empty = await client.call_tool("comment_items", {"add": [{"task": a, "content": "  "}]})
        assert empty.is_error and "add.0.content" in text_of(empty)
        nothing = await client.call_tool("comment_items", {})
        assert nothing.is_error and "give add, update, delete or list" in text_of(nothing)
        assert h.transport.count == 0
        unknown = await client.call_tool(
            "comment_items",
            {"add": [{"task": "NoSuchTask", "content": "x"}, {"project": "Nowhere", "content": "y"}]},
        )
        data = structured(unknown)
        assert [f["error_tag"] for f in data["failures"]] == ["ITEM_NOT_FOUND", "PROJECT_NOT_FOUND"]
        assert "task: no task with id NoSuchTask" in text_of(unknown)
        edit = structured(await client.call_tool("comment_items", {"update": [{"id": "NoNote", "content": "z"}]}))
        assert edit["failures"][0]["error_tag"] == "NOTE_NOT_FOUND"
        # Only the task's comment went out: a task the mirror lacks may be a completed one, the backend decides.
        assert h.transport.commands_sent() == 1 and await notes(h) == {}


async def test_list_shows_comments_with_ids_and_local_times_from_the_mirror() -> None:
    async with harness() as h, connected(h) as client:
        [a] = await add_tasks(client, "write report")
        long = "word " * 100
        made = structured(
            await client.call_tool(
                "comment_items", {"add": [{"task": a, "content": long}, {"project": "Inbox", "content": "inbox"}]}
            )
        )
        result = await client.call_tool("comment_items", {"list": [a, "Inbox"]})
        text = text_of(result)
        assert "Comments on 'write report'" in text and f"- {made['ids'][0]} 2026-11-23 10:00 word" in text
        listed = structured(result)["comments"]
        assert [c["id"] for c in listed] == made["ids"]
        assert len(listed[0]["content"]) <= 200 and listed[1]["on"] != a


def test_posted_times_are_shown_in_the_users_timezone() -> None:
    assert local_time("2026-11-23T10:00:00.000000Z", "Europe/Berlin") == "2026-11-23 11:00"
    assert local_time("2026-11-23T23:30:00Z", "America/New_York") == "2026-11-23 18:30"


async def test_a_task_created_elsewhere_since_the_last_sync_takes_its_comment_in_one_request() -> None:
    async with harness() as h, connected(h) as client:
        await client.call_tool("query_changes", {})
        made = await h.raw_sync(
            {
                "sync_token": "*",
                "commands": [{"type": "item_add", "uuid": "u-else", "temp_id": "t1", "args": {"content": "x"}}],
            }
        )
        task = made["temp_id_mapping"]["t1"]
        h.transport.reset()
        data = structured(await client.call_tool("comment_items", {"add": [{"task": task, "content": "hi"}]}))
        # Not in the mirror, yet sent as it is (it may be a completed task): the backend knows it.
        assert data["ok"] == 1 and h.transport.count == 1 and len(await notes(h)) == 1


async def test_a_task_completed_before_the_session_takes_a_comment_and_undo_removes_it() -> None:
    async with harness() as h:
        made = await h.raw_sync({"commands": [{"type": "item_add", "uuid": "u1", "temp_id": "t1",
                                               "args": {"content": "Filed taxes"}}]})  # fmt: skip
        task = made["temp_id_mapping"]["t1"]
        await h.raw_sync({"commands": [{"type": "item_close", "uuid": "u2", "args": {"id": task}}]})
        # A new process: its mirror never held the task (a full sync leaves completed tasks out).
        async with connected(h) as client:
            reply = await client.call_tool("comment_items", {"add": [{"task": task, "content": "receipt is in"}]})
            assert structured(reply)["ok"] == 1, text_of(reply)
            [note] = (await notes(h)).values()
            assert (note["item_id"], note["content"]) == (task, "receipt is in")
            undone = await client.call_tool("undo", {})
            assert not undone.is_error, text_of(undone)
            assert await notes(h) == {}
            wrong = await client.call_tool("comment_items", {"add": [{"task": "NoSuchTask", "content": "x"}]})
            assert "task: no task with id NoSuchTask" in text_of(wrong), text_of(wrong)
