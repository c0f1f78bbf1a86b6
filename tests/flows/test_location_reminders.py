"""Location reminders (issue 23, item 6, in part): read from ``reminders_location``, shown on their task by place and
trigger, cleared with the task's other reminders and put back by undo, place and all; through a real MCP client
against the local store. Adding one from a tool is not offered (see the report)."""

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
