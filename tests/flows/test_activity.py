"""The activity log (issue 23, item 3): find_completed by=activity through a real MCP client against local-api, which
records the log from its own writes (GET /api/v1/activities), and the documented event read from a Todoist-shaped
reply."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from tests.corpus import CorpusServer, clean_full_sync, corpus_client
from tests.support import FixedClock, Harness, connected, harness, structured, text_of

pytestmark = pytest.mark.anyio


async def sync(h: Harness, *commands: dict[str, Any]) -> dict[str, Any]:
    data = await h.raw_sync({"commands": list(commands)})
    assert set(data["sync_status"].values()) == {"ok"}, data
    return data["temp_id_mapping"]


def command(kind: str, args: dict[str, Any], temp_id: str | None = None) -> dict[str, Any]:
    body = {"type": kind, "uuid": f"{kind}-{temp_id or args.get('id')}-{args.get('content', '')}", "args": args}
    return body | ({"temp_id": temp_id} if temp_id else {})


async def test_what_changed_in_a_project_last_week_with_who_and_local_times_in_one_request() -> None:
    clock = FixedClock(datetime(2026, 11, 18, 13, 5, tzinfo=UTC))  # Wednesday 14:05 in Madrid
    async with harness(clock=clock, timezone="Europe/Madrid") as h, connected(h) as client:
        ids = await sync(h, command("project_add", {"name": "Groceries"}, "g"),
                         command("project_add", {"name": "Work"}, "w"),
                         command("item_add", {"content": "Buy milk", "project_id": "g"}, "m"),
                         command("item_add", {"content": "Report", "project_id": "w"}, "r"))  # fmt: skip
        clock.advance(3600)
        await sync(h, command("item_update", {"id": ids["m"], "content": "Buy oat milk"}),
                   command("item_close", {"id": ids["m"]}), command("item_close", {"id": ids["r"]}))  # fmt: skip
        clock.now = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # the next Monday: "last week" is 16..22
        await client.call_tool("query_changes", {})
        h.transport.reset()
        args = {"by": "activity", "project": "Groceries", "since": "2026-11-16", "until": "2026-11-22"}
        result = await client.call_tool("find_completed", args)
        assert not result.is_error, text_of(result)
        assert h.transport.count == 1
        assert text_of(result).splitlines() == [
            "3 event(s), 2026-11-16..2026-11-22 (Europe/Madrid).",
            "- 2026-11-18 15:05 completed 'Buy oat milk' (#Groceries) by you",
            "- 2026-11-18 15:05 updated 'Buy oat milk' (was 'Buy milk') (#Groceries) by you",
            "- 2026-11-18 14:05 added 'Buy milk' (#Groceries) by you",
        ]
        out = structured(result)
        assert out["by"] == "activity" and out["complete"] is True and out["requests"] == 1
        assert out["events"][0] == {"when": "2026-11-18 15:05", "event": "completed", "object_type": "item",
                                    "object_id": ids["m"], "name": "Buy oat milk", "project": "Groceries",
                                    "by": "you"}  # fmt: skip
        # "Who completed this": one task's events of one type.
        done = await client.call_tool("find_completed", {"by": "activity", "task": ids["r"], "events": "completed"})
        assert text_of(done).splitlines()[1:] == ["- 2026-11-18 15:05 completed 'Report' (#Work) by you"]
        # A range with no events of the kind asked.
        none = await client.call_tool("find_completed", {"by": "activity", "events": "project:archived",
                                                          "since": "2026-11-16", "until": "2026-11-22"})  # fmt: skip
        assert text_of(none) == "0 event(s), 2026-11-16..2026-11-22 (Europe/Madrid)."


async def test_pages_of_a_hundred_are_read_until_the_limit_and_more_is_reported() -> None:
    async with harness() as h, connected(h) as client:
        for first in (0, 75):  # at most 100 commands per request
            await sync(h, *(command("item_add", {"content": f"t{n}"}, f"t{n}") for n in range(first, first + 75)))
        await client.call_tool("query_changes", {})
        h.transport.reset()
        result = await client.call_tool("find_completed", {"by": "activity", "limit": 120})
        assert h.transport.count == 2  # 150 events: one page of 100, then the last 50
        out = structured(result)
        assert out["total"] == 120 + 30 and len(out["events"]) == 120 and out["complete"] is False
        assert [e["name"] for e in out["events"][:2]] == ["t149", "t148"]
        h.transport.reset()
        short = structured(await client.call_tool("find_completed", {"by": "activity", "limit": 50}))
        assert h.transport.count == 1 and len(short["events"]) == 50 and short["complete"] is False


async def test_bad_event_types_and_activity_arguments_elsewhere_send_nothing() -> None:
    async with harness() as h, connected(h) as client:
        await client.call_tool("query_changes", {})
        h.transport.reset()
        bad = await client.call_tool("find_completed", {"by": "activity", "events": "finished"})
        assert bad.is_error and "events: 'finished' is not an event type" in text_of(bad)
        misplaced = await client.call_tool("find_completed", {"task": "6X7rM8997g3RQmvh"})
        assert misplaced.is_error and "task: used with by=activity only" in text_of(misplaced)
        assert h.transport.count == 0


# The documented example event of GET /api/v1/activities (Todoist's reference: a numeric id, initiator_id null,
# extra_data with the content and the client), and a second one by a collaborator, with an updated due date.
DOCUMENTED = {
    "results": [
        {
            "id": 955333385,
            "object_type": "item",
            "object_id": "2995104340",
            "event_type": "updated",
            "event_date": "2026-11-20T13:05:00Z",
            "parent_project_id": "6Jf8VQXxpwv56VQ8",
            "parent_item_id": None,
            "initiator_id": "2671362",
            "extra_data": {
                "content": "Buy Milk",
                "due_date": "2026-11-21",
                "last_due_date": None,
                "client": "Mozilla/5.0",
            },
        },
        {
            "id": 955333384,
            "object_type": "item",
            "object_id": "2995104339",
            "event_type": "added",
            "event_date": "2016-07-01T14:24:59Z",
            "parent_project_id": "6Jf8VQXxpwv56VQ8",
            "parent_item_id": None,
            "initiator_id": None,
            "extra_data": {"content": "Buy Milk", "client": "Mozilla/5.0 (Windows NT 6.1)"},
        },
    ],
    "next_cursor": None,
}


class ActivityCorpus(CorpusServer):
    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET" and request.url.path.endswith("/activities"):
            self.requests.append({"GET": request.url.path, **parse_qs(request.url.query.decode())})
            return httpx.Response(200, json=DOCUMENTED)
        return super().handle(request)


async def test_the_documented_activity_response_is_read_and_shown() -> None:
    corpus = ActivityCorpus(full=clean_full_sync(), incremental=None)
    async with corpus_client(corpus) as client:
        await client.call_tool("query_changes", {})
        corpus.requests.clear()
        args = {"by": "activity", "project": "Groceries", "events": "task:added, updated"}
        result = await client.call_tool("find_completed", args)
        assert not result.is_error, text_of(result)
    assert corpus.requests == [{"GET": "/api/v1/activities", "limit": ["100"],
                                "parent_project_id": ["6Jf8VQXxpwv56VQ8"],
                                "object_event_types": ['["item:added", ":updated"]']}]  # fmt: skip
    assert text_of(result).splitlines() == [
        "2 event(s), latest (Europe/Madrid).",
        "- 2026-11-20 14:05 updated 'Buy Milk' (due none -> 2026-11-21) (#Groceries) by Example Friend",
        "- 2016-07-01 16:24 added 'Buy Milk' (#Groceries) by you",
    ]
