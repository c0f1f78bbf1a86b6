"""The four tools through a real MCP client (in process) against the embedded local store."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from tests.support import connected, harness, structured, text_of
from tools_server.inputs import MAX_SUBTASK_DEPTH

pytestmark = pytest.mark.anyio


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
        # One write, after the session's first read (commands never travel with sync_token "*").
        assert h.transport.writes() == 1 and h.transport.count == 2


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
        assert h.transport.writes() == 1 and h.transport.count == 2  # the session's first read, then the write
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
        assert h.transport.count == 3  # the session's first read, the write, query_changes' read


# What a model reads of the tool list on every turn: names, titles, descriptions and input schemas (issue 22).
# Output schemas are read by clients, not models: outside this budget, printed beside it.
TOOLS_LIST_BUDGET = 15_000


def _model_facing(tool: dict[str, Any]) -> dict[str, Any]:
    return {key: tool[key] for key in ("name", "title", "description", "inputSchema") if key in tool}


def _optional_fields_not_nullable(schema: dict[str, Any], where: str = "") -> list[str]:
    """Optional properties a strict client (which sends every field) could not leave unset: neither a null branch
    nor a default. Booleans are flags: false is "not set"."""
    found: list[str] = []
    required = set(schema.get("required", ()))
    for name, sub in schema.get("properties", {}).items():
        types = sub.get("type")
        nullable = (isinstance(types, list) and "null" in types) or {"type": "null"} in sub.get("anyOf", [])
        if name not in required and not nullable and "default" not in sub and types != "boolean":
            found.append(f"{where}{name}")
        found += _optional_fields_not_nullable(sub, f"{where}{name}.")
        if isinstance(sub.get("items"), dict):
            found += _optional_fields_not_nullable(sub["items"], f"{where}{name}[].")
        for branch in sub.get("anyOf", []):
            found += _optional_fields_not_nullable(branch, f"{where}{name}|")
    return found


async def test_tools_list_is_small_and_every_tool_is_annotated_and_titled() -> None:
    async with harness() as h, connected(h) as client:
        tools = await client.list_tools()
        listed = [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools.tools]
        model_facing = len(json.dumps([_model_facing(t) for t in listed]))
        outputs = len(json.dumps([t["outputSchema"] for t in listed if "outputSchema" in t]))
        print(
            f"tools/list: {model_facing} characters a model reads for {len(listed)} tools (budget "
            f"{TOOLS_LIST_BUDGET}); output schemas {outputs}; whole list {len(json.dumps(listed))}"
        )
        assert model_facing <= TOOLS_LIST_BUDGET
        names = {t.name for t in tools.tools}
        assert {"add_item", "complete_items", "move_items", "query_changes"} <= names
        for tool in tools.tools:
            assert tool.annotations is not None
            assert tool.title, tool.name
            assert tool.output_schema is not None, tool.name  # clients that show only structured results need it
        read_only = {t.name for t in tools.tools if t.annotations and t.annotations.read_only_hint}
        assert read_only == {"query_changes", "find_items", "find_completed"} & names
        destructive = {t.name for t in tools.tools if t.annotations and t.annotations.destructive_hint}
        assert destructive == {"delete_items", "manage_projects"} & names


async def test_every_schema_is_self_contained_and_every_optional_field_can_be_sent_as_null() -> None:
    """What converters need (issue 22): OpenAI strict mode and Gemini's converters lose `$ref` schemas, and strict
    mode makes every field required, so an optional one must accept null."""
    async with harness() as h, connected(h) as client:
        tools = (await client.list_tools()).tools
    for tool in tools:
        for schema in (tool.input_schema, tool.output_schema or {}):
            assert "$ref" not in json.dumps(schema) and "$defs" not in schema, tool.name
        assert _optional_fields_not_nullable(tool.input_schema) == [], tool.name


async def test_the_subtask_tree_is_advertised_four_levels_below_a_task_as_the_server_accepts() -> None:
    async with harness() as h, connected(h) as client:
        add = next(t for t in (await client.list_tools()).tools if t.name == "add_item")
        node = add.input_schema["properties"]["items"]["items"]
        levels = 0
        while "subtasks" in node["properties"]:
            node = node["properties"]["subtasks"]["items"]
            levels += 1
        assert levels == MAX_SUBTASK_DEPTH == 4
        assert "project" not in node["properties"]  # a subtask lives where its parent lives
        deepest: dict[str, Any] = {"content": "level 4"}
        tree = deepest
        for level in range(3, -1, -1):
            tree = {"content": f"level {level}", "subtasks": [tree]}
        result = await client.call_tool("add_item", {"items": [tree]})
        assert structured(result)["ok"] == 5, text_of(result)
        deepest["subtasks"] = [{"content": "level 5"}]
        refused = await client.call_tool("add_item", {"items": [tree]})
        assert refused.is_error and "4 levels" in text_of(refused)


async def test_a_strict_client_sending_every_field_as_null_is_understood() -> None:
    """OpenAI strict mode sends every property; the unused ones as null."""
    item_nulls = dict.fromkeys(
        ("description", "labels", "priority", "due", "due_date", "due_datetime", "due_lang", "deadline", "duration")
    )
    async with harness() as h, connected(h) as client:
        added = await client.call_tool(
            "add_item",
            {
                "items": [
                    {
                        "content": "a",
                        "project": None,
                        "section": None,
                        "parent": None,
                        **item_nulls,
                        "reminders": None,
                        "subtasks": [{"content": "b", **item_nulls, "reminders": None, "subtasks": None}],
                    }
                ],
                "new_projects": None,
                "dry_run": False,
            },
        )
        assert structured(added)["ok"] == 2, text_of(added)
        op = dict.fromkeys(
            ("id", "project", "parent", "color", "is_favorite", "view_style", "description", "order", "before", "after")
        )
        made = await client.call_tool(
            "manage_projects", {"ops": [{**op, "op": "add", "kind": "project", "name": "Home"}], "confirm": None}
        )
        assert structured(made)["ok"] == 1, text_of(made)
        undone = await client.call_tool("undo", {"write": None, "confirm": None, "dry_run": False})
        assert not undone.is_error, text_of(undone)
        done = await client.call_tool(
            "find_completed",
            {"since": None, "until": None, "by": "completion", "project": None, "search": None, "limit": 50},
        )
        assert not done.is_error, text_of(done)


async def test_every_tools_structured_result_matches_its_declared_output_schema() -> None:
    calls: list[tuple[str, dict[str, Any]]] = [
        ("query_changes", {}),
        ("add_item", {"items": [{"content": "a", "due": "every day"}, {"content": "b"}]}),
        ("find_items", {"filter": "today"}),
        ("update_items", {"items": [{"id": "{a}", "priority": 4}]}),
        ("move_items", {"ids": ["{b}"], "position": "top"}),
        ("comment_items", {"add": [{"task": "{a}", "content": "note"}], "list": ["{a}"]}),
        ("complete_items", {"ids": ["{a}", "{b}"]}),
        ("find_completed", {}),
        ("reopen_items", {"ids": ["{b}"]}),
        ("undo", {}),
        ("resend_writes", {}),
        ("manage_projects", {"ops": [{"op": "add", "kind": "project", "name": "P"}]}),
        ("delete_items", {"ids": ["{b}"], "dry_run": True}),
    ]
    async with harness() as h, connected(h) as client:
        schemas = {t.name: t.output_schema for t in (await client.list_tools()).tools}
        ids: dict[str, str] = {}
        for name, args in calls:
            filled = json.loads(json.dumps(args).replace("{a}", ids.get("a", "")).replace("{b}", ids.get("b", "")))
            result = await client.call_tool(name, filled)
            if name == "resend_writes":  # nothing pending is an error here (a resend with results: test_write_outcomes)
                assert result.is_error and "nothing is pending" in text_of(result)
                continue
            data = structured(result)
            schema = schemas[name]
            assert schema is not None
            jsonschema.validate(data, schema)
            if name == "add_item":
                ids["a"], ids["b"] = data["ids"]
        assert set(schemas) == {name for name, _ in calls}
