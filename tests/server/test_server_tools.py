"""The four tools through a real MCP client (in process) against the embedded local store."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support import connected, harness, structured, text_of

pytestmark = pytest.mark.anyio

# add_item and query_changes advertise their result schemas; the other write tools return the same compact shape as
# add_item without repeating it (about 1,100 characters each, issue 13's 15,000 budget for all thirteen tools).
MAIN_TOOLS = {"add_item", "query_changes"}


async def test_add_item_creates_the_task_in_the_store_and_returns_its_id() -> None:
    async with harness() as h, connected(h) as client:
        result = await client.call_tool("add_item", {"items": [{"content": "Buy milk", "priority": 4}]})
        assert not result.is_error, text_of(result)
        data = structured(result)
        assert data["ok"] == 1 and data["failed"] == 0
        new_id = data["ids"][0]
        items = await h.active_items()
        assert [(i["id"], i["content"], i["priority"]) for i in items] == [(new_id, "Buy milk", 4)]
        assert new_id in text_of(result)
        assert h.transport.count == 1


async def test_subtask_tree_is_one_request_and_keeps_the_hierarchy() -> None:
    tree = {
        "content": "Trip",
        "subtasks": [
            {"content": "Book flight", "subtasks": [{"content": "Compare prices"}]},
            {"content": "Pack"},
        ],
    }
    async with harness() as h, connected(h) as client:
        result = await client.call_tool("add_item", {"items": [tree]})
        data = structured(result)
        assert data["ok"] == 4, text_of(result)
        assert h.transport.count == 1
        by_content = {i["content"]: i for i in await h.active_items()}
        assert by_content["Book flight"]["parent_id"] == by_content["Trip"]["id"]
        assert by_content["Compare prices"]["parent_id"] == by_content["Book flight"]["id"]
        assert by_content["Pack"]["parent_id"] == by_content["Trip"]["id"]
        assert data["ids"] == [by_content[c]["id"] for c in ("Trip", "Book flight", "Compare prices", "Pack")]


async def test_new_project_with_sections_and_tasks_goes_out_in_one_request() -> None:
    async with harness() as h, connected(h) as client:
        await client.call_tool("query_changes", {})  # a session's first call reads the account once
        h.transport.reset()
        result = await client.call_tool(
            "add_item",
            {
                "new_projects": [{"name": "Move house", "sections": ["Packing"]}],
                "items": [
                    {"content": "Buy boxes", "project": "Move house", "section": "Packing"},
                    {"content": "Call movers", "project": "move house"},
                ],
            },
        )
        data = structured(result)
        assert data["ok"] == 2 and data["failed"] == 0, text_of(result)
        assert h.transport.count == 1
        state = await h.state()
        project = next(p for p in state["projects"] if p["name"] == "Move house")
        section = next(s for s in state["sections"] if s["name"] == "Packing")
        assert section["project_id"] == project["id"]
        items = {i["content"]: i for i in state["items"]}
        assert items["Buy boxes"]["section_id"] == section["id"]
        assert items["Buy boxes"]["project_id"] == project["id"]
        assert items["Call movers"]["project_id"] == project["id"]


async def test_unknown_project_name_fails_that_item_only_and_names_close_projects() -> None:
    async with harness() as h, connected(h) as client:
        await client.call_tool("add_item", {"new_projects": [{"name": "Work"}], "items": [{"content": "seed"}]})
        h.transport.reset()
        result = await client.call_tool(
            "add_item", {"items": [{"content": "ok task"}, {"content": "lost task", "project": "Wrok"}]}
        )
        data = structured(result)
        assert (data["ok"], data["failed"]) == (1, 1)
        [failure] = data["failures"]
        assert failure["index"] == 1 and data["ids"][1] is None
        assert failure["error_tag"] == "PROJECT_NOT_FOUND" and "Work" in failure["message"]
        assert "Wrok" in text_of(result) and "Work" in text_of(result)
        sent = [c["args"]["content"] for b in h.transport.bodies for c in b.get("commands", [])]
        assert "lost task" not in sent
        assert "lost task" not in {i["content"] for i in await h.active_items()}


async def test_complete_items_reports_one_bad_id_among_good_ones_in_input_order() -> None:
    async with harness() as h, connected(h) as client:
        added = structured(await client.call_tool("add_item", {"items": [{"content": "a"}, {"content": "b"}]}))
        a, b = added["ids"]
        result = await client.call_tool("complete_items", {"ids": [a, "NoSuchTask000000", b]})
        data = structured(result)
        assert (data["ok"], data["failed"]) == (2, 1)
        [failure] = data["failures"]
        assert (failure["index"], failure["id"], failure["error_tag"]) == (1, "NoSuchTask000000", "ITEM_NOT_FOUND")
        assert failure["retryable"] is False and "ids" not in data
        assert "NoSuchTask000000" in text_of(result)
        assert await h.active_items() == []


async def test_completing_a_recurring_task_advances_it_and_says_the_next_date() -> None:
    async with harness() as h, connected(h) as client:
        added = structured(
            await client.call_tool("add_item", {"items": [{"content": "Water plants", "due": "every day"}]})
        )
        task_id = added["ids"][0]
        result = await client.call_tool("complete_items", {"ids": [task_id]})
        data = structured(result)
        [recurring] = data["recurring"]
        assert recurring["id"] == task_id
        next_due = recurring["next_due"]
        assert next_due == "2026-11-24"
        assert "recurring" in text_of(result) and next_due in text_of(result)
        [item] = await h.active_items()
        assert item["id"] == task_id and item["checked"] is False and item["due"]["date"] == next_due


async def test_complete_items_deduplicates_ids_and_says_so() -> None:
    async with harness() as h, connected(h) as client:
        task_id = structured(await client.call_tool("add_item", {"items": [{"content": "x"}]}))["ids"][0]
        h.transport.reset()
        data = structured(await client.call_tool("complete_items", {"ids": [task_id, task_id]}))
        assert data["ok"] == 1 and data["failed"] == 0
        assert data["notes"] == ["1 duplicate id(s) ignored"]
        assert h.transport.commands_sent() == 1


async def test_move_items_moves_subtasks_with_the_parent_and_reports_per_item() -> None:
    async with harness() as h, connected(h) as client:
        await client.call_tool("add_item", {"new_projects": [{"name": "Errands"}], "items": [{"content": "seed"}]})
        added = structured(
            await client.call_tool("add_item", {"items": [{"content": "parent", "subtasks": [{"content": "child"}]}]})
        )
        parent_id = added["ids"][0]
        result = await client.call_tool("move_items", {"ids": [parent_id, "NoSuchTask000000"], "to_project": "errands"})
        data = structured(result)
        assert data["ok"] == 1 and [f["index"] for f in data["failures"]] == [1]
        state = await h.state()
        errands = next(p["id"] for p in state["projects"] if p["name"] == "Errands")
        moved = {i["content"]: i["project_id"] for i in state["items"]}
        assert moved["parent"] == errands and moved["child"] == errands


async def test_move_items_refuses_conflicting_destinations_and_sends_nothing() -> None:
    async with harness() as h, connected(h) as client:
        result = await client.call_tool("move_items", {"ids": ["a"], "to_project": "X", "to_parent": "b"})
        assert result.is_error
        assert "exactly one of to_project, to_section, to_parent" in text_of(result)
        assert h.transport.count == 0


async def test_move_to_an_unknown_project_names_the_closest_ones_and_sends_no_command() -> None:
    async with harness() as h, connected(h) as client:
        await client.call_tool("add_item", {"new_projects": [{"name": "Groceries"}], "items": [{"content": "milk"}]})
        h.transport.reset()
        result = await client.call_tool("move_items", {"ids": ["x"], "to_project": "Grocery"})
        assert result.is_error and "Groceries" in text_of(result)
        assert h.transport.commands_sent() == 0


async def test_dry_run_returns_the_plan_and_sends_no_command() -> None:
    async with harness() as h, connected(h) as client:
        result = await client.call_tool(
            "add_item", {"items": [{"content": "a", "subtasks": [{"content": "b"}]}], "dry_run": True}
        )
        data = structured(result)
        assert data["dry_run"] is True
        assert [c["type"] for c in data["plan"]] == ["item_add", "item_add"]
        assert data["plan"][1]["args"]["parent_id"] == data["plan"][0]["temp_id"]
        assert h.transport.commands_sent() == 0
        assert await h.active_items() == []
        for tool, args in (("complete_items", {"ids": ["x"]}), ("move_items", {"ids": ["x"], "to_parent": "y"})):
            data = structured(await client.call_tool(tool, args | {"dry_run": True}))
            assert data["dry_run"] is True and len(data["plan"]) == 1
        assert h.transport.commands_sent() == 0


@pytest.mark.parametrize(
    ("tool", "args", "fragment"),
    [
        ("add_item", {"items": [{"content": "x", "priority": 9}]}, "items.0.priority"),
        ("add_item", {"items": []}, "items"),
        ("add_item", {"items": [{"content": ""}]}, "items.0.content"),
        ("add_item", {"items": [{"content": "x", "due": "today", "due_date": "2026-01-01"}]}, "only one of due"),
        ("add_item", {"items": [{"content": "x", "projct": "Work"}]}, "items.0.projct"),
        ("complete_items", {"ids": []}, "ids"),
        ("complete_items", {"ids": ["x"] * 1001}, "ids"),
        ("move_items", {"ids": ["x"]}, "got none"),
        ("query_changes", {"limit": 0}, "limit"),
    ],
)
async def test_invalid_arguments_are_an_error_naming_the_field_and_nothing_is_sent(
    tool: str, args: dict[str, Any], fragment: str
) -> None:
    async with harness() as h, connected(h) as client:
        result = await client.call_tool(tool, args)
        assert result.is_error
        text = text_of(result)
        assert fragment in text and "errors.pydantic.dev" not in text
        assert h.transport.count == 0


async def test_more_than_1000_tasks_including_subtasks_is_refused() -> None:
    items = [{"content": f"t{i}", "subtasks": [{"content": "s"}]} for i in range(501)]
    async with harness() as h, connected(h) as client:
        result = await client.call_tool("add_item", {"items": items})
        assert result.is_error and "at most 1000 tasks" in text_of(result)
        assert h.transport.count == 0


@pytest.mark.parametrize(("n", "requests"), [(1, 1), (100, 1), (250, 3)])
async def test_n_writes_cost_ceil_n_over_100_requests(n: int, requests: int) -> None:
    async with harness() as h, connected(h) as client:
        await client.call_tool("add_item", {"new_projects": [{"name": "Dest"}], "items": [{"content": "seed"}]})
        h.transport.reset()
        added = structured(await client.call_tool("add_item", {"items": [{"content": f"task {i}"} for i in range(n)]}))
        assert added["ok"] == n and h.transport.count == requests
        ids = added["ids"]

        h.transport.reset()
        moved = structured(await client.call_tool("move_items", {"ids": ids, "to_project": "Dest"}))
        assert moved["ok"] == n and h.transport.count == requests

        h.transport.reset()
        completed = structured(await client.call_tool("complete_items", {"ids": ids}))
        assert completed["ok"] == n and h.transport.count == requests
        assert [i["content"] for i in await h.active_items()] == ["seed"]


async def test_a_full_batch_summary_stays_short() -> None:
    async with harness() as h, connected(h) as client:
        result = await client.call_tool("add_item", {"items": [{"content": f"task number {i}"} for i in range(250)]})
        text = text_of(result)
        assert structured(result)["ok"] == 250
        assert len(text) <= 300, text
        assert json.dumps(structured(result))[:40] not in text


async def test_query_changes_overview_then_only_changes_made_elsewhere() -> None:
    async with harness() as h, connected(h) as alice, connected(h) as bob:
        await alice.call_tool("add_item", {"items": [{"content": "alice first"}]})
        overview = await alice.call_tool("query_changes", {})
        first = structured(overview)
        assert first["overview"] is True
        assert [t["content"] for t in first["tasks"]] == ["alice first"]
        cursor = first["cursor"]

        bob_added = structured(await bob.call_tool("add_item", {"items": [{"content": "from bob"}]}))
        await alice.call_tool("add_item", {"items": [{"content": "alice second"}]})
        h.transport.reset()
        changes = structured(await alice.call_tool("query_changes", {"cursor": cursor}))
        assert changes["overview"] is False
        assert [(c["kind"], c["content"]) for c in changes["changes"]] == [("added", "from bob")]
        assert h.transport.full_syncs() == 0

        await bob.call_tool("complete_items", {"ids": [bob_added["ids"][0]]})
        again = structured(await alice.call_tool("query_changes", {"cursor": cursor}))
        assert [(c["kind"], c["content"]) for c in again["changes"]] == [("completed", "from bob")]
        quiet = await alice.call_tool("query_changes", {"cursor": cursor})
        assert not structured(quiet).get("changes") and "No changes" in text_of(quiet)
        assert h.transport.full_syncs() == 0

        # Bob's session never saw Alice's cursor: it gets a fresh overview of its own.
        bob_view = await bob.call_tool("query_changes", {"cursor": cursor})
        assert structured(bob_view)["overview"] is True and structured(bob_view)["cursor"] != cursor
        assert "Unknown or expired cursor" in text_of(bob_view)


async def test_query_changes_bounds_the_listing_with_a_more_count() -> None:
    async with harness() as h, connected(h) as client:
        await client.call_tool("add_item", {"items": [{"content": f"t{i}"} for i in range(30)]})
        result = await client.call_tool("query_changes", {"limit": 5})
        data = structured(result)
        assert len(data["tasks"]) == 5 and data["more"] == 25
        assert "+25 more" in text_of(result)
        assert h.transport.count == 2


# The context a client spends on this server before any call: every tool with its schemas, annotations and title.
TOOLS_LIST_BUDGET = 15_000


async def test_tools_list_is_small_and_every_tool_is_annotated_and_titled() -> None:
    async with harness() as h, connected(h) as client:
        tools = await client.list_tools()
        dumped = json.dumps([t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools.tools])
        print(f"tools/list: {len(dumped)} characters for {len(tools.tools)} tools (budget {TOOLS_LIST_BUDGET})")
        assert len(dumped) <= TOOLS_LIST_BUDGET
        names = {t.name for t in tools.tools}
        assert {"add_item", "complete_items", "move_items", "query_changes"} <= names
        for tool in tools.tools:
            assert tool.annotations is not None
            assert tool.title, tool.name
            assert (tool.output_schema is not None) == (tool.name in MAIN_TOOLS), tool.name
        # One "type" per schema everywhere: some clients map schemas onto a dialect without type lists (Gemini's).
        assert '"type": [' not in dumped
        read_only = {t.name for t in tools.tools if t.annotations and t.annotations.read_only_hint}
        assert read_only == {"query_changes", "find_items", "find_completed"} & names
        destructive = {t.name for t in tools.tools if t.annotations and t.annotations.destructive_hint}
        assert destructive == {"delete_items", "manage_projects"} & names
