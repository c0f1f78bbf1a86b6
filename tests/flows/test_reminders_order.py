"""Reminders on add_item/update_items and move_items' position, through a real MCP client against the local store."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client

from tests.support import Harness, connected, harness, structured, text_of

pytestmark = pytest.mark.anyio


async def reminders(h: Harness) -> list[dict[str, Any]]:
    data = await h.raw_sync({"sync_token": "*", "resource_types": ["reminders"]})
    found: list[dict[str, Any]] = data["reminders"]
    return found


async def order(h: Harness, project_id: str) -> list[str]:
    items = [i for i in await h.active_items() if i["project_id"] == project_id and i["parent_id"] is None]
    return [i["content"] for i in sorted(items, key=lambda i: i["child_order"])]


async def add(client: Client, items: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    result = await client.call_tool("add_item", {"items": items, **extra})
    assert not result.is_error, text_of(result)
    data = structured(result)
    assert data["failed"] == 0, text_of(result)
    return data


async def test_add_item_sets_absolute_and_relative_reminders_in_the_same_request() -> None:
    async with harness() as h, connected(h) as client:
        data = await add(
            client,
            [
                {"content": "Dentist", "due_datetime": "2026-11-25T15:00:00", "reminders": [{"minutes_before": 30}]},
                {"content": "Call mum", "reminders": [{"due": "tomorrow 9am"}, {"due": "2026-11-26 18:00"}]},
            ],
        )
        assert h.transport.writes() == 1 and h.transport.count == 2  # the session's first read, then the write
        dentist, mum = data["ids"]
        found = await reminders(h)
        by_item = {(r["item_id"], r["type"]) : r for r in found}  # fmt: skip
        assert len(found) == 3
        assert by_item[(dentist, "relative")]["minute_offset"] == 30
        assert {r["due"]["date"] for r in found if r["item_id"] == mum} == {
            "2026-11-24T09:00:00.000000Z",
            "2026-11-26T18:00:00.000000Z",
        }


async def test_a_reminder_the_backend_refuses_is_named_beside_its_task_which_counts_as_created() -> None:
    async with harness() as h, connected(h) as client:
        result = await client.call_tool(
            "add_item", {"items": [{"content": "ok"}, {"content": "no time", "reminders": [{"minutes_before": 5}]}]}
        )
        data = structured(result)
        # The task was written (retrying would duplicate it): it is created, with its id; only its reminder failed.
        assert data["ok"] == 2 and data["failed"] == 0 and None not in data["ids"], text_of(result)
        [failure] = data["failures"]
        assert (failure["index"], failure["id"]) == (1, data["ids"][1])
        assert "reminder was not" in failure["message"] and "item_id" in failure["message"]
        assert text_of(result).startswith("Added 2 tasks"), text_of(result)
        assert sorted(i["content"] for i in await h.active_items()) == ["no time", "ok"]
        assert await reminders(h) == []


async def test_new_ids_in_the_text_keep_their_input_places_when_one_task_fails() -> None:
    async with harness() as h, connected(h) as client:
        items = [{"content": f"t{n}"} for n in range(5)]
        items[2] = {"content": "t2", "project": "No such project"}
        result = await client.call_tool("add_item", {"items": items})
        data = structured(result)
        assert data["ids"][2] is None and data["ok"] == 4
        expected = ", ".join(data["ids"][i] if i != 2 else "#2 failed" for i in range(5))
        assert f"New ids in input order: {expected}" in text_of(result), text_of(result)
        assert len(await h.active_items()) == 4


async def test_bad_reminder_input_names_the_field_and_sends_nothing() -> None:
    async with harness() as h, connected(h) as client:
        result = await client.call_tool(
            "add_item", {"items": [{"content": "x", "reminders": [{"due": "9am", "minutes_before": 5}]}]}
        )
        assert result.is_error and "items.0.reminders.0" in text_of(result), text_of(result)
        bad = await client.call_tool("update_items", {"items": [{"id": "1", "reminders": [{"minutes": 5}]}]})
        assert bad.is_error and "reminders.0" in text_of(bad)
        assert h.transport.count == 0


async def test_update_items_adds_replaces_and_clears_reminders_and_undo_restores_them() -> None:
    async with harness() as h, connected(h) as client:
        [task] = (await add(client, [{"content": "Talk", "due_datetime": "2026-11-25T15:00:00"}]))["ids"]
        h.transport.reset()
        result = await client.call_tool(
            "update_items", {"items": [{"id": task, "reminders": [{"minutes_before": 10}, {"minutes_before": 60}]}]}
        )
        assert structured(result)["ok"] == 1, text_of(result)
        assert sorted(r["minute_offset"] for r in await reminders(h)) == [10, 60]
        replaced = await client.call_tool(
            "update_items",
            {"items": [{"id": task, "clear": ["reminders"], "reminders": [{"due": "2026-11-25 14:00"}]}]},
        )
        assert structured(replaced)["ok"] == 1, text_of(replaced)
        assert [(r["type"], r["due"]["date"]) for r in await reminders(h)] == [
            ("absolute", "2026-11-25T14:00:00.000000Z")
        ]
        assert h.transport.count == 2  # one request per call
        undone = await client.call_tool("undo", {})
        assert not undone.is_error, text_of(undone)
        assert sorted(r["minute_offset"] for r in await reminders(h)) == [10, 60]
        cleared = await client.call_tool("update_items", {"items": [{"id": task, "clear": ["reminders"]}]})
        assert structured(cleared)["ok"] == 1 and await reminders(h) == []


async def test_dry_run_with_reminders_sends_nothing_and_shows_the_commands() -> None:
    async with harness() as h, connected(h) as client:
        result = await client.call_tool(
            "add_item", {"items": [{"content": "x", "reminders": [{"due": "tomorrow 9am"}]}], "dry_run": True}
        )
        kinds = [c["type"] for c in structured(result)["plan"]]
        assert kinds == ["item_add", "reminder_add"] and h.transport.count == 0


async def test_move_items_to_the_top_of_a_project_in_one_request_and_undo_puts_them_back() -> None:
    async with harness() as h, connected(h) as client:
        made = await add(client, [{"content": "p"}], new_projects=[{"name": "Work"}])
        work = made["projects"][0]["id"]
        await add(client, [{"content": c, "project": "Work"} for c in ("w1", "w2", "w3")])
        inbox = (await add(client, [{"content": "i1"}, {"content": "i2"}]))["ids"]
        h.transport.reset()
        result = await client.call_tool("move_items", {"ids": inbox, "to_project": "Work", "position": "top"})
        assert structured(result)["ok"] == 2, text_of(result)
        assert h.transport.count == 1
        assert await order(h, work) == ["i1", "i2", "w1", "w2", "w3"]
        undone = await client.call_tool("undo", {})
        assert not undone.is_error, text_of(undone)
        assert await order(h, work) == ["w1", "w2", "w3"]
        assert {i["content"] for i in await h.active_items() if i["project_id"] != work} == {"p", "i1", "i2"}


async def test_position_alone_reorders_in_place_before_or_after_a_sibling() -> None:
    async with harness() as h, connected(h) as client:
        ids = (await add(client, [{"content": c} for c in ("a", "b", "c", "d")]))["ids"]
        inbox = (await h.active_items())[0]["project_id"]
        h.transport.reset()
        result = await client.call_tool("move_items", {"ids": [ids[3]], "position": {"after": ids[0]}})
        assert structured(result)["ok"] == 1, text_of(result)
        assert text_of(result).startswith("Reordered")
        assert await order(h, inbox) == ["a", "d", "b", "c"]
        bottom = await client.call_tool("move_items", {"ids": [ids[0]], "position": "bottom"})
        assert structured(bottom)["ok"] == 1 and await order(h, inbox) == ["d", "b", "c", "a"]
        assert h.transport.count == 2
        await client.call_tool("undo", {})
        assert await order(h, inbox) == ["a", "d", "b", "c"]


async def test_a_position_beside_a_task_elsewhere_is_refused_and_nothing_is_sent() -> None:
    async with harness() as h, connected(h) as client:
        await add(client, [{"content": "p"}], new_projects=[{"name": "Work"}])
        [inbox_task, other] = (await add(client, [{"content": "a"}, {"content": "b"}]))["ids"]
        h.transport.reset()
        result = await client.call_tool(
            "move_items", {"ids": [inbox_task], "to_project": "Work", "position": {"before": other}}
        )
        assert result.is_error and "position.before" in text_of(result), text_of(result)
        both = await client.call_tool(
            "move_items", {"ids": [inbox_task], "position": {"before": other, "after": other}}
        )
        assert both.is_error and "position" in text_of(both)
        assert h.transport.commands_sent() == 0


async def test_find_items_lines_show_each_tasks_reminders() -> None:
    async with harness() as h, connected(h) as client:
        await add(
            client,
            [{"content": "Standup", "due_datetime": "2026-11-23T15:00:00", "reminders": [{"minutes_before": 15}]}],
        )
        h.clock.advance(60)  # the mirror stays fresh: find_items reads it as the write left it
        found = await client.call_tool("find_items", {"filter": "today"})
        assert "Standup" in text_of(found) and "reminders 15m before" in text_of(found), text_of(found)


async def test_a_reminder_todoist_sends_in_utc_is_shown_on_a_madrid_users_clock() -> None:
    async with harness(timezone="Europe/Madrid") as h, connected(h) as client:
        [task] = (await add(client, [{"content": "Pay rent", "due_date": "2026-11-24"}]))["ids"]
        # The v1 docs' shape: the moment in UTC with no timezone; 07:00Z is 08:00 in Madrid in November.
        reminder = {"item_id": task, "type": "absolute", "due": {"date": "2026-11-24T07:00:00.000000Z"}}
        await h.raw_sync({"commands": [{"type": "reminder_add", "uuid": "r1", "temp_id": "r1", "args": reminder}]})
        h.clock.advance(60)  # past find_items' freshness window: it syncs and sees the reminder
        found = text_of(await client.call_tool("find_items", {"filter": "search: rent"}))
        assert "reminders 2026-11-24 08:00" in found, found


async def test_a_reminder_at_9am_for_a_madrid_user_is_stored_as_todoist_does_and_read_back_at_9am() -> None:
    async with harness(timezone="Europe/Madrid") as h, connected(h) as client:
        await add(client, [{"content": "Call mum", "reminders": [{"due": "tomorrow 9am"}]}])
        assert [r["due"]["date"] for r in await reminders(h)] == ["2026-11-24T08:00:00.000000Z"]
        h.clock.advance(60)
        found = text_of(await client.call_tool("find_items", {"filter": "search: mum"}))
        assert "reminders 2026-11-24 09:00" in found, found
