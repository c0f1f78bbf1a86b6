"""Undo never clobbers: a change made elsewhere after our write (a plain Sync request straight to the store) is left
as it is and named, and update_items plans a kept recurrence from a fresh read."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from mcp import Client

from tests.support import Harness, connected, harness, structured, text_of
from tools_server.state import MemoryState

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
        assert f"{p} (holds what was added since: {theirs})" in text and f"{r} (content)" in text


async def test_undo_add_keeps_a_task_someone_commented_on_even_under_a_subtask() -> None:
    async with harness() as h, connected(h) as client:
        parent, child, plain = await add(client, {"content": "p", "subtasks": [{"content": "c"}]}, {"content": "x"})
        reply = await elsewhere(h, "note_add", item_id=child, content="their comment")
        [note] = reply["temp_id_mapping"].values()
        result = await client.call_tool("undo", {})
        assert set(await items_by_id(h)) == {parent, child}  # the commented tree stays, the other add is undone
        assert plain not in await items_by_id(h)
        assert f"{parent} (holds what was added since: {note})" in text_of(result)


async def test_update_with_a_due_date_keeps_the_recurrence_as_it_is_now_not_as_we_last_saw_it() -> None:
    async with harness() as h, connected(h) as client:
        [water] = await add(client, {"content": "water", "due": "every day"})
        await elsewhere(h, "item_update", id=water, due={"string": "every week"})
        h.transport.reset()
        await client.call_tool("update_items", {"items": [{"id": water, "due_date": "2026-12-01"}]})
        assert h.transport.count == 2  # one incremental read, then the write
        due = (await items_by_id(h))[water]["due"]
        assert (due["date"], due["string"], due["is_recurring"]) == ("2026-12-01", "every week", True)


# ---------------------------------------------------------------------------------------------------------------------
# Every object kind: another client changes what our write changed, between the write and the undo; the store keeps
# theirs and the undo names it.


async def manage(client: Client, *ops: dict[str, Any]) -> dict[str, Any]:
    data = structured(await client.call_tool("manage_projects", {"ops": list(ops)}))
    assert data["failed"] == 0, data
    return data


async def store(h: Harness) -> dict[str, dict[str, dict[str, Any]]]:
    """Every active object of the account, by id, per resource type."""
    kinds = ["items", "projects", "sections", "labels", "notes", "project_notes", "reminders"]
    data = await h.raw_sync({"sync_token": "*", "resource_types": kinds})
    return {kind: {o["id"]: o for o in data[kind]} for kind in kinds}


def named(table: dict[str, dict[str, Any]], name: str) -> str:
    return next(i for i, o in table.items() if o.get("name") == name)


async def test_undo_of_a_comment_edit_keeps_a_later_edit_made_elsewhere() -> None:
    async with harness() as h, connected(h) as client:
        [task] = await add(client, {"content": "t"})
        [note] = structured(await client.call_tool("comment_items", {"add": [{"task": task, "content": "first"}]}))[
            "ids"
        ]
        await client.call_tool("comment_items", {"update": [{"id": note, "content": "ours"}]})
        await elsewhere(h, "note_update", id=note, content="theirs")
        result = await client.call_tool("undo", {})
        assert (await store(h))["notes"][note]["content"] == "theirs"
        assert f"{note} (content)" in text_of(result)


@pytest.mark.parametrize(
    ("op", "theirs", "field", "value"),
    [
        ({"name": "Ours"}, {"name": "Theirs"}, "name", "Theirs"),
        ({"color": "red"}, {"color": "blue"}, "color", "blue"),
    ],
    ids=["rename", "recolour"],
)
async def test_undo_of_a_project_update_keeps_a_later_change_made_elsewhere(
    op: dict[str, Any], theirs: dict[str, Any], field: str, value: str
) -> None:
    async with harness() as h, connected(h) as client:
        await manage(client, {"op": "add", "kind": "project", "name": "P"})
        project = named((await store(h))["projects"], "P")
        await manage(client, {"op": "update", "kind": "project", "id": project, **op})
        await elsewhere(h, "project_update", id=project, **theirs)
        result = await client.call_tool("undo", {})
        assert (await store(h))["projects"][project][field] == value
        assert f"{project} ({field})" in text_of(result)


async def test_undo_of_a_project_move_keeps_a_later_move_made_elsewhere() -> None:
    async with harness() as h, connected(h) as client:
        await manage(client, *({"op": "add", "kind": "project", "name": n} for n in ("A", "B", "C")))
        projects = (await store(h))["projects"]
        a, b, c = (named(projects, n) for n in ("A", "B", "C"))
        await manage(client, {"op": "move", "kind": "project", "id": c, "parent": a})
        await elsewhere(h, "project_move", id=c, parent_id=b)
        result = await client.call_tool("undo", {})
        assert (await store(h))["projects"][c]["parent_id"] == b
        assert f"{c} (parent_id" in text_of(result)


async def test_undo_of_a_section_rename_and_of_a_section_move_keep_later_changes_made_elsewhere() -> None:
    async with harness() as h, connected(h) as client:
        await manage(
            client,
            *({"op": "add", "kind": "project", "name": n} for n in ("P", "Q", "R")),
            {"op": "add", "kind": "section", "name": "S", "project": "P"},
        )
        s = await store(h)
        section, q, r = named(s["sections"], "S"), named(s["projects"], "Q"), named(s["projects"], "R")
        await manage(client, {"op": "update", "kind": "section", "id": section, "name": "Ours"})
        await elsewhere(h, "section_update", id=section, name="Theirs")
        renamed = await client.call_tool("undo", {})
        assert (await store(h))["sections"][section]["name"] == "Theirs"
        assert f"{section} (name)" in text_of(renamed)
        await manage(client, {"op": "move", "kind": "section", "id": section, "project": q})
        await elsewhere(h, "section_move", id=section, project_id=r)
        moved = await client.call_tool("undo", {})
        assert (await store(h))["sections"][section]["project_id"] == r
        assert f"{section} (project_id" in text_of(moved)


@pytest.mark.parametrize(
    ("op", "theirs", "field", "value"),
    [
        ({"name": "ours"}, {"name": "theirs"}, "name", "theirs"),
        ({"color": "red"}, {"color": "blue"}, "color", "blue"),
    ],
    ids=["rename", "recolour"],
)
async def test_undo_of_a_label_update_keeps_a_later_change_made_elsewhere(
    op: dict[str, Any], theirs: dict[str, Any], field: str, value: str
) -> None:
    async with harness() as h, connected(h) as client:
        await manage(client, {"op": "add", "kind": "label", "name": "errand"})
        label = named((await store(h))["labels"], "errand")
        await manage(client, {"op": "update", "kind": "label", "id": label, **op})
        await elsewhere(h, "label_update", id=label, **theirs)
        result = await client.call_tool("undo", {})
        assert (await store(h))["labels"][label][field] == value
        assert f"{label} ({field})" in text_of(result)


async def test_undo_of_a_reminder_added_keeps_it_once_edited_elsewhere() -> None:
    async with harness() as h, connected(h) as client:
        [task] = await add(client, {"content": "call", "due_datetime": "2026-11-25T15:00:00"})
        await client.call_tool("update_items", {"items": [{"id": task, "reminders": [{"minutes_before": 10}]}]})
        [reminder] = (await store(h))["reminders"]
        await elsewhere(h, "reminder_update", id=reminder, minute_offset=30)
        result = await client.call_tool("undo", {})
        assert (await store(h))["reminders"][reminder]["minute_offset"] == 30
        assert f"{reminder} (minute_offset)" in text_of(result)


@pytest.mark.parametrize("theirs", ["sub-project", "section", "comment", "completed task"])
async def test_undo_of_a_project_add_keeps_the_project_once_something_of_theirs_lives_in_it(theirs: str) -> None:
    async with harness() as h, connected(h) as client:
        await manage(client, {"op": "add", "kind": "project", "name": "P"})
        project = named((await store(h))["projects"], "P")
        if theirs == "sub-project":
            reply = await elsewhere(h, "project_add", name="theirs", parent_id=project)
        elif theirs == "section":
            reply = await elsewhere(h, "section_add", name="theirs", project_id=project)
        elif theirs == "comment":
            reply = await elsewhere(h, "note_add", project_id=project, content="theirs")
        else:
            reply = await elsewhere(h, "item_add", content="theirs", project_id=project)
            await elsewhere(h, "item_close", id=next(iter(reply["temp_id_mapping"].values())))
        [their_id] = reply["temp_id_mapping"].values()
        result = await client.call_tool("undo", {})
        s = await store(h)
        assert project in s["projects"]
        if theirs == "completed task":
            assert [
                t["id"]
                for t in await h.completed("completion", since="2026-11-01T00:00:00Z", until="2026-12-01T00:00:00Z")
            ] == [their_id]
        else:
            assert any(their_id in table for table in s.values())
        assert f"{project} (project 'P' holds what was added since: {their_id})" in text_of(result)


# ---------------------------------------------------------------------------------------------------------------------
# Task writes


async def test_undo_of_a_reopen_leaves_the_task_open_once_it_has_a_subtask_added_since() -> None:
    async with harness() as h, connected(h) as client:
        [task] = await add(client, {"content": "t"})
        await client.call_tool("complete_items", {"ids": [task]})
        await client.call_tool("reopen_items", {"ids": [task]})
        reply = await elsewhere(h, "item_add", content="their subtask", parent_id=task)
        [theirs] = reply["temp_id_mapping"].values()
        result = await client.call_tool("undo", {})
        assert set(await items_by_id(h)) == {task, theirs}
        assert f"{task} (holds what was added since: {theirs})" in text_of(result)


async def test_undo_of_a_reopen_leaves_a_task_edited_since_open() -> None:
    async with harness() as h, connected(h) as client:
        [task] = await add(client, {"content": "t"})
        await client.call_tool("complete_items", {"ids": [task]})
        await client.call_tool("reopen_items", {"ids": [task]})
        await elsewhere(h, "item_update", id=task, content="renamed by them")
        result = await client.call_tool("undo", {})
        assert (await items_by_id(h))[task]["content"] == "renamed by them"
        assert f"{task} (content)" in text_of(result)


async def test_undo_of_an_add_keeps_a_task_that_got_a_completed_subtask_or_a_reminder_since() -> None:
    async with harness() as h, connected(h) as client:
        done, reminded, plain = await add(
            client, {"content": "d"}, {"content": "r", "due_datetime": "2026-11-25T15:00:00"}, {"content": "p"}
        )
        sub = next(iter((await elsewhere(h, "item_add", content="sub", parent_id=done))["temp_id_mapping"].values()))
        await elsewhere(h, "item_close", id=sub)
        reply = await elsewhere(h, "reminder_add", item_id=reminded, type="relative", minute_offset=15)
        [reminder] = reply["temp_id_mapping"].values()
        result = await client.call_tool("undo", {"confirm": 1})
        assert set(await items_by_id(h)) == {done, reminded}
        assert reminder in (await store(h))["reminders"] and plain not in await items_by_id(h)
        text = text_of(result)
        assert f"{done} (holds what was added since: {sub})" in text
        assert f"{reminded} (holds what was added since: {reminder})" in text


async def test_undo_of_a_position_change_keeps_a_later_reorder_made_elsewhere() -> None:
    async with harness() as h, connected(h) as client:
        x, y, z = await add(client, {"content": "x"}, {"content": "y"}, {"content": "z"})
        await client.call_tool("move_items", {"ids": [z], "position": "top"})
        theirs = [{"id": y, "child_order": 1}, {"id": z, "child_order": 2}, {"id": x, "child_order": 3}]
        await elsewhere(h, "item_reorder", items=theirs)
        result = await client.call_tool("undo", {})
        now = await items_by_id(h)
        assert sorted(now, key=lambda i: now[i]["child_order"]) == [y, z, x]
        assert "(child_order)" in text_of(result)


@pytest.mark.parametrize("added", ["project", "task"])
async def test_undo_on_a_replica_that_never_saw_a_completion_still_keeps_what_holds_a_completed_task(
    added: str,
) -> None:
    """Another replica's mirror came from a full sync, which leaves completed tasks out: undo reads them fresh."""
    async with harness() as h:
        shared = MemoryState()
        async with connected(h, h.server(state=shared)) as client:
            if added == "project":
                made = await manage(client, {"op": "add", "kind": "project", "name": "P"})
                holder = named((await store(h))["projects"], "P")
                reply = await elsewhere(h, "item_add", content="theirs", project_id=holder)
            else:
                made = structured(await client.call_tool("add_item", {"items": [{"content": "p"}]}))
                [holder] = made["ids"]
                reply = await elsewhere(h, "item_add", content="theirs", parent_id=holder)
            [theirs] = reply["temp_id_mapping"].values()
            await elsewhere(h, "item_close", id=theirs)
        async with connected(h, h.server(state=shared)) as replica:
            result = await replica.call_tool("undo", {"write": made["write"]})
        assert result.is_error and "1 completed task(s)" in text_of(result), text_of(result)
        s = await store(h)
        assert holder in s["projects"] or holder in s["items"]
        found = await h.completed("completion", since="2026-11-01T00:00:00Z", until="2026-12-01T00:00:00Z")
        assert [t["id"] for t in found] == [theirs]
