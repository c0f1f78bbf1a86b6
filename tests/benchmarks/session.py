"""Issue 13's session figure: requests per tool call (target one) and result characters, against the local backend.

    .venv/bin/python -m tests.benchmarks.session

The session: 3 comments, a project renamed, a section created in an existing project, a label created and 50 tasks
tagged with it, 10 reminders set, 5 tasks reordered and 2 finished tasks reopened. Calls whose tool this build does
not have (comment_items and manage_projects come from another branch) are listed as skipped.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import anyio
from mcp import Client

from tests.support import Harness, connected, harness, structured, text_of

VERBOSE = "-v" in sys.argv


@dataclass(frozen=True)
class Row:
    call: str
    tool: str
    requests: int | None  # None: skipped
    characters: int
    ok: bool


async def _call(h: Harness, client: Client, tools: set[str], call: str, tool: str, args: dict[str, Any]) -> Row:
    if tool not in tools:
        return Row(call, tool, None, 0, False)
    h.transport.reset()
    result = await client.call_tool(tool, args)
    text = text_of(result)
    data: dict[str, Any] = dict(result.structured_content or {})
    ok = not result.is_error and not data.get("failed")
    if VERBOSE:
        print(f"--- {call}: {text}\n{data}")
    return Row(call, tool, h.transport.count, len(text) + len(json.dumps(data, separators=(",", ":"))), ok)


async def session_rows() -> list[Row]:
    async with harness() as h, connected(h) as client:
        tools = {t.name for t in (await client.list_tools()).tools}
        setup = await client.call_tool(
            "add_item",
            {
                "new_projects": [{"name": "Work", "sections": ["Now"]}, {"name": "Home"}],
                "items": [
                    *({"content": f"task {n}", "project": "Work", "due_datetime": "2026-11-25T15:00:00"}
                      for n in range(50)),
                    *({"content": f"done {n}", "project": "Home"} for n in range(2)),
                ],
            },
        )  # fmt: skip
        ids: list[str] = structured(setup)["ids"]
        work_ids, done_ids = ids[:50], ids[50:]
        await client.call_tool("complete_items", {"ids": done_ids})
        await client.call_tool("query_changes", {})
        row: Callable[[str, str, dict[str, Any]], Awaitable[Row]] = lambda call, tool, args: _call(  # noqa: E731
            h, client, tools, call, tool, args
        )
        return [
            await row(
                "3 comments",
                "comment_items",
                {"add": [{"task": work_ids[n], "content": f"note {n}"} for n in range(3)]},
            ),
            await row(
                "rename a project",
                "manage_projects",
                {"ops": [{"op": "update", "kind": "project", "id": "Home", "name": "House"}]},
            ),
            await row(
                "section in an existing project",
                "manage_projects",
                {"ops": [{"op": "add", "kind": "section", "name": "Later", "project": "Work"}]},
            ),
            await row("create a label", "manage_projects", {"ops": [{"op": "add", "kind": "label", "name": "focus"}]}),
            await row("tag 50 tasks", "update_items", {"items": [{"id": i, "labels": ["focus"]} for i in work_ids]}),
            await row(
                "10 reminders",
                "update_items",
                {"items": [{"id": i, "reminders": [{"minutes_before": 30}]} for i in work_ids[:10]]},
            ),
            await row("reorder 5 tasks", "move_items", {"ids": work_ids[45:], "position": "top"}),
            await row("find finished", "find_completed", {}),
            await row("reopen 2 finished", "reopen_items", {"ids": done_ids}),
        ]


async def feature_rows() -> list[Row]:
    """Issue 23's features, each as a model would call it on a warm session: requests per call (one, or one REST page
    per 100 events for the activity log) and result characters."""
    async with harness() as h, connected(h) as client:
        tools = {t.name for t in (await client.list_tools()).tools}
        setup = await client.call_tool(
            "add_item",
            {"new_projects": [{"name": "Groceries", "sections": ["Dairy"]}],
             "items": [{"content": f"errand {n}", "project": "Groceries", "due": "today"} for n in range(5)]},
        )  # fmt: skip
        ids: list[str] = structured(setup)["ids"]
        await client.call_tool("complete_items", {"ids": ids[:2]})
        await client.call_tool("query_changes", {})
        row: Callable[[str, str, dict[str, Any]], Awaitable[Row]] = lambda call, tool, args: _call(  # noqa: E731
            h, client, tools, call, tool, args
        )
        filter_op = {"op": "add", "kind": "filter", "name": "Errands", "query": "#Groceries & today"}
        return [
            await row(
                "save two filters",
                "manage_projects",
                {"ops": [filter_op, {**filter_op, "name": "Urgent", "query": "p1"}]},
            ),
            await row("run a saved filter by name", "find_items", {"filter": "Errands"}),
            await row(
                "rename and reorder saved filters",
                "manage_projects",
                {
                    "ops": [
                        {"op": "update", "kind": "filter", "id": "Errands", "name": "Shop"},
                        {"op": "reorder", "kind": "filter", "id": "Urgent", "order": 1},
                    ]
                },
            ),
            await row(
                "quick add 3 lines",
                "add_item",
                {
                    "quick": True,
                    "items": [
                        {"content": "Buy milk tomorrow 5pm p1 #Groceries /Dairy @errand"},
                        {"content": "Call mom every sunday //ask about the trip"},
                        {"content": "Pay rent {friday} @home"},
                    ],
                },
            ),
            await row(
                "comment with an attachment",
                "comment_items",
                {"add": [{"task": ids[2], "content": "receipt", "file_url": "https://example.com/r.pdf"}]},
            ),
            await row(
                "a location reminder",
                "update_items",
                {"items": [{"id": ids[3], "reminders": [{"place": {"name": "Bakery", "lat": 52.52, "long": 13.405}}]}]},
            ),
            await row(
                "remove it by its place", "update_items", {"items": [{"id": ids[3], "remove_reminders": ["Bakery"]}]}
            ),
            await row("productivity stats", "find_completed", {"by": "stats"}),
            await row("activity log of a project", "find_completed", {"by": "activity", "project": "Groceries"}),
            await row(
                "delete a saved filter", "manage_projects", {"ops": [{"op": "delete", "kind": "filter", "id": "Shop"}]}
            ),
        ]


def print_rows(rows: list[Row]) -> None:
    print("call | tool | requests (target 1) | result characters | ok")
    for r in rows:
        if r.requests is None:
            print(f"{r.call} | {r.tool} | skipped: tool not in this build | - | -")
        else:
            print(f"{r.call} | {r.tool} | {r.requests} | {r.characters} | {r.ok}")


if __name__ == "__main__":
    print_rows(anyio.run(session_rows))
    print()
    print_rows(anyio.run(feature_rows))
