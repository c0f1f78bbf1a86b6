"""The local backend's label, filter, comment and reminder commands (reference §3, §2.5-§2.8), read back with plain
Sync requests, and the shapes Doist's SDK requires of each resource."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.local_sync import ALL, assert_error, by_id, cmd, full, run, since, status, token
from tests.support import FixedClock
from tools_server.local.store import SyncStore


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def store(clock: FixedClock) -> Iterator[SyncStore]:
    opened = SyncStore(":memory:", now=clock)
    yield opened
    opened.close()


# Keys Doist's SDK requires (reference §2.5-§2.8), with the types it accepts.
NOTE_KEYS = {"id", "content", "posted_uid", "posted_at", "is_deleted", "file_attachment", "uids_to_notify", "reactions"}
LABEL_KEYS = {"id", "name", "color", "is_favorite", "is_deleted", "item_order", "order"}
FILTER_KEYS = {"id", "name", "query", "color", "item_order", "is_deleted", "is_favorite", "is_frozen", "description"}
REMINDER_KEYS = {"id", "notify_uid", "item_id", "type", "is_deleted", "due"}


def labels_of(store: SyncStore) -> dict[str, list[str]]:
    return {i["content"]: i["labels"] for i in full(store)["items"]}


# ---------------------------------------------------------------------------------------------------------------------
# Labels


def test_label_add_makes_a_label_with_every_field_and_refuses_a_second_of_the_same_name(store: SyncStore) -> None:
    ids = run(store, cmd("label_add", {"name": "Errands", "color": "green", "is_favorite": True}, temp_id="l"))
    [label] = full(store)["labels"]
    assert set(label) >= LABEL_KEYS
    assert (label["id"], label["name"], label["color"], label["is_favorite"]) == (ids["l"], "Errands", "green", True)
    assert isinstance(label["item_order"], int) and label["order"] == label["item_order"]
    assert_error(status(store, cmd("label_add", {"name": "errands"})), "LABEL_ALREADY_EXISTS", "name")
    assert_error(status(store, cmd("label_add", {"name": "x" * 61})), "INVALID_ARGUMENT_VALUE", "name")
    assert_error(status(store, cmd("label_add", {"name": "ok", "color": "pink"})), "INVALID_ARGUMENT_VALUE", "color")
    assert [lb["name"] for lb in full(store)["labels"]] == ["Errands"]


def test_renaming_a_label_renames_it_on_open_and_completed_tasks(store: SyncStore) -> None:
    ids = run(
        store,
        cmd("label_add", {"name": "home"}, temp_id="l"),
        cmd("item_add", {"content": "open", "labels": ["home", "quick"]}, temp_id="a"),
        cmd("item_add", {"content": "done", "labels": ["Home"]}, temp_id="b"),
        cmd("item_add", {"content": "other", "labels": ["quick"]}, temp_id="c"),
    )
    run(store, cmd("item_close", {"id": ids["b"]}))
    before = token(store)
    run(store, cmd("label_update", {"id": ids["l"], "name": "house", "color": "blue"}))
    assert labels_of(store) == {"open": ["house", "quick"], "other": ["quick"]}
    changed = since(store, before)
    items = by_id(changed["items"])
    assert set(items) == {ids["a"], ids["b"]} and items[ids["b"]]["labels"] == ["house"]
    [label] = changed["labels"]
    assert (label["name"], label["color"]) == ("house", "blue")
    quick = next(lb for lb in full(store)["labels"] if lb["name"] == "quick")
    assert_error(status(store, cmd("label_update", {"id": quick["id"], "name": "HOUSE"})), "LABEL_ALREADY_EXISTS")
    assert_error(status(store, cmd("label_update", {"id": "6NoSuchLabel0000"})), "LABEL_NOT_FOUND", "id")


def test_label_delete_strips_the_label_from_tasks_unless_cascade_is_none(store: SyncStore) -> None:
    ids = run(
        store,
        cmd("label_add", {"name": "a"}, temp_id="la"),
        cmd("label_add", {"name": "b"}, temp_id="lb"),
        cmd("item_add", {"content": "t", "labels": ["a", "b"]}, temp_id="t"),
    )
    before = token(store)
    run(store, cmd("label_delete", {"id": ids["la"]}))
    assert labels_of(store) == {"t": ["b"]}
    run(store, cmd("label_delete", {"id": ids["lb"], "cascade": "none"}))
    assert labels_of(store) == {"t": ["b"]} and full(store)["labels"] == []
    tombstones = {lb["id"] for lb in since(store, before)["labels"] if lb["is_deleted"]}
    assert tombstones == {ids["la"], ids["lb"]}
    bad = cmd("label_delete", {"id": ids["la"], "cascade": "some"})
    assert_error(status(store, bad), "INVALID_ARGUMENT_VALUE", "cascade")


def test_a_shared_label_is_renamed_and_taken_off_tasks_by_name(store: SyncStore) -> None:
    ids = run(
        store,
        cmd("label_add", {"name": "tmp"}, temp_id="l"),
        cmd("item_add", {"content": "t", "labels": ["shared", "keep"]}, temp_id="t"),
        cmd("item_add", {"content": "u", "labels": ["Shared"]}, temp_id="u"),
    )
    # "shared" and "keep" became personal labels on first use; a shared label is a name with none: cascade "none".
    for label in full(store)["labels"]:
        if label["name"] in ("shared", "keep"):
            run(store, cmd("label_delete", {"id": label["id"], "cascade": "none"}))
    before = token(store)
    run(store, cmd("label_rename", {"name_old": "shared", "name_new": "team"}))
    assert labels_of(store) == {"t": ["team", "keep"], "u": ["team"]}
    assert set(by_id(since(store, before)["items"])) == {ids["t"], ids["u"]}
    run(store, cmd("label_delete_occurrences", {"name": "TEAM"}))
    assert labels_of(store) == {"t": ["keep"], "u": []}
    assert [lb["name"] for lb in full(store)["labels"]] == ["tmp"]
    assert_error(
        status(store, cmd("label_rename", {"name_old": "keep", "name_new": " "})), "INVALID_ARGUMENT_VALUE", "name_new"
    )
    assert_error(status(store, cmd("label_delete_occurrences", {})), "INVALID_ARGUMENT_VALUE", "name")


def test_label_and_filter_orders_follow_the_id_order_mapping(store: SyncStore) -> None:
    ids = run(
        store,
        cmd("label_add", {"name": "one"}, temp_id="l1"),
        cmd("label_add", {"name": "two"}, temp_id="l2"),
        cmd("filter_add", {"name": "F1", "query": "today"}, temp_id="f1"),
        cmd("filter_add", {"name": "F2", "query": "p1"}, temp_id="f2"),
    )
    before = token(store)
    run(
        store,
        cmd("label_update_orders", {"id_order_mapping": {ids["l1"]: 2, ids["l2"]: 1}}),
        cmd("filter_update_orders", {"id_order_mapping": {ids["f1"]: 5, ids["f2"]: 4}}),
    )
    state = full(store)
    assert [(lb["name"], lb["item_order"], lb["order"]) for lb in state["labels"]] == [("two", 1, 1), ("one", 2, 2)]
    assert [(f["name"], f["item_order"]) for f in state["filters"]] == [("F2", 4), ("F1", 5)]
    changed = since(store, before)
    assert len(changed["labels"]) == 2 and len(changed["filters"]) == 2
    bad = cmd("label_update_orders", {"id_order_mapping": {"6NoSuchLabel0000": 1}})
    assert_error(status(store, bad), "LABEL_NOT_FOUND", "id_order_mapping")


# ---------------------------------------------------------------------------------------------------------------------
# Filters


def test_filters_are_added_updated_and_deleted_with_tombstones(store: SyncStore) -> None:
    ids = run(store, cmd("filter_add", {"name": "Urgent", "query": "p1 & today", "color": "red"}, temp_id="f"))
    [saved] = full(store)["filters"]
    assert set(saved) >= FILTER_KEYS and saved["is_frozen"] is False and saved["description"] is None
    assert (saved["name"], saved["query"], saved["color"]) == ("Urgent", "p1 & today", "red")
    before = token(store)
    run(store, cmd("filter_update", {"id": ids["f"], "query": "p1", "is_favorite": True, "description": "top"}))
    [changed] = since(store, before)["filters"]
    assert (changed["query"], changed["is_favorite"], changed["description"]) == ("p1", True, "top")
    assert_error(status(store, cmd("filter_update", {"id": ids["f"], "query": " "})), "INVALID_ARGUMENT_VALUE", "query")
    assert_error(status(store, cmd("filter_add", {"name": "No query"})), "INVALID_ARGUMENT_VALUE", "query")
    run(store, cmd("filter_delete", {"id": ids["f"]}))
    assert full(store)["filters"] == []
    assert [f["is_deleted"] for f in since(store, before)["filters"]] == [True]
    assert_error(status(store, cmd("filter_delete", {"id": ids["f"]})), "FILTER_NOT_FOUND", "id")


# ---------------------------------------------------------------------------------------------------------------------
# Comments


def test_task_and_project_comments_carry_the_sdk_fields_and_can_be_edited_and_deleted(
    store: SyncStore, clock: FixedClock
) -> None:
    ids = run(
        store,
        cmd("project_add", {"name": "P"}, temp_id="p"),
        cmd("item_add", {"content": "t", "project_id": "p"}, temp_id="t"),
        cmd("note_add", {"item_id": "t", "content": "first", "uids_to_notify": ["1"]}, temp_id="n"),
        cmd("note_add", {"project_id": "p", "content": "about P"}, temp_id="pn"),
    )
    state = full(store)
    [note], [project_note] = state["notes"], state["project_notes"]
    user_id = state["user"]["id"]
    for one in (note, project_note):
        assert set(one) >= NOTE_KEYS and one["posted_uid"] == user_id
        assert one["posted_at"] == "2026-11-23T10:00:00.000000Z" and one["reactions"] is None
    assert (note["item_id"], note["uids_to_notify"], note["file_attachment"]) == (ids["t"], ["1"], None)
    before = token(store)
    clock.advance(5)
    run(
        store,
        cmd("note_update", {"id": ids["n"], "content": "edited"}),
        cmd("note_update", {"id": ids["pn"], "content": "also edited"}),
    )
    changed = since(store, before)
    assert [n["content"] for n in changed["notes"]] == ["edited"]
    assert [n["content"] for n in changed["project_notes"]] == ["also edited"]
    assert_error(
        status(store, cmd("note_update", {"id": ids["n"], "content": ""})), "INVALID_ARGUMENT_VALUE", "content"
    )
    after_edit = token(store)
    run(store, cmd("note_delete", {"id": ids["n"]}), cmd("note_delete", {"id": ids["pn"]}))
    state = full(store)
    assert state["notes"] == [] and state["project_notes"] == []
    changed = since(store, after_edit)
    assert [n["is_deleted"] for n in changed["notes"] + changed["project_notes"]] == [True, True]
    assert_error(status(store, cmd("note_delete", {"id": ids["n"]})), "NOTE_NOT_FOUND", "id")


def test_a_comment_names_exactly_one_parent_and_an_attachment_gets_a_resource_type(store: SyncStore) -> None:
    ids = run(store, cmd("project_add", {"name": "P"}, temp_id="p"), cmd("item_add", {"content": "t"}, temp_id="t"))
    both = cmd("note_add", {"item_id": ids["t"], "project_id": ids["p"], "content": "x"})
    assert_error(status(store, both), "INVALID_ARGUMENT_VALUE", "item_id")
    assert_error(status(store, cmd("note_add", {"content": "orphan"})), "INVALID_ARGUMENT_VALUE", "item_id")
    assert_error(status(store, cmd("note_add", {"item_id": ids["t"]})), "INVALID_ARGUMENT_VALUE", "content")
    bad_url = cmd("note_add", {"item_id": ids["t"], "content": "x", "file_attachment": {"file_url": "file:///etc"}})
    assert_error(status(store, bad_url), "INVALID_ARGUMENT_VALUE", "file_url")
    missing_task = cmd("note_add", {"item_id": "6NoSuchTask00000", "content": "x"})
    assert_error(status(store, missing_task), "ITEM_NOT_FOUND", "item_id")
    assert full(store)["notes"] == []
    attachment = {"file_name": "a.pdf", "file_type": "application/pdf", "file_url": "https://example.com/a.pdf"}
    run(store, cmd("note_add", {"item_id": ids["t"], "file_attachment": attachment}))
    [note] = full(store)["notes"]
    assert note["content"] == "" and note["file_attachment"] == {**attachment, "resource_type": "file"}


# ---------------------------------------------------------------------------------------------------------------------
# Reminders


def test_relative_and_absolute_reminders_are_stored_in_their_own_shapes(store: SyncStore) -> None:
    ids = run(store, cmd("item_add", {"content": "call", "due": {"date": "2026-11-24T15:00:00"}}, temp_id="t"))
    mapping = run(
        store,
        cmd("reminder_add", {"item_id": ids["t"], "type": "relative", "minute_offset": 30}, temp_id="rel"),
        cmd(
            "reminder_add",
            {"item_id": ids["t"], "type": "absolute", "due": {"date": "2026-11-24T08:00:00Z"}, "is_urgent": True},
            temp_id="abs",
        ),
    )
    reminders = by_id(full(store)["reminders"])
    relative, absolute = reminders[mapping["rel"]], reminders[mapping["abs"]]
    for one in (relative, absolute):
        assert set(one) >= REMINDER_KEYS and one["item_id"] == ids["t"] and one["is_deleted"] is False
        assert one["notify_uid"] == full(store)["user"]["id"]
    assert (relative["type"], relative["minute_offset"], relative["due"]) == ("relative", 30, None)
    assert absolute["type"] == "absolute" and "minute_offset" not in absolute and absolute["is_urgent"] is True
    # As Todoist answers (the v1 docs' example): the moment in UTC, no timezone unless the command named one.
    assert absolute["due"]["date"] == "2026-11-24T08:00:00.000000Z" and absolute["due"]["timezone"] is None


def test_reminders_need_a_time_and_the_arguments_of_their_type(store: SyncStore) -> None:
    ids = run(
        store,
        cmd("item_add", {"content": "all day", "due": {"date": "2026-11-24"}}, temp_id="day"),
        cmd("item_add", {"content": "timed", "due": {"date": "2026-11-24T09:00:00"}}, temp_id="timed"),
    )
    where = {"item_id": ids["timed"], "type": "location", "name": "Home", "loc_lat": "1", "loc_long": "2",
             "loc_trigger": "on_enter"}  # fmt: skip
    for args, argument in [
        ({"item_id": ids["day"], "type": "relative", "minute_offset": 10}, "item_id"),
        ({"item_id": ids["timed"], "type": "relative"}, "minute_offset"),
        ({"item_id": ids["timed"], "type": "relative", "minute_offset": -5}, "minute_offset"),
        ({"item_id": ids["timed"], "type": "absolute"}, "due"),
        ({"item_id": ids["timed"], "type": "absolute", "due": {"date": "2026-11-24"}}, "due"),
        ({"item_id": ids["timed"], "type": "absolute", "due": {"string": "every day at 9am"}}, "due"),
        ({"item_id": ids["timed"], "type": "location", "name": "Home"}, "loc_lat"),
        ({**where, "name": " "}, "name"),
        ({**where, "loc_lat": "95"}, "loc_lat"),
        ({**where, "loc_long": "east"}, "loc_long"),
        ({**where, "loc_trigger": "on_arrival"}, "loc_trigger"),
        ({**where, "radius": -1}, "radius"),
        ({"item_id": ids["timed"], "type": "sometimes"}, "type"),
    ]:
        assert_error(status(store, cmd("reminder_add", args)), "INVALID_ARGUMENT_VALUE", argument)
    assert full(store)["reminders"] == [] and full(store)["reminders_location"] == []


def test_a_location_reminder_is_kept_read_under_its_own_type_updated_and_deleted_with_its_task(
    store: SyncStore,
) -> None:
    ids = run(store, cmd("item_add", {"content": "Buy bread"}, temp_id="t"))
    place = {"name": "Bakery", "loc_lat": "40.4168", "loc_long": "-3.7038", "loc_trigger": "on_enter"}
    rid = run(store, cmd("reminder_add", {"item_id": ids["t"], "type": "location", **place}, temp_id="r"))["r"]
    state = full(store)
    assert state["reminders"] == []
    [kept] = state["reminders_location"]
    assert set(kept) >= REMINDER_KEYS - {"due"} and "due" not in kept and "minute_offset" not in kept
    assert {k: kept[k] for k in place} == place and (kept["id"], kept["type"], kept["radius"]) == (rid, "location", 100)
    before = token(store)
    run(store, cmd("reminder_update", {"id": rid, "radius": 250, "loc_trigger": "on_leave"}))
    [changed] = since(store, before)["reminders_location"]
    assert (changed["radius"], changed["loc_trigger"]) == (250, "on_leave")
    before = token(store)
    run(store, cmd("item_delete", {"id": ids["t"]}))
    assert full(store)["reminders_location"] == []
    assert [(r["id"], r["is_deleted"]) for r in since(store, before)["reminders_location"]] == [(rid, True)]


def test_a_location_reminder_without_trigger_or_radius_fires_on_entering_100_metres_around(store: SyncStore) -> None:
    """Doist's SDK types loc_trigger and radius optional on reminder_add: Todoist takes a place without them."""
    ids = run(store, cmd("item_add", {"content": "Buy bread"}, temp_id="t"))
    place = {"type": "location", "name": "Bakery", "loc_lat": "40.4168", "loc_long": "-3.7038"}
    run(store, cmd("reminder_add", {"item_id": ids["t"], **place}, temp_id="r"))
    [kept] = full(store)["reminders_location"]
    assert (kept["name"], kept["loc_trigger"], kept["radius"]) == ("Bakery", "on_enter", 100)


def test_reminder_update_can_change_the_type_and_reminder_delete_leaves_a_tombstone(store: SyncStore) -> None:
    ids = run(store, cmd("item_add", {"content": "t", "due": {"date": "2026-11-24T09:00:00"}}, temp_id="t"))
    rid = run(store, cmd("reminder_add", {"item_id": ids["t"], "type": "relative", "minute_offset": 5}, temp_id="r"))[
        "r"
    ]
    before = token(store)
    run(store, cmd("reminder_update", {"id": rid, "minute_offset": 45}))
    assert [r["minute_offset"] for r in since(store, before)["reminders"]] == [45]
    assert_error(
        status(store, cmd("reminder_update", {"id": rid, "type": "absolute"})), "INVALID_ARGUMENT_VALUE", "due"
    )
    run(store, cmd("reminder_update", {"id": rid, "type": "absolute", "due": {"string": "tomorrow at 7am"}}))
    [reminder] = full(store)["reminders"]
    assert reminder["type"] == "absolute" and reminder["due"]["date"] == "2026-11-24T07:00:00.000000Z"
    assert "minute_offset" not in reminder
    run(store, cmd("reminder_delete", {"id": rid}))
    assert full(store)["reminders"] == []
    assert since(store, before)["reminders"][-1]["is_deleted"] is True
    assert_error(status(store, cmd("reminder_delete", {"id": rid})), "REMINDER_NOT_FOUND", "id")


def test_a_replayed_note_add_returns_its_mapping_and_adds_nothing(store: SyncStore) -> None:
    task = run(store, cmd("item_add", {"content": "t"}, temp_id="t"))["t"]
    add = cmd("note_add", {"item_id": task, "content": "once"}, temp_id="n")
    first = store.sync(commands=[add])
    again = store.sync(commands=[add], sync_token="*", resource_types=ALL)
    assert again["temp_id_mapping"] == first["temp_id_mapping"] and len(again["notes"]) == 1
