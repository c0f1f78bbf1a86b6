"""The local Sync engine's semantics, request by request (reference §9): what is stored, what a client reads back."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.support import FixedClock
from tests.support import command as cmd
from tools_server.local.errors import RequestError
from tools_server.local.store import SyncStore

ALL = ["items", "projects", "sections", "labels", "user"]


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def store(clock: FixedClock) -> Any:
    s = SyncStore(":memory:", now=clock)
    yield s
    s.close()


def run(store: SyncStore, *commands: dict[str, Any], token: str | None = None) -> dict[str, Any]:
    return store.sync(commands=commands, sync_token=token, resource_types=ALL)


def full(store: SyncStore) -> dict[str, Any]:
    return store.sync(sync_token="*", resource_types=ALL)


def items_by_content(store: SyncStore) -> dict[str, dict[str, Any]]:
    return {i["content"]: i for i in full(store)["items"]}


def status_of(response: dict[str, Any], command: dict[str, Any]) -> Any:
    return response["sync_status"][command["uuid"]]


def test_example_a_project_and_item_via_temp_ids(store: SyncStore) -> None:
    project = cmd("project_add", {"name": "Shopping List"}, temp_id="c7beb07f-b226-4eb1-bf63-30d782b07b1a")
    item = cmd(
        "item_add",
        {"content": "Buy Milk", "project_id": project["temp_id"], "labels": ["Food"], "priority": 4,
         "due": {"string": "tomorrow"}},
        temp_id="43f7ed23-a038-46b5-b2c9-4abda9097ffa",
    )  # fmt: skip
    response = run(store, project, item, token="*")
    assert response["sync_status"] == {project["uuid"]: "ok", item["uuid"]: "ok"}
    mapping = response["temp_id_mapping"]
    [stored] = response["items"]
    assert stored["id"] == mapping[item["temp_id"]] and stored["project_id"] == mapping[project["temp_id"]]
    assert stored["due"] == {"date": "2026-11-24", "timezone": None, "string": "tomorrow", "lang": "en",
                             "is_recurring": False}  # fmt: skip
    assert stored["labels"] == ["Food"] and [label["name"] for label in response["labels"]] == ["Food"]
    assert response["full_sync"] is True and "full_sync_date_utc" in response


V1_ITEM_FIELDS: dict[str, type | tuple[type, ...]] = {
    "id": str, "user_id": str, "project_id": str, "content": str, "description": str, "priority": int,
    "due": (dict, type(None)), "deadline": (dict, type(None)), "parent_id": (str, type(None)), "child_order": int,
    "section_id": (str, type(None)), "day_order": int, "is_collapsed": bool, "labels": list,
    "added_by_uid": (str, type(None)), "assigned_by_uid": (str, type(None)), "responsible_uid": (str, type(None)),
    "checked": bool, "is_deleted": bool, "added_at": str, "updated_at": str, "completed_at": (str, type(None)),
    "duration": (dict, type(None)),
}  # fmt: skip


def test_every_item_carries_all_v1_task_fields_with_their_types(store: SyncStore) -> None:
    run(
        store,
        cmd("item_add", {"content": "plain"}),
        cmd("item_add", {"content": "full", "description": "d", "deadline": {"date": "2026-12-24"},
                         "duration": {"amount": 15, "unit": "minute"}, "due": {"date": "2026-12-01T09:00:00"}}),
    )  # fmt: skip
    for item in full(store)["items"]:
        assert set(item) >= set(V1_ITEM_FIELDS), set(V1_ITEM_FIELDS) - set(item)
        for name, expected in V1_ITEM_FIELDS.items():
            assert isinstance(item[name], expected), (name, item[name])
    stored = items_by_content(store)["full"]
    assert stored["deadline"] == {"date": "2026-12-24", "lang": "en"}
    assert stored["duration"] == {"amount": 15, "unit": "minute"}
    assert stored["due"]["date"] == "2026-12-01T09:00:00"


def test_item_add_defaults_to_the_inbox_and_user_names_it(store: SyncStore) -> None:
    response = run(store, cmd("item_add", {"content": "x"}), token="*")
    inbox = response["user"]["inbox_project_id"]
    assert response["items"][0]["project_id"] == inbox
    assert [p["name"] for p in response["projects"] if p["inbox_project"]] == ["Inbox"]


def test_incremental_sync_returns_only_changes_with_tombstones_and_completions(store: SyncStore) -> None:
    first = run(store, cmd("item_add", {"content": "a"}), cmd("item_add", {"content": "b"}),
                cmd("item_add", {"content": "c"}), token="*")  # fmt: skip
    ids = {i["content"]: i["id"] for i in first["items"]}
    token = first["sync_token"]
    quiet = run(store, token=token)
    assert quiet["full_sync"] is False and quiet["items"] == [] and quiet["sync_token"] == token
    changed = run(store, cmd("item_close", {"id": ids["a"]}), cmd("item_delete", {"id": ids["b"]}), token=token)
    by_id = {i["id"]: i for i in changed["items"]}
    assert set(by_id) == {ids["a"], ids["b"]}
    assert by_id[ids["a"]]["checked"] is True and by_id[ids["a"]]["completed_at"] == "2026-11-23T10:00:00.000000Z"
    assert by_id[ids["b"]]["is_deleted"] is True
    assert [i["content"] for i in full(store)["items"]] == ["c"]


@pytest.mark.parametrize("token", ["*", "garbage!", "bm9wZTox", None])
def test_star_unknown_or_foreign_tokens_give_a_full_sync(store: SyncStore, token: str | None) -> None:
    run(store, cmd("item_add", {"content": "a"}))
    response = store.sync(sync_token=token, resource_types=["items"])
    assert response["full_sync"] is True and [i["content"] for i in response["items"]] == ["a"]


def test_a_token_from_another_database_means_full_sync(tmp_path: Path) -> None:
    one, two = SyncStore(str(tmp_path / "1.db")), SyncStore(str(tmp_path / "2.db"))
    try:
        token = one.sync(sync_token="*", resource_types=["items"])["sync_token"]
        two.sync(commands=[cmd("item_add", {"content": "x"})])
        assert two.sync(sync_token=token, resource_types=["items"])["full_sync"] is True
    finally:
        one.close()
        two.close()


def test_replayed_uuid_is_not_executed_again_and_returns_its_mapping(store: SyncStore) -> None:
    add = cmd("item_add", {"content": "once"}, temp_id="tmp-1")
    first = run(store, add)
    again = run(store, add)
    assert again["sync_status"] == first["sync_status"] and again["temp_id_mapping"] == first["temp_id_mapping"]
    assert list(items_by_content(store)) == ["once"]
    # The replayed mapping also resolves later commands in the same request.
    child = cmd("item_add", {"content": "child", "parent_id": "tmp-1"})
    assert status_of(run(store, add, child), child) == "ok"
    assert items_by_content(store)["child"]["parent_id"] == first["temp_id_mapping"]["tmp-1"]


def test_a_failed_uuid_replays_its_failure(store: SyncStore) -> None:
    bad = cmd("item_close", {"id": "6NoSuchItem00000"})
    assert status_of(run(store, bad), bad)["error_tag"] == "ITEM_NOT_FOUND"
    assert status_of(run(store, bad), bad)["error_tag"] == "ITEM_NOT_FOUND"


def test_example_d_partial_failure(store: SyncStore) -> None:
    item_id = run(store, cmd("item_add", {"content": "x"}, temp_id="t"))["temp_id_mapping"]["t"]
    project_id = run(store, cmd("project_add", {"name": "P"}, temp_id="p"))["temp_id_mapping"]["p"]
    section_id = run(store, cmd("section_add", {"name": "S", "project_id": project_id}, temp_id="s"))[
        "temp_id_mapping"
    ]["s"]
    close = cmd("item_close", {"id": item_id})
    orphan = cmd("item_add", {"content": "Child", "parent_id": "t-unknown"}, temp_id="t-1")
    two_places = cmd("item_move", {"id": item_id, "project_id": project_id, "section_id": section_id})
    missing = cmd("item_delete", {"id": "6XNOPE0000000000"})
    response = run(store, close, orphan, two_places, missing)
    assert status_of(response, close) == "ok"
    expected = {"error": "Invalid temporary id", "error_code": 15, "error_tag": "INVALID_TEMP_ID", "http_code": 400}
    assert status_of(response, orphan) == expected | {"error_extra": {"argument": "parent_id"}}
    moved = status_of(response, two_places)
    assert (moved["error_tag"], moved["error_code"], moved["http_code"]) == ("INVALID_ARGUMENT_VALUE", 20, 400)
    assert moved["error_extra"]["argument"] == "project_id"
    gone = status_of(response, missing)
    assert (gone["error_tag"], gone["error_code"], gone["http_code"]) == ("ITEM_NOT_FOUND", 22, 404)
    assert response["temp_id_mapping"] == {}


def test_move_to_section_project_and_parent_carries_subtasks(store: SyncStore) -> None:
    ids = run(
        store,
        cmd("project_add", {"name": "A"}, temp_id="pa"),
        cmd("project_add", {"name": "B"}, temp_id="pb"),
        cmd("section_add", {"name": "S", "project_id": "pb"}, temp_id="sb"),
        cmd("item_add", {"content": "parent", "project_id": "pa"}, temp_id="p"),
        cmd("item_add", {"content": "child", "parent_id": "p"}, temp_id="c"),
        cmd("item_add", {"content": "grandchild", "parent_id": "c"}, temp_id="g"),
        cmd("item_add", {"content": "other", "project_id": "pb"}, temp_id="o"),
    )["temp_id_mapping"]
    run(store, cmd("item_move", {"id": ids["p"], "section_id": ids["sb"]}))
    items = items_by_content(store)
    for name in ("parent", "child", "grandchild"):
        assert (items[name]["project_id"], items[name]["section_id"]) == (ids["pb"], ids["sb"])
    assert items["child"]["parent_id"] == ids["p"]
    run(store, cmd("item_move", {"id": ids["p"], "parent_id": ids["o"]}))
    items = items_by_content(store)
    assert items["parent"]["parent_id"] == ids["o"] and items["grandchild"]["section_id"] is None
    assert items["parent"]["child_order"] == 1
    run(store, cmd("item_move", {"id": ids["p"], "project_id": ids["pa"]}))
    items = items_by_content(store)
    assert items["parent"]["parent_id"] is None and items["grandchild"]["project_id"] == ids["pa"]
    cycle = cmd("item_move", {"id": ids["p"], "parent_id": ids["g"]})
    assert status_of(run(store, cycle), cycle)["error_extra"]["argument"] == "parent_id"
    none = cmd("item_move", {"id": ids["p"]})
    assert status_of(run(store, none), none)["error_tag"] == "INVALID_ARGUMENT_VALUE"


def test_close_completes_subtasks_and_uncomplete_restores_ancestors(store: SyncStore) -> None:
    ids = run(store, cmd("item_add", {"content": "p"}, temp_id="p"),
              cmd("item_add", {"content": "c", "parent_id": "p"}, temp_id="c"))["temp_id_mapping"]  # fmt: skip
    run(store, cmd("item_close", {"id": ids["p"]}))
    assert full(store)["items"] == []
    run(store, cmd("item_uncomplete", {"id": ids["c"]}))
    items = items_by_content(store)
    assert set(items) == {"p", "c"} and items["c"]["completed_at"] is None


def test_close_advances_a_recurring_task_instead_of_completing_it(store: SyncStore, clock: FixedClock) -> None:
    item_id = run(store, cmd("item_add", {"content": "water", "due": {"string": "every day"}}, temp_id="w"))[
        "temp_id_mapping"
    ]["w"]
    assert items_by_content(store)["water"]["due"]["date"] == "2026-11-23"
    run(store, cmd("item_close", {"id": item_id}))
    water = items_by_content(store)["water"]
    assert water["checked"] is False and water["due"]["date"] == "2026-11-24" and water["due"]["is_recurring"]
    clock.now += timedelta(days=3)
    run(store, cmd("item_close", {"id": item_id}))
    assert items_by_content(store)["water"]["due"]["date"] == "2026-11-27"


def test_item_complete_accepts_both_date_names_and_delete_cascades(store: SyncStore) -> None:
    ids = run(store, cmd("item_add", {"content": "a"}, temp_id="a"), cmd("item_add", {"content": "b"}, temp_id="b"),
              cmd("item_add", {"content": "b1", "parent_id": "b"}, temp_id="b1"))["temp_id_mapping"]  # fmt: skip
    token = full(store)["sync_token"]
    run(store, cmd("item_complete", {"id": ids["a"], "date_completed": "2026-11-20T08:00:00Z"}))
    run(store, cmd("item_delete", {"id": ids["b"]}))
    changes = {i["content"]: i for i in run(store, token=token)["items"]}
    assert changes["a"]["completed_at"] == "2026-11-20T08:00:00.000000Z"
    assert changes["b"]["is_deleted"] and changes["b1"]["is_deleted"]
    bad = cmd("item_complete", {"id": ids["a"], "completed_at": "yesterday"})
    assert status_of(run(store, bad), bad)["error_extra"]["argument"] == "completed_at"


def test_item_update_sets_clears_and_ignores_placement(store: SyncStore) -> None:
    ids = run(store, cmd("project_add", {"name": "P"}, temp_id="p"),
              cmd("item_add", {"content": "x", "due": {"string": "today"}, "priority": 2}, temp_id="x"))[
        "temp_id_mapping"
    ]  # fmt: skip
    before = items_by_content(store)["x"]
    update = cmd("item_update", {"id": ids["x"], "content": "y", "due": None, "labels": ["a", "A", "b"],
                                 "project_id": ids["p"], "checked": True})  # fmt: skip
    assert status_of(run(store, update), update) == "ok"
    after = items_by_content(store)["y"]
    assert after["due"] is None and after["priority"] == 2 and after["labels"] == ["a", "b"]
    assert after["project_id"] == before["project_id"] and after["checked"] is False


@pytest.mark.parametrize(
    ("args", "argument"),
    [
        ({"content": ""}, "content"),
        ({"content": "   "}, "content"),
        ({"content": "x", "priority": 5}, "priority"),
        ({"content": "x", "priority": "high"}, "priority"),
        ({"content": "x", "duration": {"amount": 0, "unit": "minute"}}, "duration.amount"),
        ({"content": "x", "duration": {"amount": 5, "unit": "hour"}}, "duration.unit"),
        ({"content": "x", "deadline": {"date": "2026-02-30"}}, "deadline.date"),
        ({"content": "x", "due": {"string": "whenever-ish blah"}}, "due"),
        ({"content": "x", "labels": "notalist"}, "labels"),
        ({}, "content"),
    ],
)
def test_invalid_item_add_names_the_argument_and_changes_nothing(
    store: SyncStore, args: dict[str, Any], argument: str
) -> None:
    before = full(store)
    bad = cmd("item_add", args, temp_id="t")
    status = status_of(run(store, bad), bad)
    assert status["error_tag"] == "INVALID_ARGUMENT_VALUE" and status["error_extra"]["argument"] == argument
    after = full(store)
    assert (after["items"], after["labels"]) == (before["items"], before["labels"])


def test_unknown_command_type_is_a_per_command_error(store: SyncStore) -> None:
    weird = cmd("item_teleport", {"id": "x"})
    ok = cmd("item_add", {"content": "still runs"})
    response = run(store, weird, ok)
    assert status_of(response, weird)["error_extra"]["argument"] == "type" and status_of(response, ok) == "ok"


@pytest.mark.parametrize(
    ("request_body", "argument"),
    [
        (
            {"commands": [{"type": "item_add", "uuid": f"u{i}", "args": {"content": "x"}} for i in range(101)]},
            "commands",
        ),
        ({"commands": "item_add"}, "commands"),
        ({"commands": [{"type": "item_add", "args": {"content": "no uuid"}}]}, "commands"),
        ({"commands": [["not", "an", "object"]]}, "commands"),
        ({"sync_token": 5}, "sync_token"),
        ({"resource_types": "items"}, "resource_types"),
    ],
)
def test_malformed_requests_are_refused_whole_and_leave_the_store_as_it_was(
    store: SyncStore, request_body: dict[str, Any], argument: str
) -> None:
    before = full(store)
    reply = store.handle(request_body, token="t")
    assert reply.status == 400 and reply.body["error_extra"]["argument"] == argument
    after = full(store)
    assert after["items"] == before["items"] and after["sync_token"] == before["sync_token"]


def test_direct_calls_raise_for_a_refused_request(store: SyncStore) -> None:
    with pytest.raises(RequestError) as refused:
        store.sync(commands=[cmd("item_add", {"content": str(i)}) for i in range(101)])
    assert refused.value.status == 400 and refused.value.body["error_extra"]["max_count"] == 100
    assert full(store)["items"] == []


def test_resource_types_all_and_exclusions(store: SyncStore) -> None:
    everything = store.sync(sync_token="*", resource_types=["all"])
    assert {"items", "projects", "sections", "labels", "user"} <= set(everything)
    some = store.sync(sync_token="*", resource_types=["all", "-projects", "-user"])
    assert "projects" not in some and "user" not in some and "items" in some


def test_the_database_is_wal_and_commits_before_answering(tmp_path: Path) -> None:
    path = tmp_path / "tasks.db"
    store = SyncStore(str(path))
    try:
        store.sync(commands=[cmd("item_add", {"content": "durable"})])
        # Another connection (as another process would) sees the write as soon as the call returned.
        other = sqlite3.connect(path)
        try:
            assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            rows = other.execute("SELECT data FROM objects WHERE kind = 'item'").fetchall()
            assert len(rows) == 1 and "durable" in rows[0][0]
        finally:
            other.close()
    finally:
        store.close()
    reopened = SyncStore(str(path))
    try:
        assert [i["content"] for i in reopened.sync(sync_token="*", resource_types=["items"])["items"]] == ["durable"]
    finally:
        reopened.close()


def test_a_store_whose_commands_table_is_of_the_first_layout_is_rebuilt_and_still_knows_every_uuid(
    tmp_path: Path,
) -> None:
    """The commands table was WITHOUT ROWID: a random uuid per command put each insert on a random page of the whole
    rows. Opening such a store rebuilds it as a rowid table with the uuid in an index, keeping every uuid, so a command
    sent again is still answered from its record and not run twice."""
    path = str(tmp_path / "tasks.db")
    store = SyncStore(path)
    add = cmd("item_add", {"content": "once"}, temp_id="t1")
    first = store.sync(commands=[add])
    store.close()
    db = sqlite3.connect(path)
    db.executescript(
        "ALTER TABLE commands RENAME TO newer; DROP INDEX commands_at; CREATE TABLE commands (uuid TEXT PRIMARY KEY, "
        "status TEXT NOT NULL, temp_id TEXT, object_id TEXT, at REAL NOT NULL) WITHOUT ROWID; CREATE INDEX "
        "commands_at ON commands (at); INSERT INTO commands SELECT uuid, status, temp_id, object_id, at FROM newer; "
        "DROP TABLE newer;"
    )
    db.close()
    store = SyncStore(path)
    try:
        sql = store._db.execute("SELECT sql FROM sqlite_master WHERE name = 'commands'").fetchone()[0]  # pyright: ignore[reportPrivateUsage]
        assert "WITHOUT ROWID" not in sql.upper()
        again = store.sync(commands=[add])
        assert again["sync_status"] == first["sync_status"] and again["temp_id_mapping"] == first["temp_id_mapping"]
        items = store.sync(sync_token="*", resource_types=["items"])["items"]
        assert [i["content"] for i in items] == ["once"]
    finally:
        store.close()
