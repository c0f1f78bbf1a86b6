"""The local backend's task-order, project and section commands (reference §3), read back with plain Sync requests:
full syncs for the state, incremental syncs for what changed (tombstones included), errors naming the argument."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

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


def tasks(store: SyncStore, n: int, **args: Any) -> list[str]:
    mapping = run(store, *(cmd("item_add", {"content": f"t{i}", **args}, temp_id=f"t{i}") for i in range(n)))
    return [mapping[f"t{i}"] for i in range(n)]


# ---------------------------------------------------------------------------------------------------------------------
# Items


def test_item_reorder_sets_child_orders_after_checking_every_id(store: SyncStore) -> None:
    a, b, c = tasks(store, 3)
    before = token(store)
    bad = cmd("item_reorder", {"items": [{"id": a, "child_order": 9}, {"id": "6NoSuchTask00000", "child_order": 1}]})
    assert_error(status(store, bad), "ITEM_NOT_FOUND", "items")
    assert by_id(full(store)["items"])[a]["child_order"] == 1  # nothing changed
    run(store, cmd("item_reorder", {"items": [{"id": a, "child_order": 3}, {"id": c, "child_order": 1}]}))
    assert [i["id"] for i in full(store)["items"]] == [c, b, a]
    changed = by_id(since(store, before)["items"])
    assert set(changed) == {a, c} and changed[a]["child_order"] == 3


def test_item_update_day_orders_fills_the_day_orders_resource(store: SyncStore) -> None:
    a, b = tasks(store, 2)
    assert full(store)["day_orders"] == {}
    before = token(store)
    run(store, cmd("item_update_day_orders", {"ids_to_orders": {a: 2, b: 1}}))
    assert full(store)["day_orders"] == {a: 2, b: 1}
    run(store, cmd("item_update_day_orders", {"ids_to_orders": {a: 5}}))
    assert by_id(full(store)["items"])[a]["day_order"] == 5
    assert since(store, before)["day_orders"] == {a: 5, b: 1}
    bad = cmd("item_update_day_orders", {"ids_to_orders": {a: "first"}})
    assert_error(status(store, bad), "INVALID_ARGUMENT_VALUE", f"ids_to_orders.{a}")


def test_item_update_date_complete_moves_a_recurring_task_and_can_reset_its_subtasks(store: SyncStore) -> None:
    ids = run(
        store,
        cmd("item_add", {"content": "water plants", "due": {"string": "every day"}}, temp_id="r"),
        cmd("item_add", {"content": "fetch can", "parent_id": "r"}, temp_id="sub"),
        cmd("item_add", {"content": "once", "due": {"date": "2026-11-23"}}, temp_id="once"),
    )
    run(store, cmd("item_close", {"id": ids["sub"]}))
    before = token(store)
    run(store, cmd("item_update_date_complete", {"id": ids["r"], "due": {"date": "2026-11-30", "string": "every day"},
                                                 "is_forward": True, "reset_subtasks": 1}))  # fmt: skip
    items = by_id(full(store)["items"])
    assert items[ids["r"]]["due"]["date"] == "2026-11-30" and items[ids["r"]]["due"]["is_recurring"] is True
    assert items[ids["r"]]["checked"] is False
    assert items[ids["sub"]]["checked"] is False and items[ids["sub"]]["completed_at"] is None
    assert set(by_id(since(store, before)["items"])) == {ids["r"], ids["sub"]}
    # Without a due, completing moves to the next occurrence after the current one, as item_close does.
    run(store, cmd("item_update_date_complete", {"id": ids["r"], "is_forward": 1}))
    assert by_id(full(store)["items"])[ids["r"]]["due"]["date"] == "2026-12-01"
    # Undo (is_forward 0) puts back the due it is given.
    run(store, cmd("item_update_date_complete", {"id": ids["r"], "due": {"date": "2026-11-23", "string": "every day"},
                                                 "is_forward": 0}))  # fmt: skip
    assert by_id(full(store)["items"])[ids["r"]]["due"]["date"] == "2026-11-23"
    assert_error(status(store, cmd("item_update_date_complete", {"id": ids["once"]})), "INVALID_ARGUMENT_VALUE", "due")
    bad_flag = cmd("item_update_date_complete", {"id": ids["r"], "is_forward": 2})
    assert_error(status(store, bad_flag), "INVALID_ARGUMENT_VALUE", "is_forward")


def test_item_delete_also_deletes_the_comments_and_reminders_of_the_task_and_its_subtasks(store: SyncStore) -> None:
    ids = run(
        store,
        cmd("item_add", {"content": "parent", "due": {"date": "2026-11-24T09:00:00"}}, temp_id="p"),
        cmd("item_add", {"content": "child", "parent_id": "p"}, temp_id="c"),
        cmd("note_add", {"item_id": "p", "content": "on parent"}, temp_id="n1"),
        cmd("note_add", {"item_id": "c", "content": "on child"}, temp_id="n2"),
        cmd("reminder_add", {"item_id": "p", "type": "relative", "minute_offset": 15}, temp_id="r"),
        cmd("item_add", {"content": "other"}, temp_id="o"),
        cmd("note_add", {"item_id": "o", "content": "stays"}, temp_id="n3"),
    )
    before = token(store)
    run(store, cmd("item_delete", {"id": ids["p"]}))
    state = full(store)
    assert [n["id"] for n in state["notes"]] == [ids["n3"]] and state["reminders"] == []
    changed = since(store, before)
    assert {n["id"] for n in changed["notes"] if n["is_deleted"]} == {ids["n1"], ids["n2"]}
    assert [r["id"] for r in changed["reminders"] if r["is_deleted"]] == [ids["r"]]


# ---------------------------------------------------------------------------------------------------------------------
# Projects


def test_project_update_sets_given_fields_and_leaves_the_rest(store: SyncStore, clock: FixedClock) -> None:
    ids = run(store, cmd("project_add", {"name": "Home", "color": "red"}, temp_id="p"))
    before = token(store)
    clock.advance(60)
    run(store, cmd("project_update", {"id": ids["p"], "name": "House", "is_favorite": True, "view_style": "board",
                                      "description": "rooms"}))  # fmt: skip
    project = by_id(full(store)["projects"])[ids["p"]]
    fields = ("name", "color", "is_favorite", "view_style", "description")
    assert [project[f] for f in fields] == ["House", "red", True, "board", "rooms"]
    assert project["updated_at"] == "2026-11-23T10:01:00.000000Z"
    assert [p["name"] for p in since(store, before)["projects"]] == ["House"]
    for args, argument in [({"color": "pink"}, "color"), ({"view_style": "grid"}, "view_style"),
                           ({"name": "  "}, "name"), ({"description": "x" * 1025}, "description")]:  # fmt: skip
        assert_error(status(store, cmd("project_update", {"id": ids["p"], **args})), "INVALID_ARGUMENT_VALUE", argument)
    assert by_id(full(store)["projects"])[ids["p"]]["name"] == "House"


def test_the_inbox_cannot_be_renamed_moved_archived_or_deleted(store: SyncStore) -> None:
    inbox = full(store)["user"]["inbox_project_id"]
    other = run(store, cmd("project_add", {"name": "Other"}, temp_id="o"))["o"]
    for kind, args, argument in [
        ("project_update", {"name": "Mail"}, "name"),
        ("project_move", {"parent_id": other}, "id"),
        ("project_archive", {}, "id"),
        ("project_delete", {}, "id"),
    ]:
        assert_error(status(store, cmd(kind, {"id": inbox, **args})), "INVALID_ARGUMENT_VALUE", argument)
    inbox_now = by_id(full(store)["projects"])[inbox]
    assert (inbox_now["name"], inbox_now["parent_id"], inbox_now["is_archived"]) == ("Inbox", None, False)


def test_project_move_goes_last_under_its_new_parent_or_root_and_refuses_cycles(store: SyncStore) -> None:
    ids = run(
        store,
        cmd("project_add", {"name": "A"}, temp_id="a"),
        cmd("project_add", {"name": "B"}, temp_id="b"),
        cmd("project_add", {"name": "A1", "parent_id": "a"}, temp_id="a1"),
        cmd("project_add", {"name": "C"}, temp_id="c"),
    )
    before = token(store)
    run(store, cmd("project_move", {"id": ids["c"], "parent_id": ids["a"]}))
    assert [p["parent_id"] for p in since(store, before)["projects"]] == [ids["a"]]
    projects = by_id(full(store)["projects"])
    assert projects[ids["c"]]["parent_id"] == ids["a"] and projects[ids["c"]]["child_order"] == 2
    assert_error(status(store, cmd("project_move", {"id": ids["a"], "parent_id": ids["a1"]})),
                 "INVALID_ARGUMENT_VALUE", "parent_id")  # fmt: skip
    assert_error(status(store, cmd("project_move", {"id": ids["a"], "parent_id": "6NoSuchProject00"})),
                 "PROJECT_NOT_FOUND", "parent_id")  # fmt: skip
    run(store, cmd("project_move", {"id": ids["a1"], "parent_id": None}))
    projects = by_id(full(store)["projects"])
    assert projects[ids["a1"]]["parent_id"] is None
    assert projects[ids["a1"]]["child_order"] > max(projects[ids[k]]["child_order"] for k in ("a", "b"))


def test_project_reorder_sets_child_orders(store: SyncStore) -> None:
    ids = run(store, cmd("project_add", {"name": "A"}, temp_id="a"), cmd("project_add", {"name": "B"}, temp_id="b"))
    orders = [{"id": ids["a"], "child_order": 7}, {"id": ids["b"], "child_order": 6}]
    before = token(store)
    run(store, cmd("project_reorder", {"projects": orders}))
    assert sorted(p["child_order"] for p in since(store, before)["projects"]) == [6, 7]
    names = [p["name"] for p in full(store)["projects"] if not p.get("inbox_project")]
    assert names == ["B", "A"]
    assert_error(status(store, cmd("project_reorder", {"projects": []})), "INVALID_ARGUMENT_VALUE", "projects")


def test_archiving_takes_sub_projects_along_and_unarchiving_restores_one_as_last_root(store: SyncStore) -> None:
    ids = run(
        store,
        cmd("project_add", {"name": "Work"}, temp_id="w"),
        cmd("project_add", {"name": "Clients", "parent_id": "w"}, temp_id="wc"),
        cmd("project_add", {"name": "Later"}, temp_id="l"),
        cmd("section_add", {"name": "Backlog", "project_id": "w"}, temp_id="s"),
        cmd("item_add", {"content": "report", "project_id": "w"}, temp_id="i"),
        cmd("item_add", {"content": "call", "project_id": "wc"}, temp_id="j"),
    )
    before = token(store)
    run(store, cmd("project_archive", {"id": ids["w"]}))
    state = full(store)
    assert {ids["w"], ids["wc"]}.isdisjoint(by_id(state["projects"]))
    assert state["items"] == [] and state["sections"] == []
    archived = by_id(since(store, before)["projects"])
    assert set(archived) == {ids["w"], ids["wc"]} and all(p["is_archived"] for p in archived.values())
    after_archive = token(store)
    run(store, cmd("project_unarchive", {"id": ids["w"]}))
    state = full(store)
    projects = by_id(state["projects"])
    assert ids["wc"] not in projects  # the sub-project stays archived
    assert projects[ids["w"]]["parent_id"] is None and projects[ids["w"]]["is_archived"] is False
    assert projects[ids["w"]]["child_order"] > projects[ids["l"]]["child_order"]
    assert [i["id"] for i in state["items"]] == [ids["i"]] and [s["id"] for s in state["sections"]] == [ids["s"]]
    changed = since(store, after_archive)
    assert ids["i"] in by_id(changed["items"]) and ids["s"] in by_id(changed["sections"])


def test_deleting_a_project_deletes_sub_projects_sections_tasks_and_all_their_comments(store: SyncStore) -> None:
    ids = run(
        store,
        cmd("project_add", {"name": "Trip"}, temp_id="p"),
        cmd("project_add", {"name": "Hotels", "parent_id": "p"}, temp_id="sub"),
        cmd("section_add", {"name": "Packing", "project_id": "p"}, temp_id="s"),
        cmd("item_add", {"content": "passport", "section_id": "s", "due": {"date": "2026-11-30T08:00:00"}},
            temp_id="i"),
        cmd("item_add", {"content": "book", "project_id": "sub"}, temp_id="j"),
        cmd("item_add", {"content": "done already", "project_id": "p"}, temp_id="k"),
        cmd("note_add", {"item_id": "i", "content": "in the drawer"}, temp_id="n"),
        cmd("note_add", {"project_id": "p", "content": "budget 2k"}, temp_id="pn"),
        cmd("reminder_add", {"item_id": "i", "type": "relative", "minute_offset": 60}, temp_id="r"),
        cmd("item_add", {"content": "elsewhere"}, temp_id="x"),
    )  # fmt: skip
    run(store, cmd("item_close", {"id": ids["k"]}))
    before = token(store)
    run(store, cmd("project_delete", {"id": ids["p"]}))
    state = full(store)
    assert [i["id"] for i in state["items"]] == [ids["x"]]
    assert state["sections"] == [] and state["notes"] == [] and state["project_notes"] == []
    assert state["reminders"] == []
    assert {ids["p"], ids["sub"]}.isdisjoint(by_id(state["projects"]))
    changed = since(store, before)
    for resource, expected in [("projects", {"p", "sub"}), ("sections", {"s"}), ("items", {"i", "j", "k"}),
                               ("notes", {"n"}), ("project_notes", {"pn"}), ("reminders", {"r"})]:  # fmt: skip
        tombstones = {o["id"] for o in changed[resource] if o["is_deleted"]}
        assert tombstones == {ids[k] for k in expected}, resource
    assert_error(status(store, cmd("project_delete", {"id": ids["p"]})), "PROJECT_NOT_FOUND", "id")


# ---------------------------------------------------------------------------------------------------------------------
# Sections


def test_section_update_move_and_reorder(store: SyncStore) -> None:
    ids = run(
        store,
        cmd("project_add", {"name": "A"}, temp_id="a"),
        cmd("project_add", {"name": "B"}, temp_id="b"),
        cmd("section_add", {"name": "One", "project_id": "a"}, temp_id="s1"),
        cmd("section_add", {"name": "Two", "project_id": "a"}, temp_id="s2"),
        cmd("section_add", {"name": "Old", "project_id": "b"}, temp_id="s3"),
        cmd("item_add", {"content": "task", "section_id": "s1"}, temp_id="i"),
        cmd("item_add", {"content": "sub", "parent_id": "i"}, temp_id="j"),
    )
    before = token(store)
    run(store, cmd("section_update", {"id": ids["s1"], "name": "First", "is_collapsed": True}))
    run(store, cmd("section_move", {"id": ids["s1"], "project_id": ids["b"]}))
    state = full(store)
    sections = by_id(state["sections"])
    assert (sections[ids["s1"]]["name"], sections[ids["s1"]]["is_collapsed"]) == ("First", True)
    assert sections[ids["s1"]]["project_id"] == ids["b"] and sections[ids["s1"]]["section_order"] == 2
    items = by_id(state["items"])
    assert {items[ids[k]]["project_id"] for k in ("i", "j")} == {ids["b"]}
    assert {items[ids[k]]["section_id"] for k in ("i", "j")} == {ids["s1"]}
    assert set(by_id(since(store, before)["items"])) == {ids["i"], ids["j"]}
    before = token(store)
    run(store, cmd("section_reorder", {"sections": [{"id": ids["s1"], "section_order": 1},
                                                    {"id": ids["s3"], "section_order": 2}]}))  # fmt: skip
    assert {s["id"]: s["section_order"] for s in since(store, before)["sections"]} == {ids["s1"]: 1, ids["s3"]: 2}
    assert [s["name"] for s in full(store)["sections"] if s["project_id"] == ids["b"]] == ["First", "Old"]
    bad = cmd("section_reorder", {"sections": [{"id": ids["s1"], "child_order": 1}]})
    assert_error(status(store, bad), "INVALID_ARGUMENT_VALUE", "sections.0.section_order")


def test_archiving_a_section_completes_its_tasks_and_unarchiving_brings_the_section_back(
    store: SyncStore, clock: FixedClock
) -> None:
    ids = run(
        store,
        cmd("project_add", {"name": "P"}, temp_id="p"),
        cmd("section_add", {"name": "Done soon", "project_id": "p"}, temp_id="s"),
        cmd("item_add", {"content": "a", "section_id": "s"}, temp_id="a"),
        cmd("item_add", {"content": "b", "project_id": "p"}, temp_id="b"),
    )
    before = token(store)
    clock.advance(3600)
    run(store, cmd("section_archive", {"id": ids["s"]}))
    state = full(store)
    assert state["sections"] == [] and [i["id"] for i in state["items"]] == [ids["b"]]
    changed = since(store, before)
    [section] = changed["sections"]
    assert section["is_archived"] is True and section["archived_at"] == "2026-11-23T11:00:00.000000Z"
    [task] = changed["items"]
    assert task["checked"] is True and task["completed_at"] == "2026-11-23T11:00:00.000000Z"
    run(store, cmd("section_unarchive", {"id": ids["s"]}))
    state = full(store)
    assert [s["id"] for s in state["sections"]] == [ids["s"]] and state["sections"][0]["archived_at"] is None
    assert ids["a"] not in by_id(state["items"])  # its tasks stay completed


def test_deleting_a_section_deletes_its_tasks_and_their_comments(store: SyncStore) -> None:
    ids = run(
        store,
        cmd("project_add", {"name": "P"}, temp_id="p"),
        cmd("section_add", {"name": "S", "project_id": "p"}, temp_id="s"),
        cmd("item_add", {"content": "in section", "section_id": "s"}, temp_id="a"),
        cmd("item_add", {"content": "outside", "project_id": "p"}, temp_id="b"),
        cmd("note_add", {"item_id": "a", "content": "gone"}, temp_id="n"),
    )
    before = token(store)
    run(store, cmd("section_delete", {"id": ids["s"]}))
    state = full(store)
    assert state["sections"] == [] and [i["id"] for i in state["items"]] == [ids["b"]] and state["notes"] == []
    changed = since(store, before)
    assert [(s["id"], s["is_deleted"]) for s in changed["sections"]] == [(ids["s"], True)]
    assert [(i["id"], i["is_deleted"]) for i in changed["items"]] == [(ids["a"], True)]
    assert_error(status(store, cmd("section_update", {"id": ids["s"], "name": "x"})), "SECTION_NOT_FOUND", "id")


# ---------------------------------------------------------------------------------------------------------------------
# Temp ids and ids


def test_a_new_project_section_task_and_comments_resolve_through_temp_ids_in_one_request(store: SyncStore) -> None:
    response = store.sync(
        commands=[
            cmd("project_add", {"name": "Launch"}, temp_id="tp"),
            cmd("section_add", {"name": "Week 1", "project_id": "tp"}, temp_id="ts"),
            cmd("item_add", {"content": "announce", "section_id": "ts"}, temp_id="ti"),
            cmd("note_add", {"item_id": "ti", "content": "draft in docs"}, temp_id="tn"),
            cmd("note_add", {"project_id": "tp", "content": "kickoff notes"}, temp_id="tpn"),
            cmd("label_add", {"name": "launch"}, temp_id="tl"),
            cmd("filter_add", {"name": "Launch", "query": "#Launch"}, temp_id="tf"),
            cmd("project_update", {"id": "tp", "color": "blue"}, temp_id="not-a-creation"),
        ],
        sync_token="*",
        resource_types=ALL,
    )
    assert set(response["sync_status"].values()) == {"ok"}
    mapping = response["temp_id_mapping"]
    assert set(mapping) == {"tp", "ts", "ti", "tn", "tpn", "tl", "tf"}
    [note] = response["notes"]
    [project_note] = response["project_notes"]
    assert note["item_id"] == mapping["ti"] and note["id"] == mapping["tn"]
    assert project_note["project_id"] == mapping["tp"] and "item_id" not in project_note
    [section] = response["sections"]
    assert section["project_id"] == mapping["tp"]
    assert by_id(response["projects"])[mapping["tp"]]["color"] == "blue"


def test_unknown_ids_fail_with_their_kind_and_unknown_temp_ids_with_invalid_temp_id(store: SyncStore) -> None:
    missing = "6NoSuchThing0000"
    for kind, args, tag in [
        ("project_archive", {"id": missing}, "PROJECT_NOT_FOUND"),
        ("project_unarchive", {"id": missing}, "PROJECT_NOT_FOUND"),
        ("section_archive", {"id": missing}, "SECTION_NOT_FOUND"),
        ("section_move", {"id": missing, "project_id": missing}, "SECTION_NOT_FOUND"),
        ("item_update_date_complete", {"id": missing}, "ITEM_NOT_FOUND"),
    ]:
        result = status(store, cmd(kind, args))
        assert_error(result, tag, "id")
        assert result["http_code"] == 404
    assert_error(status(store, cmd("project_update", {"id": "tmp-nope", "name": "x"})), "INVALID_TEMP_ID", "id")
