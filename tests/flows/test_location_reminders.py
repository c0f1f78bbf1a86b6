"""Location reminders (issue 23, item 6): added by add_item and update_items (a reminder's ``place``), read from
``reminders_location``, shown on their task by place and trigger, removed one by one (remove_reminders), all at once
(clear ['locations']) or with the task's other reminders, and put back by undo, place and all; through a real MCP
client against the local store."""

from __future__ import annotations

from typing import Any

import pytest

from tests.corpus import CorpusServer, clean_full_sync, corpus_client
from tests.support import connected, harness, structured, text_of

pytestmark = pytest.mark.anyio

# The documented location reminder arguments (reference §2.7: coordinates are strings; on_enter | on_leave; metres).
OFFICE = {"type": "location", "name": "Office", "loc_lat": "51.5074", "loc_long": "-0.1278", "loc_trigger": "on_enter",
          "radius": 200}  # fmt: skip
PLACE_KEYS = ("type", "name", "loc_lat", "loc_long", "loc_trigger", "radius")


async def test_a_location_reminder_is_shown_cleared_with_the_others_and_restored_by_undo() -> None:
    async with harness() as h, connected(h) as client:
        new = {"content": "buy bread", "due": "tomorrow 9am", "reminders": [{"minutes_before": 30}]}
        [task] = structured(await client.call_tool("add_item", {"items": [new]}))["ids"]
        # Another app adds a location reminder to it.
        leave = {**OFFICE, "name": "Home", "loc_trigger": "on_leave", "item_id": task}
        commands: list[dict[str, Any]] = [
            {"type": "reminder_add", "uuid": "loc-1", "temp_id": "r1", "args": {**OFFICE, "item_id": task}},
            {"type": "reminder_add", "uuid": "loc-2", "temp_id": "r2", "args": leave},
        ]
        await h.raw_sync({"sync_token": "*", "commands": commands})
        overview = text_of(await client.call_tool("query_changes", {}))
        assert "reminders 30m before, arriving at Office (200 m), leaving Home (200 m)" in overview

        h.transport.reset()
        cleared = await client.call_tool("update_items", {"items": [{"id": task, "clear": ["reminders"]}]})
        assert not cleared.is_error and h.transport.count == 1, text_of(cleared)
        stored = await h.raw_sync({"sync_token": "*", "resource_types": ["reminders", "reminders_location"]})
        assert stored["reminders"] == [] and stored["reminders_location"] == []

        h.transport.reset()
        undone = await client.call_tool("undo", {})
        assert not undone.is_error and h.transport.count == 2, text_of(undone)  # a read, then one write
        stored = await h.raw_sync({"sync_token": "*", "resource_types": ["reminders", "reminders_location"]})
        assert [r["minute_offset"] for r in stored["reminders"]] == [30]
        places = sorted(({k: r[k] for k in PLACE_KEYS} for r in stored["reminders_location"]), key=lambda r: r["name"])
        assert places == [
            {k: leave[k] for k in PLACE_KEYS},
            {k: OFFICE[k] for k in PLACE_KEYS},
        ]
        assert all(r["item_id"] == task for r in stored["reminders_location"])


async def test_the_documented_location_reminder_is_read_from_a_full_sync_and_shown() -> None:
    data = clean_full_sync()
    madrid = "6X7rfFVPjhvv84XL"  # Dentist in Madrid, which already has a time reminder
    data["reminders_location"] = [
        {"id": "6X7Vfq5rqPMM5j5r", "notify_uid": "2671355", "item_id": madrid, **OFFICE, "is_deleted": False}
    ]
    corpus = CorpusServer(full=data, incremental=None)
    async with corpus_client(corpus) as client:
        overview = text_of(await client.call_tool("query_changes", {}))
    line = next(line for line in overview.splitlines() if line.startswith(madrid))
    assert line.endswith(", arriving at Office (200 m)") and "reminders " in line
    assert corpus.requests[0]["resource_types"].count("reminders_location") == 1


async def places(h: Any) -> list[dict[str, Any]]:
    stored = await h.raw_sync({"sync_token": "*", "resource_types": ["reminders_location"]})
    found: list[dict[str, Any]] = stored["reminders_location"]
    return sorted(found, key=lambda r: r["name"])


async def test_a_location_reminder_added_from_a_tool_is_listed_removed_and_restored_by_undo() -> None:
    async with harness() as h, connected(h) as client:
        office = {"name": "Office", "lat": 51.5074, "long": -0.1278, "on_leave": True, "radius": 200}
        bakery = {"name": "Bakery", "lat": 40.4168, "long": -3.7038}
        new = {"content": "buy bread", "reminders": [{"place": office}, {"place": bakery}]}
        added = await client.call_tool("add_item", {"items": [new]})
        assert not added.is_error and h.transport.writes() == 1, text_of(added)
        [task] = structured(added)["ids"]
        # The documented reminder_add arguments: coordinates as strings, on_enter unless on_leave.
        assert [{k: r[k] for k in PLACE_KEYS} for r in await places(h)] == [
            {"type": "location", "name": "Bakery", "loc_lat": "40.4168", "loc_long": "-3.7038",
             "loc_trigger": "on_enter", "radius": 100},
            {"type": "location", "name": "Office", "loc_lat": "51.5074", "loc_long": "-0.1278",
             "loc_trigger": "on_leave", "radius": 200},
        ]  # fmt: skip
        overview = text_of(await client.call_tool("query_changes", {}))
        assert "reminders leaving Office (200 m), arriving at Bakery (100 m)" in overview, overview

        h.transport.reset()
        removed = await client.call_tool("update_items", {"items": [{"id": task, "remove_reminders": ["office"]}]})
        assert structured(removed)["ok"] == 1 and h.transport.writes() == 1, text_of(removed)
        assert [r["name"] for r in await places(h)] == ["Bakery"]

        undone = await client.call_tool("undo", {})
        assert not undone.is_error, text_of(undone)
        back = await places(h)
        assert [(r["name"], r["loc_trigger"], r["radius"], r["loc_lat"]) for r in back] == [
            ("Bakery", "on_enter", 100, "40.4168"),
            ("Office", "on_leave", 200, "51.5074"),
        ]
        assert "leaving Office (200 m)" in text_of(await client.call_tool("query_changes", {}))


async def test_clear_locations_keeps_time_reminders_and_undo_of_an_added_place_deletes_it() -> None:
    async with harness() as h, connected(h) as client:
        new = {"content": "call", "due": "tomorrow 9am", "reminders": [{"minutes_before": 15}]}
        [task] = structured(await client.call_tool("add_item", {"items": [new]}))["ids"]
        home = {"place": {"name": "Home", "lat": 48.8566, "long": 2.3522, "on_leave": False}}
        added = await client.call_tool("update_items", {"items": [{"id": task, "reminders": [home]}]})
        assert structured(added)["ok"] == 1, text_of(added)
        assert [(r["name"], r["loc_long"]) for r in await places(h)] == [("Home", "2.3522")]
        cleared = await client.call_tool("update_items", {"items": [{"id": task, "clear": ["locations"]}]})
        assert structured(cleared)["ok"] == 1, text_of(cleared)
        stored = await h.raw_sync({"sync_token": "*", "resource_types": ["reminders", "reminders_location"]})
        assert stored["reminders_location"] == [] and [r["minute_offset"] for r in stored["reminders"]] == [15]
        undone = await client.call_tool("undo", {})
        assert not undone.is_error and [r["name"] for r in await places(h)] == ["Home"], text_of(undone)
        await client.call_tool("update_items", {"items": [{"id": task, "clear": ["locations"]}]})
        again = await client.call_tool("update_items", {"items": [{"id": task, "clear": ["locations"]}]})
        assert structured(again)["failed"] == 1 and "no reminders to clear" in text_of(again)
        # Undo of the write that added a place deletes it again.
        await client.call_tool("update_items", {"items": [{"id": task, "reminders": [home]}]})
        assert [r["name"] for r in await places(h)] == ["Home"]
        assert not (await client.call_tool("undo", {})).is_error and await places(h) == []


async def test_a_bad_place_or_an_unknown_reminder_name_sends_nothing() -> None:
    async with harness() as h, connected(h) as client:
        [task] = structured(await client.call_tool("add_item", {"items": [{"content": "x"}]}))["ids"]
        h.transport.reset()
        far = {"content": "y", "reminders": [{"place": {"name": "Pole", "lat": 95.0, "long": 0.0}}]}
        bad = await client.call_tool("add_item", {"items": [far]})
        assert bad.is_error and "items.0.reminders.0.place.lat: a latitude is between -90 and 90" in text_of(bad)
        both = {"content": "y", "reminders": [{"minutes_before": 5, "place": {"name": "A", "lat": 1.0, "long": 2.0}}]}
        bad = await client.call_tool("add_item", {"items": [both]})
        assert bad.is_error and "give exactly one of due, minutes_before, place" in text_of(bad), text_of(bad)
        # A subtask's reminders are times only (the place is offered on the top-level task).
        sub = {"content": "y", "subtasks": [{"content": "z", "reminders": [{"place": {"name": "A", "lat": 1.0,
               "long": 2.0}}]}]}  # fmt: skip
        bad = await client.call_tool("add_item", {"items": [sub]})
        assert bad.is_error and "items.0.subtasks.0.reminders.0.place" in text_of(bad), text_of(bad)
        unknown = await client.call_tool("update_items", {"items": [{"id": task, "remove_reminders": ["Gym"]}]})
        assert structured(unknown)["failed"] == 1 and "no reminder at or with id 'Gym'" in text_of(unknown)
        assert h.transport.writes() == 0


async def test_undo_leaves_an_added_place_that_someone_changed_since_and_says_so() -> None:
    async with harness() as h, connected(h) as client:
        [task] = structured(await client.call_tool("add_item", {"items": [{"content": "gym bag"}]}))["ids"]
        gym = {"place": {"name": "Gym", "lat": 48.8566, "long": 2.3522}}
        assert structured(await client.call_tool("update_items", {"items": [{"id": task, "reminders": [gym]}]}))["ok"]
        [added] = await places(h)
        # Another app widens it.
        change = {"type": "reminder_update", "uuid": "elsewhere", "args": {"id": added["id"], "radius": 500}}
        await h.raw_sync({"sync_token": "*", "commands": [change]})
        undone = await client.call_tool("undo", {})
        assert added["id"] in text_of(undone) and "radius" in text_of(undone), text_of(undone)
        assert [(r["name"], r["radius"]) for r in await places(h)] == [("Gym", 500)]
