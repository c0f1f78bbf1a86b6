"""Strict tool arguments: a value of the wrong JSON type is an error naming the field, never coerced, nothing sent."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.support import connected, harness, structured, text_of

pytestmark = pytest.mark.anyio

# (tool, arguments, the field the error names): each value would be coerced by pydantic's lax mode.
COERCIBLE: list[tuple[str, dict[str, Any], str]] = [
    ("add_item", {"items": [{"content": "x", "priority": True}]}, "items.0.priority"),
    ("add_item", {"items": [{"content": "x", "priority": "4"}]}, "items.0.priority"),
    ("add_item", {"items": [{"content": "x", "duration": {"amount": 30.0, "unit": "minute"}}]}, "items.0.duration"),
    ("add_item", {"items": [{"content": "x"}], "dry_run": "false"}, "dry_run"),
    ("add_item", {"items": [{"content": "x"}], "dry_run": 0}, "dry_run"),
    ("update_items", {"items": [{"id": "{a}", "priority": "2"}]}, "items.0.priority"),
    ("update_items", {"items": [{"id": "{a}", "content": "y"}], "dry_run": "no"}, "dry_run"),
    ("complete_items", {"ids": ["{a}"], "dry_run": "false"}, "dry_run"),
    ("move_items", {"ids": ["{a}"], "to_parent": "{b}", "dry_run": 0}, "dry_run"),
    ("delete_items", {"ids": ["{a}", "{b}", "{c}", "{d}"], "confirm": "4"}, "confirm"),
    ("delete_items", {"ids": ["{a}"], "dry_run": "false"}, "dry_run"),
    ("query_changes", {"limit": "5"}, "limit"),
    ("find_items", {"filter": "today", "limit": True}, "limit"),
    ("undo", {"dry_run": "false"}, "dry_run"),
]


def _fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]  # pyright: ignore[reportUnknownVariableType]
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}  # pyright: ignore[reportUnknownVariableType]
    return value


@pytest.mark.parametrize(("tool", "args", "field"), COERCIBLE, ids=[f"{t}-{f}" for t, _, f in COERCIBLE])
async def test_a_coercible_value_is_an_error_naming_the_field_and_nothing_changes(
    tool: str, args: dict[str, Any], field: str
) -> None:
    async with harness() as h, connected(h) as client:
        added = structured(await client.call_tool("add_item", {"items": [{"content": c} for c in "abcd"]}))
        ids = dict(zip("abcd", added["ids"], strict=True))
        before = await h.active_items()
        h.transport.reset()
        result = await client.call_tool(tool, _fill(args, ids))
        assert result.is_error, text_of(result)
        assert text_of(result).startswith(f"Invalid arguments for {tool}: {field}"), text_of(result)
        assert h.transport.count == 0 and await h.active_items() == before


async def test_real_json_types_still_work_and_a_list_sent_as_a_json_string_is_decoded() -> None:
    async with harness() as h, connected(h) as client:
        data = structured(
            await client.call_tool("add_item", {"items": '[{"content": "x", "priority": 4}]', "dry_run": False})
        )
        assert data["ok"] == 1 and [i["priority"] for i in await h.active_items()] == [4]
        listed = structured(await client.call_tool("query_changes", {"limit": 5}))
        assert [t["content"] for t in listed["tasks"]] == ["x"]


async def test_keys_clients_inject_are_ignored_and_logged_while_a_misspelt_argument_still_fails(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """n8n adds `toolCallId` (and its routing key `tool`) to every call; `dryRun` is the model's typo of dry_run."""
    caplog.set_level(logging.DEBUG, logger="tools_server.server.arguments")
    async with harness() as h, connected(h) as client:
        added = await client.call_tool(
            "add_item", {"items": [{"content": "from n8n"}], "toolCallId": "call_0BCIShth4lxZuYr4", "tool": "add_item"}
        )
        assert structured(added)["ok"] == 1, text_of(added)
        assert "ignored client-injected argument(s) tool, toolCallId" in caplog.text
        listed = await client.call_tool("query_changes", {"toolCallId": "call_2"})
        assert not listed.is_error, text_of(listed)
        h.transport.reset()
        typo = await client.call_tool(
            "add_item", {"items": [{"content": "preview"}], "dryRun": True, "toolCallId": "3"}
        )
        assert typo.is_error and "dryRun: unknown argument (did you mean dry_run?)" in text_of(typo)
        assert "toolCallId" not in text_of(typo)
        assert h.transport.commands_sent() == 0


# (tool, arguments, the field the error names): ids and dates no backend could take, each of which reached it before.
MALFORMED: list[tuple[str, dict[str, Any], str]] = [
    *[
        case
        for bad in ('a"b', "a\x00b", "a\nb", "x'y", "6Vcw g")
        for case in [
            ("complete_items", {"ids": [bad]}, "ids.0"),
            ("reopen_items", {"ids": [bad]}, "ids.0"),
            ("delete_items", {"ids": ["{a}", bad]}, "ids.1"),
            ("update_items", {"items": [{"id": bad, "content": "z"}]}, "items.0.id"),
            ("move_items", {"ids": ["{a}"], "to_parent": bad}, "to_parent"),
            ("add_item", {"items": [{"content": "c", "parent": bad}]}, "items.0.parent"),
            ("comment_items", {"add": [{"task": bad, "content": "c"}]}, "add.0.task"),
            ("comment_items", {"update": [{"id": bad, "content": "c"}]}, "update.0.id"),
        ]
    ],
    *[
        case
        for bad in ("a\x00b", "a\nb", "tab\there")
        for case in [
            ("move_items", {"ids": ["{a}"], "to_project": bad}, "to_project"),
            ("manage_projects", {"ops": [{"op": "delete", "kind": "label", "id": bad}]}, "ops.0.id"),
            ("add_item", {"items": [{"content": "c", "labels": [bad]}]}, "items.0.labels.0"),
        ]
    ],
    *[
        case
        for bad in (
            "2026-02-30",
            "2026-13-01",
            "0000-00-00",
            "\uff12\uff10\uff12\uff16-01-01",
            "\u0662\u0660\u0662\u0666-01-01",
        )
        for case in [
            ("add_item", {"items": [{"content": "c", "due_date": bad}]}, "items.0.due_date"),
            ("add_item", {"items": [{"content": "c", "deadline": bad}]}, "items.0.deadline"),
            ("update_items", {"items": [{"id": "{a}", "due_date": bad}]}, "items.0.due_date"),
            ("update_items", {"items": [{"id": "{a}", "deadline": bad}]}, "items.0.deadline"),
        ]
    ],
    *[
        case
        for bad in (
            "2026-01-01T25:00",
            "2026-01-01T10:00:00\x00",
            "2026-01-01\n",
            'not"a date',
            "2026-01-01T10:00+25:00",
        )
        for case in [
            ("add_item", {"items": [{"content": "c", "due_datetime": bad}]}, "items.0.due_datetime"),
            ("update_items", {"items": [{"id": "{a}", "due_datetime": bad}]}, "items.0.due_datetime"),
        ]
    ],
]


async def test_malformed_ids_names_and_dates_are_refused_naming_the_field_before_any_request() -> None:
    async with harness() as h, connected(h) as client:
        added = structured(await client.call_tool("add_item", {"items": [{"content": "a"}]}))
        ids = {"a": added["ids"][0]}
        before = await h.active_items()
        sent: list[str] = []
        for tool, args, field in MALFORMED:
            h.transport.reset()
            filled = _fill(args, ids) if "{a}" in str(args) else args
            result = await client.call_tool(tool, filled)
            assert result.is_error, (tool, args, text_of(result))
            assert text_of(result).startswith(f"Invalid arguments for {tool}: {field}: "), (tool, args, text_of(result))
            sent += [f"{tool} {args}"] * h.transport.count
        assert sent == [] and await h.active_items() == before
    # Good values of the same fields still pass (dry runs, nothing sent).
    async with harness() as h, connected(h) as client:
        good = [
            {"content": "c", "due_datetime": "2026-03-01T09:00"},
            {"content": "c", "due_datetime": "2026-03-01T09:00:00Z"},
            {
                "content": "c",
                "due_datetime": "2026-03-01T09:00:00+01:00",
                "labels": ["caf\u00e9 \U0001f468\u200d\U0001f469"],
            },
            {"content": "c", "due_date": "2028-02-29", "deadline": "2026-12-31"},
        ]
        result = await client.call_tool("add_item", {"items": good, "dry_run": True})
        assert not result.is_error, text_of(result)
