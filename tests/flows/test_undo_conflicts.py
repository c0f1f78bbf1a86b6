"""Undo never clobbers: a change made elsewhere after our write (a plain Sync request straight to the store) is left
as it is and named, and update_items plans a kept recurrence from a fresh read."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from mcp import Client

from tests.support import Harness, connected, harness, structured, text_of

pytestmark = pytest.mark.anyio


async def elsewhere(h: Harness, kind: str, **args: Any) -> dict[str, Any]:
    """One command sent by another client of the same account."""
    body = {"commands": [{"type": kind, "uuid": str(uuid.uuid4()), "temp_id": str(uuid.uuid4()), "args": args}]}
    reply = await h.raw_sync(body)
    assert all(v == "ok" for v in reply["sync_status"].values()), reply
    return reply


async def add(client: Client, *items: dict[str, Any]) -> list[str]:
    data = structured(await client.call_tool("add_item", {"items": list(items)}))
    assert data["failed"] == 0, data
    ids: list[str] = data["ids"]
    return ids


async def items_by_id(h: Harness) -> dict[str, dict[str, Any]]:
    return {i["id"]: i for i in await h.active_items()}


async def test_undo_update_reverts_only_tasks_not_changed_elsewhere_and_names_the_others() -> None:
    async with harness() as h, connected(h) as client:
        a, b = await add(client, {"content": "a"}, {"content": "b"})
        await client.call_tool("update_items", {"items": [{"id": a, "priority": 4}, {"id": b, "priority": 4}]})
        await elsewhere(h, "item_update", id=a, priority=2)
        result = await client.call_tool("undo", {})
        data = structured(result)
        now = await items_by_id(h)
        assert now[a]["priority"] == 2 and now[b]["priority"] == 1
        assert data["ok"] == 1 and f"changed elsewhere since: {a} (priority)" in text_of(result)


async def test_undo_move_leaves_a_task_moved_elsewhere_where_it_is() -> None:
    async with harness() as h, connected(h) as client:
        projects = [{"name": "A"}, {"name": "B"}]
        await client.call_tool("add_item", {"new_projects": projects, "items": [{"content": "s"}]})
        x, y = await add(client, {"content": "x", "project": "A"}, {"content": "y", "project": "A"})
        start = await items_by_id(h)
        await client.call_tool("move_items", {"ids": [x, y], "to_project": "B"})
        inbox = next(i for i in (await items_by_id(h)).values() if i["content"] == "s")["project_id"]
        await elsewhere(h, "item_move", id=x, project_id=inbox)
        result = await client.call_tool("undo", {})
        now = await items_by_id(h)
        assert now[y]["project_id"] == start[y]["project_id"] and now[x]["project_id"] == inbox
        assert f"{x} (project_id)" in text_of(result)


async def test_undo_complete_never_reopens_a_task_someone_else_completed_since() -> None:
    async with harness() as h, connected(h) as client:
        t, u = await add(client, {"content": "t"}, {"content": "u"})
        await client.call_tool("complete_items", {"ids": [t, u]})
        h.clock.advance(60)
        await elsewhere(h, "item_uncomplete", id=t)
        h.clock.advance(60)
        await elsewhere(h, "item_close", id=t)  # completed again, by someone else
        result = await client.call_tool("undo", {})
        assert set(await items_by_id(h)) == {u}
        assert f"{t} (completed_at)" in text_of(result)


async def test_undo_complete_does_not_rewind_a_recurrence_changed_elsewhere() -> None:
    async with harness() as h, connected(h) as client:
        [daily] = await add(client, {"content": "daily", "due": "every day"})
        await client.call_tool("complete_items", {"ids": [daily]})
        await elsewhere(h, "item_update", id=daily, due={"string": "every week"})
        changed = (await items_by_id(h))[daily]["due"]
        result = await client.call_tool("undo", {})
        assert (await items_by_id(h))[daily]["due"] == changed and f"{daily} (due)" in text_of(result)


async def test_undo_add_keeps_a_task_someone_gave_a_subtask_and_one_edited_elsewhere() -> None:
    async with harness() as h, connected(h) as client:
        p, _, r = await add(client, {"content": "p"}, {"content": "q"}, {"content": "r"})
        reply = await elsewhere(h, "item_add", content="their subtask", parent_id=p)
        [theirs] = reply["temp_id_mapping"].values()
        await elsewhere(h, "item_update", id=r, content="r, renamed by them")
        result = await client.call_tool("undo", {})
        assert set(await items_by_id(h)) == {p, theirs, r}
        text = text_of(result)
        assert f"{p} (has subtasks we did not create: {theirs})" in text and f"{r} (content)" in text


async def test_undo_add_keeps_a_task_someone_commented_on_even_under_a_subtask() -> None:
    async with harness() as h, connected(h) as client:
        parent, child, plain = await add(client, {"content": "p", "subtasks": [{"content": "c"}]}, {"content": "x"})
        reply = await elsewhere(h, "note_add", item_id=child, content="their comment")
        [note] = reply["temp_id_mapping"].values()
        result = await client.call_tool("undo", {})
        assert set(await items_by_id(h)) == {parent, child}  # the commented tree stays, the other add is undone
        assert plain not in await items_by_id(h)
        assert f"{parent} (has comments: {note})" in text_of(result)


async def test_update_with_a_due_date_keeps_the_recurrence_as_it_is_now_not_as_we_last_saw_it() -> None:
    async with harness() as h, connected(h) as client:
        [water] = await add(client, {"content": "water", "due": "every day"})
        await elsewhere(h, "item_update", id=water, due={"string": "every week"})
        h.transport.reset()
        await client.call_tool("update_items", {"items": [{"id": water, "due_date": "2026-12-01"}]})
        assert h.transport.count == 2  # one incremental read, then the write
        due = (await items_by_id(h))[water]["due"]
        assert (due["date"], due["string"], due["is_recurring"]) == ("2026-12-01", "every week", True)
