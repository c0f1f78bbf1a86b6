"""query_changes for comments, projects, sections and labels, and its account line."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.support import Harness, connected, harness, structured, text_of
from tools_server.sync.commands import TzInfo, User
from tools_server.sync.mirror import Mirror
from tools_server.user import account_line

pytestmark = pytest.mark.anyio


async def elsewhere(h: Harness, *commands: dict[str, Any]) -> dict[str, str]:
    """Commands from another client, straight to the store."""
    body = [{"uuid": f"other-{i}-{c['type']}", **c} for i, c in enumerate(commands)]
    response = await h.raw_sync({"sync_token": "*", "commands": body})
    assert all(s == "ok" for s in response["sync_status"].values()), response["sync_status"]
    mapping: dict[str, str] = response["temp_id_mapping"]
    return mapping


async def test_the_overview_starts_with_the_account_line() -> None:
    async with harness() as h, connected(h) as client:
        text = text_of(await client.call_tool("query_changes", {}))
        assert text.splitlines()[0] == "Account: timezone UTC, today Mon 2026-11-23 10:00, week starts Monday"


def test_the_account_line_reads_tz_info_and_start_day() -> None:
    mirror = Mirror()
    mirror.user = User(tz_info=TzInfo(timezone="Pacific/Auckland"), start_day=7)
    line = account_line(mirror, datetime(2026, 11, 23, 20, 0, tzinfo=UTC))
    assert line == "Account: timezone Pacific/Auckland, today Tue 2026-11-24 09:00, week starts Sunday"


async def test_changes_made_elsewhere_to_comments_projects_sections_and_labels_are_reported() -> None:
    async with harness() as h, connected(h) as client:
        await client.call_tool(
            "manage_projects",
            {"ops": [{"op": "add", "kind": "project", "name": "Work"}, {"op": "add", "kind": "label", "name": "old"}]},
        )
        [task] = structured(await client.call_tool("add_item", {"items": [{"content": "report"}]}))["ids"]
        cursor = structured(await client.call_tool("query_changes", {}))["cursor"]
        state = await h.raw_sync({"sync_token": "*", "resource_types": ["projects", "labels"]})
        work = next(p["id"] for p in state["projects"] if p["name"] == "Work")
        label = state["labels"][0]["id"]
        await elsewhere(
            h,
            {"type": "note_add", "temp_id": "n1", "args": {"item_id": task, "content": "looks good"}},
            {"type": "project_update", "args": {"id": work, "name": "Job"}},
            {"type": "section_add", "temp_id": "s1", "args": {"name": "Q4", "project_id": work}},
            {"type": "label_delete", "args": {"id": label}},
        )
        result = await client.call_tool("query_changes", {"cursor": cursor})
        changes = {(c["kind"], c.get("of"), c["content"]) for c in structured(result)["changes"]}
        assert changes == {
            ("added", "comment", "looks good"),
            ("updated", "project", "Job"),
            ("added", "section", "Q4"),
            ("deleted", "label", "old"),
        }
        text = text_of(result)
        assert "updated project " in text and "was 'Work'" in text and "on " + task in text


async def test_the_sessions_own_object_writes_are_not_reported_as_changes() -> None:
    async with harness() as h, connected(h) as client:
        await client.call_tool(
            "manage_projects",
            {"ops": [{"op": "add", "kind": "project", "name": "P"}, {"op": "add", "kind": "label", "name": "l"}]},
        )
        items = [{"content": f"t{i}", "project": "P", "labels": ["l"]} for i in range(2)]
        [a, _] = structured(await client.call_tool("add_item", {"items": items}))["ids"]
        cursor = structured(await client.call_tool("query_changes", {}))["cursor"]
        await client.call_tool("comment_items", {"add": [{"task": a, "content": "mine"}]})
        await client.call_tool(
            "manage_projects",
            {
                "ops": [
                    {"op": "update", "kind": "label", "id": "l", "name": "renamed"},
                    {"op": "add", "kind": "section", "name": "S", "project": "P"},
                    {"op": "archive", "kind": "project", "id": "P"},
                ]
            },
        )
        result = structured(await client.call_tool("query_changes", {"cursor": cursor}))
        assert result["changes"] == [], result
