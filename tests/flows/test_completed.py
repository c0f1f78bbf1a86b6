"""find_completed and reopen_items through a real MCP client against the local backend's REST reads."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from mcp import Client

from tests.support import FixedClock, Harness, connected, harness, structured, text_of
from tools_server.sync.client import SyncClient, rest_url

pytestmark = pytest.mark.anyio

NEW_YORK = "America/New_York"  # UTC-5 in November


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


async def add(client: Client, *contents: str, **fields: Any) -> list[str]:
    result = await client.call_tool("add_item", {"items": [{"content": c, **fields} for c in contents]})
    assert not result.is_error, text_of(result)
    ids: list[str] = structured(result)["ids"]
    return ids


async def complete_at(h: Harness, client: Client, task_id: str, moment: datetime) -> None:
    h.clock.now = moment
    result = await client.call_tool("complete_items", {"ids": [task_id]})
    assert structured(result)["ok"] == 1, text_of(result)


async def completed_week(h: Harness, client: Client) -> dict[str, str]:
    """Four completions around the week of Monday 23 November in New York; returns content -> id."""
    ids = dict(zip(["sun", "mon", "mon-late", "tue"], await add(client, "sun", "mon", "mon-late", "tue"), strict=True))
    await complete_at(h, client, ids["sun"], at("2026-11-22T12:00:00"))  # Sunday 07:00 local: the week before
    await complete_at(h, client, ids["mon"], at("2026-11-23T10:00:00"))  # Monday 05:00
    await complete_at(h, client, ids["mon-late"], at("2026-11-24T03:00:00"))  # still Monday (22:00) locally
    await complete_at(h, client, ids["tue"], at("2026-11-24T06:00:00"))  # Tuesday 01:00
    h.clock.now = at("2026-11-25T12:00:00")  # Wednesday
    return ids


async def test_default_is_this_week_counted_per_local_day() -> None:
    async with harness(clock=FixedClock(at("2026-11-20T12:00:00")), timezone=NEW_YORK) as h, connected(h) as client:
        ids = await completed_week(h, client)
        h.transport.reset()
        result = await client.call_tool("find_completed", {})
        data = structured(result)
        assert (data["since"], data["until"]) == ("2026-11-23", "2026-11-29")
        assert data["per_day"] == {"2026-11-23": 2, "2026-11-24": 1}
        assert [t["id"] for t in data["tasks"]] == [ids["tue"], ids["mon-late"], ids["mon"]]  # newest first
        assert data["tasks"][1]["completed"] == "2026-11-23 22:00"
        assert data["complete"] is True and data["total"] == 3
        assert h.transport.count == 1  # the mirror is current after the writes: only the REST read
        assert ids["tue"] in text_of(result) and "11-23: 2" in text_of(result)


async def test_the_week_starts_on_the_users_start_day() -> None:
    clock = FixedClock(at("2026-11-20T12:00:00"))
    async with harness(clock=clock, timezone=NEW_YORK, start_day=7) as h, connected(h) as client:
        ids = await completed_week(h, client)
        data = structured(await client.call_tool("find_completed", {}))
        assert (data["since"], data["until"]) == ("2026-11-22", "2026-11-28")
        assert data["per_day"] == {"2026-11-22": 1, "2026-11-23": 2, "2026-11-24": 1}
        assert ids["sun"] in [t["id"] for t in data["tasks"]]


async def test_search_project_and_limit_filter_what_is_listed() -> None:
    async with harness(clock=FixedClock(at("2026-11-20T12:00:00")), timezone=NEW_YORK) as h, connected(h) as client:
        await client.call_tool("add_item", {"items": [{"content": "x"}], "new_projects": [{"name": "Work"}]})
        work = await add(client, "Report A", "Report B", "Call", project="Work")
        home = await add(client, "Report home")
        for n, task_id in enumerate([*work, *home]):
            await complete_at(h, client, task_id, at(f"2026-11-23T1{n}:00:00"))
        data = structured(
            await client.call_tool("find_completed", {"project": "work", "search": "report", "since": "2026-11-23"})
        )
        assert sorted(t["id"] for t in data["tasks"]) == sorted(work[:2])
        assert {t["project"] for t in data["tasks"]} == {"Work"}
        limited = structured(await client.call_tool("find_completed", {"since": "2026-11-23", "limit": 2}))
        assert len(limited["tasks"]) == 2 and limited["complete"] is False


async def test_by_due_date_counts_the_due_day() -> None:
    async with harness(clock=FixedClock(at("2026-11-20T12:00:00")), timezone=NEW_YORK) as h, connected(h) as client:
        [task] = await add(client, "Pay rent", due_date="2026-11-27")
        await complete_at(h, client, task, at("2026-11-21T12:00:00"))  # done early, in the week before
        data = structured(await client.call_tool("find_completed", {"by": "due", "since": "2026-11-23"}))
        assert data["per_day"] == {"2026-11-27": 1} and data["tasks"][0]["id"] == task
        assert structured(await client.call_tool("find_completed", {"since": "2026-11-23"}))["total"] == 0


async def test_long_ranges_are_split_into_documented_windows_and_too_long_is_refused() -> None:
    async with harness(clock=FixedClock(at("2026-11-20T12:00:00")), timezone=NEW_YORK) as h, connected(h) as client:
        [old] = await add(client, "Old")
        await complete_at(h, client, old, at("2026-02-10T12:00:00"))
        h.transport.reset()
        data = structured(await client.call_tool("find_completed", {"since": "2026-01-01", "until": "2026-11-30"}))
        assert [t["id"] for t in data["tasks"]] == [old]
        spans = [b for b in h.transport.bodies if not b]  # GET requests have no body
        assert len(spans) == 4  # 334 days in windows of at most 89
        h.transport.reset()
        refused = await client.call_tool("find_completed", {"since": "2025-01-01", "until": "2026-11-30"})
        assert refused.is_error and "until: the range may span at most 366 days" in text_of(refused)
        assert h.transport.count == 0
        backwards = await client.call_tool("find_completed", {"since": "2026-11-30", "until": "2026-11-01"})
        assert backwards.is_error and "until:" in text_of(backwards)
        bad = await client.call_tool("find_completed", {"since": "last week"})
        assert bad.is_error and "since" in text_of(bad) and h.transport.count == 0


async def test_reopen_in_one_request_then_undo_completes_again() -> None:
    async with harness(clock=FixedClock(at("2026-11-23T12:00:00")), timezone=NEW_YORK) as h, connected(h) as client:
        ids = await add(client, "A", "B", "C")
        await client.call_tool("complete_items", {"ids": ids})
        found = structured(await client.call_tool("find_completed", {}))
        assert sorted(t["id"] for t in found["tasks"]) == sorted(ids)
        h.transport.reset()
        preview = await client.call_tool("reopen_items", {"ids": ids[:2], "dry_run": True})
        assert structured(preview)["dry_run"] is True and h.transport.count == 0
        result = await client.call_tool("reopen_items", {"ids": ids[:2]})
        assert structured(result)["ok"] == 2, text_of(result)
        assert h.transport.count == 1
        assert sorted(i["id"] for i in await h.active_items()) == sorted(ids[:2])
        undone = await client.call_tool("undo", {})
        assert structured(undone)["ok"] == 2, text_of(undone)
        assert await h.active_items() == []
        assert sorted(t["id"] for t in await h.completed("completion", since="2026-11-01T00:00:00Z",
                                                            until="2026-11-30T00:00:00Z")) == sorted(ids)  # fmt: skip


async def test_reopen_names_the_tasks_by_title_from_the_backends_answer_in_one_request() -> None:
    async with harness() as h:
        server = h.server()
        async with connected(h, server) as client:
            ids = await add(client, "Buy milk", "Call mum")
            assert structured(await client.call_tool("complete_items", {"ids": ids}))["ok"] == 2
        # The server whose mirror let them go when they were completed, then a new process that never saw them.
        for reopening in (server, h.server()):
            async with connected(h, reopening) as client:
                h.transport.reset()
                result = await client.call_tool("reopen_items", {"ids": [*ids, "nope"]})
                # One write; a new connection's first call reads first (commands never go with sync_token "*").
                assert h.transport.writes() == 1 and h.transport.count == 2
                said = text_of(result)
                assert said.startswith(f"Reopened 2 of 3 tasks: 'Buy milk' ({ids[0]}), 'Call mum' ({ids[1]}).")
                assert "#2 'nope'" in said, said
                assert structured(await client.call_tool("complete_items", {"ids": ids}))["ok"] == 2


async def test_reopen_of_an_unknown_id_fails_per_task_and_bad_input_sends_nothing() -> None:
    async with harness() as h, connected(h) as client:
        # One id not shaped as an id (Todoist: INVALID_TEMP_ID), one that is but names nothing (ITEM_NOT_FOUND).
        result = await client.call_tool("reopen_items", {"ids": ["nope", "6VcwgSyMJtU2d0AB"]})
        data = structured(result)
        assert data["failed"] == 2 and {f["error_tag"] for f in data["failures"]} == {"ITEM_NOT_FOUND"}
        said = text_of(result)
        assert "no completed task with id nope" in said and "no completed task with id 6VcwgSyMJtU2d0AB" in said
        assert "INVALID_TEMP_ID" not in said, said
        h.transport.reset()
        empty = await client.call_tool("reopen_items", {"ids": []})
        assert empty.is_error and "ids" in text_of(empty) and h.transport.count == 0


def test_rest_urls_sit_beside_the_sync_endpoint() -> None:
    assert rest_url("https://api.todoist.com/api/v1/sync", "tasks/completed/by_due_date") == (
        "https://api.todoist.com/api/v1/tasks/completed/by_due_date"
    )
    assert rest_url("http://127.0.0.1:8080/api/v1/sync/", "x") == "http://127.0.0.1:8080/api/v1/x"


async def test_rest_reads_retry_transient_failures_with_bearer_auth() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) == 1:
            return httpx.Response(503)
        return httpx.Response(200, json={"items": [{"id": "1", "content": "x"}], "next_cursor": None})

    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        client = SyncClient(http, url="https://h/api/v1/sync", token="t" * 40, sleep=sleep)
        page = await client.completed_tasks("completion", {"since": "a", "until": "b"})
    assert [t.id for t in page.items] == ["1"] and len(sleeps) == 1
    assert seen[1].method == "GET" and seen[1].url.path == "/api/v1/tasks/completed/by_completion_date"
    assert seen[1].headers["authorization"] == "Bearer " + "t" * 40


async def test_pages_follow_the_cursor_up_to_the_limit() -> None:
    async with harness(clock=FixedClock(at("2026-11-23T12:00:00")), timezone=NEW_YORK) as h, connected(h) as client:
        ids = await add(client, *(f"t{n}" for n in range(250)))
        done = await client.call_tool("complete_items", {"ids": ids})
        assert structured(done)["ok"] == 250, text_of(done)
        h.transport.reset()
        everything = structured(await client.call_tool("find_completed", {"limit": 500}))
        assert everything["total"] == 250 and everything["complete"] is True
        assert sorted(t["id"] for t in everything["tasks"]) == sorted(ids)
        assert h.transport.count == 2  # pages of 200
        h.transport.reset()
        some = structured(await client.call_tool("find_completed", {"limit": 10}))
        assert len(some["tasks"]) == 10 and some["complete"] is False and h.transport.count == 1
