"""The client over real-shaped API v1 responses (tests/data/sync_v1): every value the docs or the SDK allow is read,
one unreadable object costs only itself, and "today" is the user's day from ``tz_info``."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from mcp.types import ReadResourceResult, TextResourceContents

from tests.corpus import CorpusServer, clean_full_sync, corpus_client, full_sync, item_of
from tests.support import FixedClock, structured, text_of

SKIPPED = "skipped unreadable"


def _resource_text(result: ReadResourceResult) -> str:
    content = result.contents[0]
    assert isinstance(content, TextResourceContents)
    return content.text


def _skips(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and SKIPPED in r.getMessage()]


# ---------------------------------------------------------------------------------------------------------------------
# One real-world value in an otherwise conventional account: the session reads it and keeps working

MILK, LUNCH = "6X7rfFVPjhvv84XH", "6X7rfFVPjhvv84XK"
ONE_VALUE: dict[str, Callable[[dict[str, Any]], None]] = {
    "due.lang null": lambda d: item_of(d, MILK)["due"].update(lang=None),
    "due.lang missing": lambda d: item_of(d, MILK)["due"].pop("lang"),
    "duration.unit hour": lambda d: item_of(d, LUNCH).update(duration={"amount": 2, "unit": "hour"}),
    "float duration.amount": lambda d: item_of(d, LUNCH).update(duration={"amount": 22.5, "unit": "minute"}),
    "label.item_order null": lambda d: d["labels"][0].update(item_order=None),
    "numeric user_id": lambda d: item_of(d, MILK).update(user_id=2671355, added_by_uid=2671355),
    "deadline without lang": lambda d: item_of(d, MILK).update(deadline={"date": "2026-12-10"}),
}


@pytest.mark.anyio
async def test_the_conventional_baseline_is_read() -> None:
    async with corpus_client(CorpusServer(full=clean_full_sync(), incremental=None)) as client:
        overview = await client.call_tool("query_changes", {})
    assert not overview.is_error and "Active tasks: 9" in text_of(overview), text_of(overview)


@pytest.mark.anyio
@pytest.mark.parametrize("case", list(ONE_VALUE))
async def test_one_real_world_value_does_not_break_the_session(case: str) -> None:
    data = clean_full_sync()
    ONE_VALUE[case](data)
    conventional_write = {"sync_token": "t-after-write", "full_sync": False}
    corpus = CorpusServer(full=data, incremental=None, write=conventional_write)
    async with corpus_client(corpus) as client:
        overview = await client.call_tool("query_changes", {})
        assert not overview.is_error and "Active tasks: 9" in text_of(overview), text_of(overview)
        found = await client.call_tool("find_items", {"filter": "search: milk | @errands"})
        assert not found.is_error and "2 task(s)" in text_of(found), text_of(found)
        added = structured(await client.call_tool("add_item", {"items": [{"content": "x"}]}))
        assert added["ok"] == 1 and "resend" not in added


# ---------------------------------------------------------------------------------------------------------------------
# A session over the corpus


@pytest.mark.anyio
async def test_a_session_that_receives_an_unreadable_object_keeps_working(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    corpus = CorpusServer(incremental=None)
    async with corpus_client(corpus) as client:
        await client.call_tool("query_changes", {})
        added = await client.call_tool("add_item", {"items": [{"content": "Water plants"}]})
        result = structured(added)
        assert (result["ok"], result["failed"]) == (1, 0) and "resend" not in result, text_of(added)
        assert result["ids"] == ["6X8a000000000001"]
        [warning] = _skips(caplog)
        assert "item id=6X7rfFVPjhvv84XW" in warning
        changes = await client.call_tool("query_changes", {"cursor": "c_unknown"})
        assert not changes.is_error and "Someone else's task" in text_of(changes)
        found = await client.call_tool("find_items", {"filter": "today"})
        assert not found.is_error and "Someone else's task" in text_of(found), text_of(found)
    assert len(_skips(caplog)) == 1


@pytest.mark.anyio
async def test_every_tool_works_over_the_corpus() -> None:
    corpus = CorpusServer()
    async with corpus_client(corpus) as client:
        overview = text_of(await client.call_tool("query_changes", {}))
        assert "Lunch with Ana" in overview and "Dentist in Madrid" in overview
        cursor = overview.rsplit("cursor: ", 1)[1].split()[0]
        changes = text_of(await client.call_tool("query_changes", {"cursor": cursor}))
        assert "Call the bank again" in changes and "completed 6X7rfFVPjhvv84XH" in changes
        found = structured(await client.call_tool("find_items", {"filter": "#Shopping List | @errands"}))
        assert {t["id"] for t in found["lists"][0]["tasks"]} == {"6X7rfFVPjhvv84XP", "6X7rfFVPjhvv84XQ"}
        projects = json.loads(_resource_text(await client.read_resource("todoist://projects")))
        assert {p["name"]: p.get("sections") for p in projects} == {
            "Inbox": None,
            "Shopping List": [{"id": "6Jf8VQXxpwv56VQ9", "name": "Fruit"}],
            "Groceries": None,
        }
        task = json.loads(_resource_text(await client.read_resource("todoist://tasks/6X7rfFVPjhvv84XK")))
        assert task["duration"] == {"amount": 1.5, "unit": "hour"}
        calls: list[tuple[str, dict[str, Any], int]] = [
            ("add_item", {"items": [{"content": "Pears", "project": "Shopping List", "section": "Fruit"}]}, 1),
            ("update_items", {"items": [{"id": "6X7rfFVPjhvv84XK", "due_date": "2026-11-30", "priority": 2}]}, 1),
            ("complete_items", {"ids": ["6X7rfFVPjhvv84XM"]}, 1),
            ("undo", {}, 1),
            ("move_items", {"ids": ["6X7rfFVPjhvv84XG"], "to_project": "Groceries"}, 1),
            ("undo", {}, 1),
            ("update_items", {"items": [{"id": "6X7rfFVPjhvv84XK", "clear": ["duration", "due"]}]}, 1),
            ("undo", {}, 1),
            ("delete_items", {"ids": ["6X7rfFVPjhvv84XQ"]}, 1),
        ]
        for name, arguments, ok in calls:
            reply = await client.call_tool(name, arguments)
            assert not reply.is_error, (name, text_of(reply))
            assert structured(reply)["ok"] == ok and "resend" not in structured(reply), (name, text_of(reply))
        missing = await client.call_tool("resend_writes", {"batch": "w_none"})
        assert missing.is_error and "unknown or already confirmed" in text_of(missing)
    sent = corpus.commands()
    assert [c["type"] for c in sent] == [
        "item_add", "item_update", "item_close", "item_update_date_complete", "item_move", "item_move",
        "item_update", "item_update", "item_delete",
    ]  # fmt: skip
    assert sent[0]["args"]["section_id"] == "6Jf8VQXxpwv56VQ9"
    # Undoing the clear puts back the due as read and the 1.5 hours as 90 minutes (the documented units).
    restore = sent[7]["args"]
    assert restore["duration"] == {"amount": 90, "unit": "minute"}
    assert restore["due"] == {"date": "2026-11-23T12:00:00.000000"}


@pytest.mark.anyio
async def test_resend_writes_finishes_a_write_over_corpus_shaped_responses() -> None:
    corpus = CorpusServer(incremental=None, unconfirmed_writes=1)
    async with corpus_client(corpus) as client:
        first = structured(await client.call_tool("complete_items", {"ids": ["6X7rfFVPjhvv84XG"]}))
        assert first["ok"] == 0 and first["failures"][0]["error_tag"] == "UNCONFIRMED"
        again = await client.call_tool("resend_writes", {"batch": first["resend"]})
        assert structured(again)["ok"] == 1 and "resend" not in structured(again), text_of(again)
    [close, resent] = corpus.commands()
    assert close == resent and close["type"] == "item_close"


@pytest.mark.anyio
async def test_a_fixed_timezone_due_is_shown_in_its_own_zone_with_the_zone_named() -> None:
    data = clean_full_sync("Asia/Tokyo", legacy_timezone=False)
    async with corpus_client(CorpusServer(full=data, incremental=None)) as client:
        overview = await client.call_tool("query_changes", {})
    text = text_of(overview)
    assert "Dentist in Madrid · p1 · due 2026-12-03 09:00 Europe/Madrid" in text
    assert "due 2026-11-25 14:00 Europe/Madrid (every wed at 2pm)" in text
    assert "Lunch with Ana · due 2026-11-23 12:00 ·" in text  # floating: the user's wall clock, no zone
    briefs = {t["id"]: t for t in structured(overview)["tasks"]}
    assert briefs["6X7rfFVPjhvv84XL"]["due"] == "2026-12-03 09:00 Europe/Madrid"


@pytest.mark.anyio
async def test_a_utc_due_without_its_own_zone_is_shown_in_the_users_zone() -> None:
    corpus = CorpusServer(full=full_sync("Asia/Tokyo"), incremental=None)
    async with corpus_client(corpus) as client:
        await client.call_tool("add_item", {"items": [{"content": "x"}]})
        found = text_of(await client.call_tool("find_items", {"filter": "search: Someone"}))
    assert "due 2026-11-24 00:00 Asia/Tokyo" in found  # 15:00Z is midnight in Tokyo


@pytest.mark.anyio
async def test_the_overview_names_the_users_day_zone_and_week_start() -> None:
    data = clean_full_sync("Pacific/Kiritimati", legacy_timezone=False)
    data["user"]["start_day"] = 7
    clock = FixedClock(datetime(2026, 11, 23, 11, 0, tzinfo=UTC))
    async with corpus_client(CorpusServer(full=data, incremental=None), clock) as client:
        text = text_of(await client.call_tool("query_changes", {}))
    assert "Account: timezone Pacific/Kiritimati, today Tue 2026-11-24 01:00, week starts Sunday" in text


# ---------------------------------------------------------------------------------------------------------------------
# "today" and "overdue" are the user's


ZONES = [
    # zone, UTC clock, the user's today, due today, overdue
    (
        "Pacific/Kiritimati",  # UTC+14: already tomorrow
        datetime(2026, 11, 23, 11, 0, tzinfo=UTC),
        {"6X7rfFVPjhvv84XJ", "6X7rfFVPjhvv84XM"},
        {"6X7rfFVPjhvv84XG", "6X7rfFVPjhvv84XH", "6X7rfFVPjhvv84XK"},
    ),
    (
        "Pacific/Pago_Pago",  # UTC-11: still yesterday
        datetime(2026, 11, 23, 8, 0, tzinfo=UTC),
        {"6X7rfFVPjhvv84XG"},
        set[str](),
    ),
    (
        "Pacific/Pago_Pago",  # late on the 23rd there, already the 24th in UTC
        datetime(2026, 11, 24, 9, 0, tzinfo=UTC),
        {"6X7rfFVPjhvv84XH", "6X7rfFVPjhvv84XK"},
        {"6X7rfFVPjhvv84XG", "6X7rfFVPjhvv84XK"},
    ),
]


@pytest.mark.anyio
@pytest.mark.parametrize(("zone", "now", "today", "overdue"), ZONES, ids=["kiritimati", "pago-pago", "pago-pago-late"])
async def test_today_and_overdue_are_the_users_day(
    zone: str, now: datetime, today: set[str], overdue: set[str]
) -> None:
    # The zone is only in tz_info, as Todoist sends it; every other value is one any client reads.
    corpus = CorpusServer(full=clean_full_sync(zone, legacy_timezone=False), incremental=None)
    async with corpus_client(corpus, FixedClock(now)) as client:
        found = structured(await client.call_tool("find_items", {"filter": "today, overdue"}))
    [due_today, due_before] = found["lists"]
    assert {t["id"] for t in due_today["tasks"]} == today
    assert {t["id"] for t in due_before["tasks"]} == overdue
