"""Productivity stats (issue 23, item 4): find_completed by=stats through a real MCP client against the local store,
which computes them from its completion history (GET /api/v1/tasks/completed/stats)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.corpus import CorpusServer, clean_full_sync, corpus_client
from tests.support import Harness, connected, harness, structured, text_of
from tools_server.local.stats import stats_reader

pytestmark = pytest.mark.anyio

# The harness's today is Monday 2026-11-23 (UTC); the user's goals are 5 a day and 25 a week, Saturday and Sunday off.
COMPLETIONS = {
    "2026-11-16": 5,  # Mon  met
    "2026-11-17": 5,  # Tue  met
    "2026-11-18": 4,  # Wed  not met: the first streak ends
    "2026-11-19": 5,  # Thu  met
    "2026-11-20": 5,  # Fri  met
    "2026-11-21": 1,  # Sat  a day off: neither breaks nor extends the streak
    "2026-11-23": 5,  # Mon (today) met: Thu, Fri, Mon is a streak of 3
}


async def complete_on(h: Harness, days: dict[str, int]) -> None:
    commands: list[dict[str, Any]] = []
    for day, count in days.items():
        for n in range(count):
            temp = f"t-{day}-{n}"
            commands.append({"type": "item_add", "uuid": f"a-{temp}", "temp_id": temp, "args": {"content": temp}})
            args = {"id": temp, "completed_at": f"{day}T08:{n:02d}:00.000000Z"}
            commands.append({"type": "item_complete", "uuid": f"c-{temp}", "args": args})
    reopened = {"content": "reopened"}
    commands += [
        {"type": "item_add", "uuid": "a-r", "temp_id": "r", "args": reopened},
        {"type": "item_complete", "uuid": "c-r", "args": {"id": "r", "completed_at": "2026-11-23T09:00:00Z"}},
        {"type": "item_uncomplete", "uuid": "u-r", "args": {"id": "r"}},  # reopened: no longer a completion
    ]
    data = await h.raw_sync({"sync_token": "*", "commands": commands})
    assert set(data["sync_status"].values()) == {"ok"}


async def test_stats_count_today_and_this_week_against_the_goals_with_streaks_in_one_request() -> None:
    async with harness() as h, connected(h) as client:
        await complete_on(h, COMPLETIONS)
        await client.call_tool("query_changes", {})  # a fresh mirror: the stats cost their one read
        h.transport.reset()
        result = await client.call_tool("find_completed", {"by": "stats"})
        assert not result.is_error, text_of(result)
        assert h.transport.count == 1
        text = text_of(result)
        assert text.splitlines()[0] == (
            "Productivity (UTC): today 5/5 (daily goal), this week 5/25 (weekly goal); streaks: 3 day(s) (longest 3), "
            "1 week(s) (longest 1); karma 0 (trend none); 30 completed in all."
        )
        assert "Days off (no goal): Sat, Sun." in text
        assert "Per day: 11-17: 5, 11-18: 4, 11-19: 5, 11-20: 5, 11-21: 1, 11-22: 0, 11-23: 5." in text
        assert "Per week: 11-02..11-08: 0, 11-09..11-15: 0, 11-16..11-22: 25, 11-23..11-29: 5." in text
        stats = structured(result)["stats"]
        assert (stats["today"], stats["this_week"], stats["daily_streak"], stats["weekly_streak"]) == (5, 5, 3, 1)


async def test_the_stats_read_is_in_the_documented_shape_with_each_streak_dated() -> None:
    async with harness() as h:
        await complete_on(h, COMPLETIONS)
        stats = h.store.read(stats_reader)
        goals = stats["goals"]
        assert goals["current_daily_streak"] == {"count": 3, "start": "2026-11-19", "end": "2026-11-23"}
        assert goals["last_daily_streak"] == {"count": 2, "start": "2026-11-16", "end": "2026-11-17"}
        assert goals["max_daily_streak"] == {"count": 3, "start": "2026-11-19", "end": "2026-11-23"}
        # This week is not over and not yet met: the running weekly streak is last week's.
        assert goals["current_weekly_streak"] == {"count": 1, "start": "2026-11-16", "end": "2026-11-16"}
        assert (goals["daily_goal"], goals["weekly_goal"], goals["ignore_days"]) == (5, 25, [6, 7])
        assert stats["completed_count"] == 30
        inbox = {p for p in stats["project_colors"]}
        [today, *_] = stats["days_items"]
        assert today["date"] == "2026-11-23" and today["total_completed"] == 5
        assert [i["id"] for i in today["items"]] == sorted(inbox)
        assert stats["week_items"][0] == {
            "from": "2026-11-23", "to": "2026-11-29", "total_completed": 5, "items": today["items"]
        }  # fmt: skip
        assert len(stats["days_items"]) == 7 and len(stats["week_items"]) == 4


async def test_a_day_off_with_enough_completions_neither_breaks_nor_extends_the_daily_streak() -> None:
    async with harness() as h:
        await complete_on(h, {**COMPLETIONS, "2026-11-21": 6})  # Saturday, a day off, over the goal
        goals = h.store.read(stats_reader)["goals"]
        assert goals["current_daily_streak"] == {"count": 3, "start": "2026-11-19", "end": "2026-11-23"}


async def test_stats_take_no_range_project_or_search_and_send_nothing_when_given_one() -> None:
    async with harness() as h, connected(h) as client:
        await client.call_tool("query_changes", {})
        h.transport.reset()
        result = await client.call_tool("find_completed", {"by": "stats", "since": "2026-11-01"})
        assert result.is_error and "since: not used with by=stats" in text_of(result)
        assert h.transport.count == 0


# The documented response sample of GET /api/v1/tasks/completed/stats (Todoist's v1 reference), with real-looking
# values in its places: a zero streak with null dates (the reference allows null), a day off 0 (outside 1-7).
def documented_stats() -> dict[str, Any]:
    def streak(count: int, start: str | None, end: str | None) -> dict[str, Any]:
        return {"count": count, "start": start, "end": end}

    items = [{"id": "6Jf8VQXxpwv56VQ7", "completed": 3}]
    return {
        "days_items": [
            {"date": "2026-11-23", "items": items, "total_completed": 3},
            {"date": "2026-11-22", "items": [], "total_completed": 0},
        ],
        "week_items": [{"from": "2026-11-23", "to": "2026-11-29", "items": items, "total_completed": 3}],
        "project_colors": {"6Jf8VQXxpwv56VQ7": "berry_red"},
        "completed_count": 1234,
        "karma": 5321.0,
        "karma_trend": "up",
        "karma_graph_data": [{"date": "2026-11-22", "karma_avg": 5300}],
        "karma_last_update": 21.0,
        "karma_update_reasons": [
            {
                "time": "2026-11-22T10:00:00Z",
                "new_karma": 5321.0,
                "positive_karma": 21.0,
                "negative_karma": 0.0,
                "positive_karma_reasons": [1],
                "negative_karma_reasons": [50],
            }
        ],
        "goals": {
            "user": "me@example.com",
            "user_id": "2671355",
            "daily_goal": 5,
            "weekly_goal": 30,
            "ignore_days": [0, 6, 7],
            "vacation_mode": 0,
            "karma_disabled": 0,
            "current_daily_streak": streak(0, None, None),
            "current_weekly_streak": streak(4, "2026-10-26", "2026-11-16"),
            "last_daily_streak": streak(6, "2026-11-13", "2026-11-20"),
            "last_weekly_streak": streak(2, "2026-09-28", "2026-10-05"),
            "max_daily_streak": streak(19, "2026-03-02", "2026-03-26"),
            "max_weekly_streak": streak(9, "2026-01-05", "2026-03-02"),
        },
    }


class StatsCorpus(CorpusServer):
    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET" and request.url.path.endswith("/tasks/completed/stats"):
            self.requests.append({"GET": request.url.path})
            return httpx.Response(200, json=documented_stats())
        return super().handle(request)


async def test_the_documented_stats_response_is_read_and_shown() -> None:
    corpus = StatsCorpus(full=clean_full_sync(), incremental=None)
    async with corpus_client(corpus) as client:
        await client.call_tool("query_changes", {})
        corpus.requests.clear()
        result = await client.call_tool("find_completed", {"by": "stats"})
        assert not result.is_error, text_of(result)
    assert corpus.requests == [{"GET": "/api/v1/tasks/completed/stats"}]
    text = text_of(result)
    assert text.splitlines()[0] == (
        "Productivity (Europe/Madrid): today 3/5 (daily goal), this week 3/30 (weekly goal); streaks: 0 day(s) "
        "(longest 19), 4 week(s) (longest 9); karma 5321 (trend up); 1234 completed in all."
    )
    assert "Days off (no goal): Sat, Sun." in text and "Per day: 11-22: 0, 11-23: 3." in text
    assert structured(result)["stats"]["karma"] == 5321.0
