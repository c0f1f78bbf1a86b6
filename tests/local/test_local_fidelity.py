"""The local backend against the fidelity reference (shared/reference/todoist-fidelity.md §2, §3, §5, §9): the keys of
every resource Doist's SDK requires, the command shapes Todoist accepts and refuses, and the account's timezone.

The key lists below are written from the reference, not from the backend's code, so a key the backend drops fails here.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import FixedClock, command
from tools_server.local.store import SyncStore

# Reference §2.1
ITEM_KEYS = {
    "id", "user_id", "project_id", "section_id", "parent_id", "content", "description", "priority", "child_order",
    "day_order", "is_collapsed", "checked", "is_deleted", "labels", "added_by_uid", "assigned_by_uid",
    "responsible_uid", "added_at", "updated_at", "completed_at", "due", "deadline", "duration",
}  # fmt: skip
# §2.3 (personal project) + §9: both shared and is_shared
PROJECT_KEYS = {
    "id", "name", "color", "child_order", "default_order", "description", "is_archived", "is_deleted", "is_favorite",
    "is_collapsed", "is_frozen", "can_assign_tasks", "is_shared", "shared", "view_style", "created_at", "updated_at",
    "parent_id",
}  # fmt: skip
# §2.4
SECTION_KEYS = {
    "id", "user_id", "project_id", "name", "description", "section_order", "is_collapsed", "is_archived", "is_deleted",
    "added_at", "updated_at", "archived_at",
}  # fmt: skip
# §2.5 + §9 (item_order, the docs' name; order, the REST name)
LABEL_KEYS = {"id", "name", "color", "is_favorite", "is_deleted", "item_order", "order"}
# §2.9, SDK-required
USER_KEYS = {
    "id", "email", "full_name", "inbox_project_id", "feature_identifier", "karma_trend", "lang", "start_page",
    "theme_id", "verification_status", "activated_user", "has_password", "is_premium", "is_celebrations_enabled",
    "auto_reminder", "daily_goal", "weekly_goal", "share_limit", "sort_order", "weekend_start_day", "karma",
    "business_account_id", "image_id", "days_off", "joined_at", "premium_until", "premium_status", "date_format",
    "time_format", "start_day", "next_week", "joinable_workspace", "features", "tz_info", "has_magic_number",
    "getting_started_guide_projects", "unique_prefix", "websocket_url",
}  # fmt: skip
# §2.10
USER_SETTINGS_KEYS = {
    "reminder_push", "reminder_desktop", "reminder_email", "completed_sound_desktop", "completed_sound_mobile",
    "reset_recurring_subtasks", "ai_email_assist", "legacy_pricing", "navigation", "quick_add",
}  # fmt: skip
# §1: array types the store does not keep
EMPTY_ARRAYS = [
    "notes", "project_notes", "reminders", "reminders_location", "filters", "collaborators", "collaborator_states",
    "completed_info", "live_notifications", "view_options", "project_view_options_defaults", "workspaces",
    "workspace_filters", "folders", "calendars", "calendar_accounts", "suggestions", "role_actions", "locations",
]  # fmt: skip
ALL = ["items", "projects", "sections", "labels", "user"]

cmd = command  # the one Sync command builder (tests/support.py)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 11, 23, 10, 0, tzinfo=UTC))  # Monday


@pytest.fixture
def store(clock: FixedClock) -> Iterator[SyncStore]:
    s = SyncStore(":memory:", now=clock)
    yield s
    s.close()


@pytest.fixture
def strict(clock: FixedClock) -> Iterator[SyncStore]:
    """The store as it is by default: the two undocumented due shapes refused."""
    s = SyncStore(":memory:", now=clock)
    yield s
    s.close()


def run(store: SyncStore, *commands: dict[str, Any]) -> dict[str, Any]:
    response = store.sync(commands=commands, sync_token="*", resource_types=ALL)
    return response


def ok(store: SyncStore, *commands: dict[str, Any]) -> dict[str, Any]:
    response = run(store, *commands)
    assert all(status == "ok" for status in response["sync_status"].values()), response["sync_status"]
    return response


def added_item(store: SyncStore, args: dict[str, Any]) -> dict[str, Any]:
    response = ok(store, cmd("item_add", {"content": "x", **args}, temp_id="new"))
    new_id = response["temp_id_mapping"]["new"]
    return next(i for i in response["items"] if i["id"] == new_id)


def error_of(store: SyncStore, command: dict[str, Any]) -> dict[str, Any]:
    status: dict[str, Any] = run(store, command)["sync_status"][command["uuid"]]
    assert status != "ok", f"{command} was accepted"
    return status


def account(store: SyncStore) -> dict[str, Any]:
    return ok(
        store,
        cmd("project_add", {"name": "Work"}, temp_id="p"),
        cmd("project_add", {"name": "Clients", "parent_id": "p"}, temp_id="p2"),
        cmd("section_add", {"name": "Doing", "project_id": "p"}, temp_id="s"),
        cmd(
            "item_add",
            {
                "content": "Stand-up",
                "section_id": "s",
                "labels": ["work"],
                "due": {"string": "every weekday at 9am"},
                "deadline": {"date": "2027-01-29"},
                "duration": {"amount": 15, "unit": "minute"},
            },
            temp_id="t",
        ),
        cmd("item_add", {"content": "Sub", "parent_id": "t"}),
    )


# ---------------------------------------------------------------------------------------------------------------------
# Resource shapes


def test_every_kept_resource_has_every_key_the_sdk_requires(store: SyncStore) -> None:
    account(store)
    body = store.sync(sync_token="*", resource_types=["all"])
    for item in body["items"]:
        assert item.keys() >= ITEM_KEYS, ITEM_KEYS - item.keys()
    for project in body["projects"]:
        assert project.keys() >= PROJECT_KEYS, PROJECT_KEYS - project.keys()
        assert "workspace_id" not in project
        assert project["description"] == "" and project["is_shared"] is False and project["shared"] is False
        assert ("inbox_project" in project) == (project["name"] == "Inbox")
    inbox = next(p for p in body["projects"] if p["name"] == "Inbox")
    assert inbox["inbox_project"] is True and inbox["id"] == body["user"]["inbox_project_id"]
    (section,) = body["sections"]
    assert section.keys() >= SECTION_KEYS and section["description"] is None
    assert section["added_at"] and section["updated_at"] and section["archived_at"] is None
    (label,) = body["labels"]
    assert label.keys() >= LABEL_KEYS and isinstance(label["item_order"], int) and isinstance(label["order"], int)
    user = body["user"]
    assert user.keys() >= USER_KEYS, USER_KEYS - user.keys()
    assert "timezone" not in user
    assert user["date_format"] in (0, 1) and user["time_format"] in (0, 1)
    assert user["start_day"] in range(1, 8) and user["next_week"] in range(1, 8)
    assert user["features"]["beta"] in (0, 1)
    assert body["user_settings"].keys() >= USER_SETTINGS_KEYS
    assert body["user_plan_limits"]["current"] and "next" in body["user_plan_limits"]


def test_due_deadline_and_duration_come_back_in_the_documented_forms(store: SyncStore) -> None:
    full_day = added_item(store, {"due": {"date": "2026-12-24"}})["due"]
    assert full_day == {"date": "2026-12-24", "string": "2026-12-24", "is_recurring": False, "timezone": None,
                        "lang": "en"}  # fmt: skip
    floating = added_item(store, {"due": {"date": "2026-12-24T10:00:00.000000"}})["due"]
    assert floating["date"] == "2026-12-24T10:00:00" and floating["timezone"] is None
    fixed = added_item(store, {"due": {"string": "tomorrow at 2pm", "timezone": "Europe/Madrid"}})["due"]
    assert fixed["date"] == "2026-11-24T13:00:00Z" and fixed["timezone"] == "Europe/Madrid"
    recurring = added_item(store, {"due": {"string": "every day", "lang": "en"}})["due"]
    assert recurring["is_recurring"] is True and recurring["lang"] == "en"
    item = added_item(store, {"deadline": {"date": "2027-01-02"}, "duration": {"amount": 2, "unit": "day"}})
    assert item["deadline"] == {"date": "2027-01-02", "lang": "en"}
    assert item["duration"] == {"amount": 2, "unit": "day"} and isinstance(item["duration"]["amount"], int)


def test_requested_resources_not_kept_are_empty_values_of_their_type(store: SyncStore) -> None:
    names = [*EMPTY_ARRAYS, "day_orders", "workspace_users", "tooltips", "stats", "notification_settings"]
    full = store.sync(sync_token="*", resource_types=names)
    for name in EMPTY_ARRAYS:
        assert full[name] == [], name
    assert full["day_orders"] == {} and full["notification_settings"] == {}
    assert "workspace_users" not in full  # never in a full sync (reference §1)
    incremental = store.sync(sync_token=full["sync_token"], resource_types=["all"])
    for name in [*EMPTY_ARRAYS, "workspace_users"]:
        assert incremental[name] == [], name
    assert incremental["user_settings"].keys() >= USER_SETTINGS_KEYS


def test_completions_and_tombstones_in_incremental_syncs(store: SyncStore) -> None:
    body = account(store)
    ids = body["temp_id_mapping"]
    sub = next(i["id"] for i in body["items"] if i["content"] == "Sub")
    after = ok(store, cmd("item_complete", {"id": sub, "completed_at": "2026-11-23T09:00:00Z"}))
    changed = store.sync(sync_token=body["sync_token"], resource_types=["items"])["items"]
    done = next(i for i in changed if i["id"] == sub)
    assert done["checked"] is True and done["completed_at"] == "2026-11-23T09:00:00.000000Z"
    ok(store, cmd("item_delete", {"id": ids["t"]}))
    changed = store.sync(sync_token=after["sync_token"], resource_types=["items"])["items"]
    assert {i["id"] for i in changed if i["is_deleted"]} == {ids["t"], sub}
    assert all(i.keys() >= ITEM_KEYS for i in changed)
    assert not store.sync(sync_token="*", resource_types=["items"])["items"]


def test_a_database_written_by_the_old_code_reads_in_the_new_shape(tmp_path: Path, clock: FixedClock) -> None:
    path = tmp_path / "old.db"
    SyncStore(str(path), now=clock).close()
    db = sqlite3.connect(path)
    # What the previous version stored: no is_shared/can_assign_tasks/..., inbox_project false on every project,
    # a top-level user timezone, sections without description, labels without order.
    old_project = {"id": "6Xold0000000proj", "name": "Old", "color": "red", "parent_id": None, "child_order": 1,
                   "is_collapsed": False, "shared": False, "is_deleted": False, "is_archived": False,
                   "is_favorite": False, "view_style": "list", "inbox_project": False, "folder_id": None,
                   "description": "", "created_at": "2026-01-01T00:00:00.000000Z",
                   "updated_at": "2026-01-01T00:00:00.000000Z"}  # fmt: skip
    old_label = {"id": "6Xold000000label", "name": "old", "color": "charcoal", "item_order": 1, "is_deleted": False,
                 "is_favorite": False}  # fmt: skip
    for kind, obj in (("project", old_project), ("label", old_label)):
        db.execute(
            "INSERT INTO objects (id, kind, seq, active, ord, data) VALUES (?, ?, 1, 1, 1, ?)",
            (obj["id"], kind, json.dumps(obj)),
        )
    user_row = db.execute("SELECT id, data FROM objects WHERE kind = 'user'").fetchone()
    user = json.loads(user_row[1])
    old_user = {"id": user["id"], "full_name": "Local user", "email": "local@localhost",
                "inbox_project_id": user["inbox_project_id"], "timezone": "UTC", "is_deleted": False}  # fmt: skip
    db.execute("UPDATE objects SET data = ? WHERE id = ?", (json.dumps(old_user), user_row[0]))
    db.execute("DELETE FROM meta WHERE key IN ('shape_version', 'start_day')")
    db.commit()
    db.close()
    reopened = SyncStore(str(path), now=clock)
    try:
        body = reopened.sync(sync_token="*", resource_types=["projects", "labels", "user"])
    finally:
        reopened.close()
    project = next(p for p in body["projects"] if p["id"] == old_project["id"])
    assert project.keys() >= PROJECT_KEYS and "inbox_project" not in project
    label = next(x for x in body["labels"] if x["id"] == old_label["id"])
    assert label.keys() >= LABEL_KEYS and label["order"] == 1
    assert body["user"].keys() >= USER_KEYS and "timezone" not in body["user"]


# ---------------------------------------------------------------------------------------------------------------------
# The account's timezone


@pytest.mark.parametrize(
    ("zone", "moment", "expected"),
    [
        ("Pacific/Kiritimati", "2026-11-23T11:00:00", ("+14:00", 14, 0, 0)),
        ("Pacific/Pago_Pago", "2026-11-23T11:00:00", ("-11:00", -11, 0, 0)),
        ("Asia/Kolkata", "2026-11-23T11:00:00", ("+05:30", 5, 30, 0)),
        ("Europe/Madrid", "2026-07-01T11:00:00", ("+02:00", 2, 0, 1)),
        ("Europe/Madrid", "2026-12-01T11:00:00", ("+01:00", 1, 0, 0)),
    ],
)
def test_tz_info_is_computed_for_the_configured_zone_at_the_store_clock(
    zone: str, moment: str, expected: tuple[str, int, int, int]
) -> None:
    clock = FixedClock(datetime.fromisoformat(moment).replace(tzinfo=UTC))
    store = SyncStore(":memory:", now=clock, user_timezone=zone, start_day=7)
    try:
        user = store.sync(sync_token="*", resource_types=["user"])["user"]
    finally:
        store.close()
    gmt, hours, minutes, dst = expected
    assert user["tz_info"] == {"timezone": zone, "gmt_string": gmt, "hours": hours, "minutes": minutes, "is_dst": dst}
    assert user["start_day"] == 7


@pytest.mark.parametrize(
    ("zone", "moment", "today", "tomorrow_9am"),
    [
        # 11:00 UTC Monday is already 01:00 Tuesday in UTC+14.
        ("Pacific/Kiritimati", "2026-11-23T11:00:00", "2026-11-24", "2026-11-25T09:00:00"),
        # 05:00 UTC Monday is still 18:00 Sunday in UTC-11.
        ("Pacific/Pago_Pago", "2026-11-23T05:00:00", "2026-11-22", "2026-11-23T09:00:00"),
    ],
)
def test_natural_language_dates_are_read_in_the_users_timezone(
    zone: str, moment: str, today: str, tomorrow_9am: str
) -> None:
    clock = FixedClock(datetime.fromisoformat(moment).replace(tzinfo=UTC))
    store = SyncStore(":memory:", now=clock, user_timezone=zone)
    try:
        assert added_item(store, {"due": {"string": "today"}})["due"]["date"] == today
        assert added_item(store, {"due": {"string": "tomorrow 9am"}})["due"]["date"] == tomorrow_9am
    finally:
        store.close()


def test_reopening_with_another_timezone_delivers_the_user_incrementally(tmp_path: Path, clock: FixedClock) -> None:
    path = str(tmp_path / "tz.db")
    first = SyncStore(path, now=clock)
    token = first.sync(sync_token="*", resource_types=["user"])["sync_token"]
    first.close()
    second = SyncStore(path, now=clock, user_timezone="Pacific/Kiritimati")
    try:
        user = second.sync(sync_token=token, resource_types=["user"])["user"]
    finally:
        second.close()
    assert user["tz_info"]["timezone"] == "Pacific/Kiritimati"


def test_an_unknown_timezone_or_start_day_is_refused_at_construction() -> None:
    with pytest.raises(ValueError, match="Mars/Olympus"):
        SyncStore(":memory:", user_timezone="Mars/Olympus")
    with pytest.raises(ValueError, match="start_day"):
        SyncStore(":memory:", start_day=0)


# ---------------------------------------------------------------------------------------------------------------------
# Command shapes: accepted


@pytest.mark.parametrize(
    ("due", "date"),
    [
        ({"string": "tomorrow"}, "2026-11-24"),
        ({"string": "tomorrow", "lang": "en"}, "2026-11-24"),
        ({"string": "mañana", "lang": "es"}, "2026-11-24"),
        ({"string": "tomorrow at 12", "timezone": "Asia/Jakarta"}, "2026-11-24T05:00:00Z"),
        ({"date": "2026-12-24"}, "2026-12-24"),
        ({"date": "2026-12-24T10:00:00"}, "2026-12-24T10:00:00"),
        ({"date": "2026-12-24T10:00:00.000000"}, "2026-12-24T10:00:00"),
        ({"date": "2026-12-24T05:00:00Z"}, "2026-12-24T05:00:00Z"),
        ({"date": "2026-12-24T05:00:00.000000Z"}, "2026-12-24T05:00:00Z"),
        ({"date": "2026-12-24T05:00:00Z", "timezone": "Asia/Jakarta"}, "2026-12-24T05:00:00Z"),
        (
            {"date": "2026-12-25", "string": "every day", "is_recurring": True, "timezone": None, "lang": "en"},
            "2026-12-25",
        ),
    ],
)
def test_documented_due_inputs_are_accepted(strict: SyncStore, due: dict[str, Any], date: str) -> None:
    assert added_item(strict, {"due": due})["due"]["date"] == date


def test_a_full_due_object_keeps_the_recurrence_and_null_removes_the_due(strict: SyncStore) -> None:
    item = added_item(strict, {"due": {"string": "every monday"}})
    moved = {"date": "2026-12-07", "string": "every monday", "is_recurring": True, "lang": "en", "timezone": None}
    response = ok(strict, cmd("item_update", {"id": item["id"], "due": moved}))
    due = next(i for i in response["items"] if i["id"] == item["id"])["due"]
    assert due["date"] == "2026-12-07" and due["is_recurring"] is True and due["string"] == "every monday"
    response = ok(strict, cmd("item_update", {"id": item["id"], "due": None, "deadline": None, "duration": None}))
    cleared = next(i for i in response["items"] if i["id"] == item["id"])
    assert cleared["due"] is None and cleared["deadline"] is None and cleared["duration"] is None


@pytest.mark.parametrize("field", ["date_completed", "completed_at"])
def test_item_complete_takes_both_spellings_of_the_completion_date(strict: SyncStore, field: str) -> None:
    item = added_item(strict, {})
    token = strict.sync(sync_token="*", resource_types=["items"])["sync_token"]
    ok(strict, cmd("item_complete", {"id": item["id"], field: "2026-11-20T08:00:00Z"}))
    (done,) = strict.sync(sync_token=token, resource_types=["items"])["items"]
    assert done["checked"] is True and done["completed_at"] == "2026-11-20T08:00:00.000000Z"


def test_untyped_item_close_and_a_temp_id_on_a_non_creating_command(strict: SyncStore) -> None:
    response = ok(strict, cmd("item_add", {"content": "a"}, temp_id="a"), cmd("item_close", {"id": "a"}, temp_id="x"))
    assert set(response["temp_id_mapping"]) == {"a"}
    assert response["temp_id_mapping"]["a"] not in {i["id"] for i in response["items"]}


# ---------------------------------------------------------------------------------------------------------------------
# Command shapes: refused, with INVALID_ARGUMENT_VALUE naming the argument (or the documented not-found codes)


@pytest.mark.parametrize(
    ("args", "argument"),
    [
        ({"due": {"datetime": "2026-12-24T10:00:00"}}, "due.datetime"),
        ({"due": {"string": "tomorrow", "lang": None}}, "due.lang"),
        ({"due": {"string": "tomorrow", "lang": "xx"}}, "due.lang"),
        ({"due": {"date": "24/12/2026"}}, "due"),
        ({"due": {"string": "tomorrow", "timezone": "Mars/Olympus"}}, "due"),
        ({"priority": 0}, "priority"),
        ({"priority": 5}, "priority"),
        ({"duration": {"amount": 15}}, "duration.unit"),
        ({"duration": {"unit": "minute"}}, "duration.amount"),
        ({"duration": {"amount": 0, "unit": "minute"}}, "duration.amount"),
        ({"duration": {"amount": -5, "unit": "minute"}}, "duration.amount"),
        ({"duration": {"amount": 1.5, "unit": "minute"}}, "duration.amount"),
        ({"duration": {"amount": 1, "unit": "hour"}}, "duration.unit"),
        ({"deadline": {"date": "2026-02-30"}}, "deadline.date"),
        ({"deadline": {"date": "tomorrow"}}, "deadline.date"),
    ],
)
def test_item_add_refuses_what_todoist_refuses(strict: SyncStore, args: dict[str, Any], argument: str) -> None:
    before = strict.sync(sync_token="*", resource_types=["items"])["items"]
    status = error_of(strict, cmd("item_add", {"content": "x", **args}, temp_id="t"))
    assert (status["error_tag"], status["error_code"], status["http_code"]) == ("INVALID_ARGUMENT_VALUE", 20, 400)
    assert status["error_extra"]["argument"] == argument
    assert set(status) == {"error", "error_code", "error_extra", "error_tag", "http_code"}
    assert strict.sync(sync_token="*", resource_types=["items"])["items"] == before


@pytest.mark.parametrize(
    ("destinations", "argument"),
    [({}, "project_id"), ({"project_id": "INBOX", "section_id": None}, "project_id")],
)
def test_item_move_needs_exactly_one_destination(
    strict: SyncStore, destinations: dict[str, Any], argument: str
) -> None:
    item = added_item(strict, {})
    inbox = strict.sync(sync_token="*", resource_types=["user"])["user"]["inbox_project_id"]
    args = {"id": item["id"], **{k: (inbox if v == "INBOX" else v) for k, v in destinations.items()}}
    status = error_of(strict, cmd("item_move", args))
    assert status["error_tag"] == "INVALID_ARGUMENT_VALUE" and status["error_extra"]["argument"] == argument


def test_unknown_temp_ids_and_unknown_ids_get_the_documented_codes(strict: SyncStore) -> None:
    status = error_of(strict, cmd("item_add", {"content": "x", "project_id": "never-sent-temp-id"}))
    assert (status["error_tag"], status["error_code"], status["http_code"]) == ("INVALID_TEMP_ID", 15, 400)
    for kind in ("item_update", "item_close", "item_complete", "item_uncomplete", "item_delete"):
        status = error_of(strict, cmd(kind, {"id": "6X7rM8997g3RQmvh"}))
        assert (status["error_tag"], status["error_code"], status["http_code"]) == ("ITEM_NOT_FOUND", 22, 404), kind


def test_the_compatibility_switch_accepts_the_old_clients_two_undocumented_shapes(clock: FixedClock) -> None:
    lenient = SyncStore(":memory:", now=clock, accept_client_due_shapes=True)
    timed = added_item(lenient, {"due": {"datetime": "2026-12-24T10:00:00", "lang": None}})["due"]
    assert timed["date"] == "2026-12-24T10:00:00" and timed["lang"] == "en"


# ---------------------------------------------------------------------------------------------------------------------
# local-api configuration


@pytest.mark.slow
def test_local_api_takes_the_account_timezone_from_the_flag_and_the_environment(tmp_path: Path) -> None:
    from tests.local.test_local_http import TOKEN
    from tests.support import local_api

    with local_api(tmp_path / "flag.db", extra_args=["--timezone", "Pacific/Kiritimati"]) as server:
        body = httpx.post(
            server.url, json={"sync_token": "*", "resource_types": ["user"]},
            headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30,
        ).json()  # fmt: skip
    assert body["user"]["tz_info"]["timezone"] == "Pacific/Kiritimati"
    with local_api(tmp_path / "env.db", extra_env={"TOOLS_SERVER_LOCAL_TIMEZONE": "Pacific/Pago_Pago"}) as server:
        body = httpx.post(
            server.url, json={"sync_token": "*", "resource_types": ["user"]},
            headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30,
        ).json()  # fmt: skip
    assert body["user"]["tz_info"]["gmt_string"] == "-11:00"
