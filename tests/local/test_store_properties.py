"""Properties of the local Sync engine over random command sequences (reference §6 and §9).

One hypothesis example drives a fresh store through several requests built from every command the backend knows,
with temp ids, references to objects from earlier requests, subtasks, recurring tasks, invalid ``item_move``
combinations, unknown ids, replays of whole earlier requests and retries that add new commands. After every request:

* a client that merges the incremental responses (reference §6: upsert unless deleted or, for items, checked) holds
  exactly what a fresh full sync returns;
* every id is new when it is first mapped, never names two kinds of object, and every ``temp_id_mapping`` value names
  an object of the kind the command creates;
* a replayed request executes nothing and answers as it did the first time;
* ``sync_status`` has exactly the uuids sent, each ``"ok"`` or a complete error object.
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass, field
from typing import Any, cast

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import FixedClock
from tools_server.local.store import SyncStore

Obj = dict[str, Any]
Snapshot = dict[str, dict[str, Obj]]

TYPES = ["items", "projects", "sections", "labels"]
KIND_TO_TYPE = {"item": "items", "project": "projects", "section": "sections"}
CREATES = {"item_add": "item", "project_add": "project", "section_add": "section"}
ERROR_KEYS = {"error", "error_code", "error_tag", "http_code", "error_extra"}

UNKNOWN_DIGITS = "987654321987"  # a seed-era numeric id nobody has
UNKNOWN_V1 = "6ZZZZZZZZZZZZZZZ"  # a v1-shaped id nobody has
UNKNOWN_TEMP = "tmp-never-declared"  # a temp id no command declared
UNKNOWN_IDS = {"digits": UNKNOWN_DIGITS, "v1": UNKNOWN_V1, "temp": UNKNOWN_TEMP}

# What a command must get, when the generator knows: tag and http_code of the error, or "ok".
EXPECTED_ERRORS = {
    "not_found": ("ITEM_NOT_FOUND", 404),
    "temp": ("INVALID_TEMP_ID", 400),
    "invalid": ("INVALID_ARGUMENT_VALUE", 400),
}

DUES: list[Obj | None] = [{"string": "tomorrow"}, {"date": "2026-12-01"}, {"string": "every day"}, None]
LABEL_NAMES = ["work", "Work", "home", "urgent"]
NAMES = ["Work", "Home", "Errands", "x"]
CONTENTS = ["Buy milk", "Call Bob", "a", "Write report"]

COMMAND_TYPES = [
    *["item_add"] * 5,
    "project_add",
    "section_add",
    *["item_update"] * 2,
    *["item_move"] * 2,
    *["item_close"] * 2,
    "item_complete",
    "item_uncomplete",
    "item_delete",
]


@dataclass
class Sent:
    """A request as sent, with what the store answered for it."""

    commands: list[Obj]
    sync_status: dict[str, Any]
    temp_id_mapping: dict[str, str]


@dataclass
class Model:
    """What the generator knows from earlier responses."""

    ids: dict[str, list[str]] = field(default_factory=lambda: {"item": [], "project": [], "section": []})
    live: dict[str, list[str]] = field(default_factory=lambda: {"item": [], "project": [], "section": []})
    deleted_items: set[str] = field(default_factory=set[str])
    sent: list[Sent] = field(default_factory=list[Sent])
    counter: itertools.count[int] = field(default_factory=itertools.count)

    def next(self, prefix: str) -> str:
        return f"{prefix}-{next(self.counter)}"


class RequestBuilder:
    """New commands for one request; ``expect`` holds the outcome a command must have, where it is certain."""

    def __init__(self, data: st.DataObject, model: Model, replayed: Sent | None) -> None:
        self.data = data
        self.model = model
        self.temps: dict[str, list[str]] = {"item": [], "project": [], "section": []}
        self.expect: dict[str, str] = {}
        if replayed is not None:
            # A retry re-emits the mapping of its replayed commands, so new commands may use those temp ids.
            for command in replayed.commands:
                temp_id = command.get("temp_id")
                if command["type"] in CREATES and temp_id in replayed.temp_id_mapping:
                    self.temps[CREATES[command["type"]]].append(temp_id)

    def draw(self, strategy: st.SearchStrategy[Any], label: str) -> Any:
        return self.data.draw(strategy, label=label)

    def ref(self, kind: str, gone: int = 1) -> str:
        """An id of ``kind``: mostly a live one or one created earlier in this request; sometimes one that is
        deleted or completed (``gone`` weighs those), or an id nobody has."""
        choices = ["unknown"]
        if self.model.live[kind]:
            choices += ["live"] * 5
        if self.model.ids[kind]:
            choices += ["any"] * gone
        if self.temps[kind]:
            choices += ["new"] * 4
        pick: str = self.draw(st.sampled_from(choices), f"{kind} ref")
        if pick == "unknown":
            pick = self.draw(st.sampled_from(sorted(UNKNOWN_IDS)), f"unknown {kind}")
        if pick in ("live", "any"):
            pool = self.model.live[kind] if pick == "live" else self.model.ids[kind]
            value: str = self.draw(st.sampled_from(pool), f"{pick} {kind}")
            return value
        if pick == "new":
            value = self.draw(st.sampled_from(self.temps[kind]), f"temp {kind}")
            return value
        return UNKNOWN_IDS[pick]

    def expect_for_item(self, value: str) -> str | None:
        """The outcome of a command on item ``value`` whose other arguments are well-formed."""
        if value in (UNKNOWN_DIGITS, UNKNOWN_V1) or value in self.model.deleted_items:
            return "not_found"
        if value == UNKNOWN_TEMP:
            return "temp"
        return None

    def due(self) -> Obj | None:
        due: Obj | None = self.draw(st.sampled_from(DUES), "due")
        return copy.deepcopy(due)

    def command(self) -> Obj:
        kind: str = self.draw(st.sampled_from(COMMAND_TYPES), "command type")
        uuid = self.model.next("uuid")
        args: Obj = {}
        command: Obj = {"type": kind, "uuid": uuid, "args": args}
        expect: str | None = None
        if kind == "project_add":
            args["name"] = self.draw(st.sampled_from(NAMES), "name")
            if self.draw(st.booleans(), "subproject"):
                args["parent_id"] = self.ref("project")
            else:
                expect = "ok"
        elif kind == "section_add":
            args["name"] = self.draw(st.sampled_from(NAMES), "name")
            args["project_id"] = self.ref("project")
        elif kind == "item_add":
            args["content"] = self.draw(st.sampled_from(CONTENTS), "content")
            where: str = self.draw(
                st.sampled_from(["inbox", "project", "section", "parent", "parent", "project+section"]), "where"
            )
            if "project" in where:
                args["project_id"] = self.ref("project")
            if "section" in where:
                args["section_id"] = self.ref("section")
            if where == "parent":
                args["parent_id"] = self.ref("item")
            if self.draw(st.booleans(), "with due"):
                args["due"] = self.due()
            if self.draw(st.booleans(), "with labels"):
                args["labels"] = self.draw(st.lists(st.sampled_from(LABEL_NAMES), max_size=3), "labels")
            if self.draw(st.booleans(), "with priority"):
                args["priority"] = self.draw(st.integers(1, 4), "priority")
            expect = "ok" if where == "inbox" else None
        elif kind == "item_update":
            args["id"] = self.ref("item")
            expect = self.expect_for_item(args["id"])
            fields: set[str] = self.draw(
                st.sets(st.sampled_from(["content", "priority", "labels", "due", "bad priority"]), max_size=3),
                "fields",
            )
            if "content" in fields:
                args["content"] = self.draw(st.sampled_from(CONTENTS), "content")
            if "priority" in fields:
                args["priority"] = self.draw(st.integers(1, 4), "priority")
            if "labels" in fields:
                args["labels"] = self.draw(st.lists(st.sampled_from(LABEL_NAMES), max_size=3), "labels")
            if "due" in fields:
                args["due"] = self.due()
            if "bad priority" in fields:
                args["priority"] = 99
                expect = "invalid"  # arguments are checked before the id is looked up
        elif kind == "item_move":
            args["id"] = self.ref("item")
            expect = self.expect_for_item(args["id"])
            combo: str = self.draw(
                st.sampled_from(
                    [
                        *["project", "section", "parent", "parent", "section=null", "parent=null"] * 2,
                        *["none", "two", "three"],
                    ]
                ),
                "destination",
            )
            if combo == "project":
                args["project_id"] = self.ref("project")
            elif combo == "section":
                args["section_id"] = self.ref("section")
            elif combo == "parent":
                args["parent_id"] = self.ref("item")
            elif combo == "section=null":
                args["section_id"] = None
            elif combo == "parent=null":
                args["parent_id"] = None
            else:
                if combo in ("two", "three"):
                    args["project_id"] = self.ref("project")
                    args["section_id"] = self.ref("section")
                if combo == "three":
                    args["parent_id"] = self.ref("item")
                expect = "invalid"  # exactly one destination, checked before anything else
        else:  # item_close, item_complete, item_uncomplete, item_delete
            args["id"] = self.ref("item", gone=6 if kind == "item_uncomplete" else 1)
            expect = self.expect_for_item(args["id"])
        if kind in CREATES and self.draw(st.integers(0, 9), "temp id?") > 0:
            temp_id = self.model.next("tmp")
            command["temp_id"] = temp_id
            self.temps[CREATES[kind]].append(temp_id)
        if expect is not None:
            self.expect[uuid] = expect
        return command


# ---------------------------------------------------------------------------------------------------------------------
# The client, and checks


def snapshot_of(body: Obj) -> Snapshot:
    result: Snapshot = {}
    for name in TYPES:
        objects: list[Obj] = body[name]
        by_id = {o["id"]: o for o in objects}
        assert len(by_id) == len(objects), f"{name}: the same id twice in one response: {objects}"
        result[name] = by_id
    return result


def full_state(store: SyncStore) -> Snapshot:
    body = store.sync(sync_token="*", resource_types=TYPES)
    assert body["full_sync"] is True
    return snapshot_of(body)


def merge(cache: Snapshot, body: Obj) -> None:
    """Reference §6: a full sync replaces; an incremental one upserts live objects and drops the rest."""
    for name, by_id in snapshot_of(body).items():
        if body["full_sync"]:
            cache[name] = dict(by_id)
            continue
        for object_id, obj in by_id.items():
            if obj.get("is_deleted") or (name == "items" and obj.get("checked")):
                cache[name].pop(object_id, None)
            else:
                cache[name][object_id] = obj


def check_status_shape(body: Obj, commands: list[Obj]) -> None:
    statuses: dict[str, Any] = body["sync_status"]
    assert set(statuses) == {c["uuid"] for c in commands}
    for uuid, status in statuses.items():
        if status == "ok":
            continue
        assert isinstance(status, dict), f"{uuid}: {status!r}"
        error = cast(Obj, status)
        assert set(error) == ERROR_KEYS, f"{uuid}: {error!r}"
        assert isinstance(error["error"], str) and error["error"]
        assert isinstance(error["error_code"], int)
        assert isinstance(error["error_tag"], str) and error["error_tag"]
        assert isinstance(error["http_code"], int) and 400 <= error["http_code"] < 500
        assert isinstance(error["error_extra"], dict)


def check_expected(body: Obj, expect: dict[str, str], commands: list[Obj]) -> None:
    by_uuid = {c["uuid"]: c for c in commands}
    for uuid, outcome in expect.items():
        status = body["sync_status"][uuid]
        if outcome == "ok":
            assert status == "ok", f"{by_uuid[uuid]} -> {status!r}"
            continue
        tag, http_code = EXPECTED_ERRORS[outcome]
        assert isinstance(status, dict), f"{by_uuid[uuid]} -> {status!r}, expected {tag}"
        error = cast(Obj, status)
        assert (error["error_tag"], error["http_code"]) == (tag, http_code), f"{by_uuid[uuid]} -> {error!r}"


def check_tree(state: Snapshot) -> None:
    """Live tasks sit in live projects and sections, and a subtask shares its parent's project and section."""
    items, projects, sections = state["items"], state["projects"], state["sections"]
    for section in sections.values():
        assert section["project_id"] in projects, f"section {section['id']} is in a project that is gone"
    for item in items.values():
        assert item["project_id"] in projects, f"task {item['id']} is in a project that is gone"
        if item["section_id"] is not None:
            section = sections.get(item["section_id"])
            assert section is not None, f"task {item['id']} is in a section that is gone"
            assert section["project_id"] == item["project_id"], f"task {item['id']}: section of another project"
        parent = items.get(item["parent_id"]) if item["parent_id"] is not None else None
        if parent is not None:  # a completed parent is not in a full sync
            place = (item["project_id"], item["section_id"])
            assert place == (parent["project_id"], parent["section_id"]), f"subtask {item['id']} left its parent"


def note_objects(body: Obj, kinds: dict[str, str], model: Model) -> None:
    """Every object id names one kind of object, forever; items seen deleted stay deleted."""
    for name in TYPES:
        for obj in body[name]:
            known = kinds.setdefault(obj["id"], name)
            assert known == name, f"id {obj['id']} is a {name[:-1]} and a {known[:-1]}"
            if name == "items" and obj["is_deleted"]:
                model.deleted_items.add(obj["id"])


def check_mapping(body: Obj, commands: list[Obj], replayed: Sent | None, kinds_before: dict[str, str]) -> None:
    mapping: dict[str, str] = body["temp_id_mapping"]
    statuses: dict[str, Any] = body["sync_status"]
    created = {
        c["temp_id"]: CREATES[c["type"]]
        for c in commands
        if c["type"] in CREATES and "temp_id" in c and statuses[c["uuid"]] == "ok"
    }
    assert set(mapping) == set(created), "temp_id_mapping must hold exactly the creates that succeeded"
    old = {} if replayed is None else replayed.temp_id_mapping
    fresh = [real for temp_id, real in mapping.items() if temp_id not in old]
    assert len(set(fresh)) == len(fresh), f"one id for two new objects: {mapping}"
    for temp_id, real in mapping.items():
        type_name = KIND_TO_TYPE[created[temp_id]]
        if temp_id in old:
            assert real == old[temp_id], f"replay maps {temp_id} to {real}, first time to {old[temp_id]}"
            assert kinds_before.get(real) == type_name, f"{temp_id} -> {real}: no such {type_name[:-1]}"
        else:
            assert real not in kinds_before, f"new {type_name[:-1]} {temp_id} got id {real}, already in use"
            # Created by this request, so it is in this request's incremental read (even if it is gone again).
            assert real in {o["id"] for o in body[type_name]}, f"{temp_id} -> {real}: no such {type_name[:-1]}"


# ---------------------------------------------------------------------------------------------------------------------
# The test


def exercise(store: SyncStore, data: st.DataObject) -> None:
    model = Model()
    first = store.sync(sync_token="*", resource_types=TYPES)
    cache: Snapshot = {}
    merge(cache, first)
    kinds: dict[str, str] = {}
    note_objects(first, kinds, model)
    model.ids["project"].extend(cache["projects"])  # the Inbox
    model.live["project"].extend(cache["projects"])
    token: str = first["sync_token"]

    for _ in range(data.draw(st.integers(2, 10), label="requests")):
        mode: str = "new" if not model.sent else data.draw(st.sampled_from(["new"] * 4 + ["replay", "retry"]), "mode")
        replayed: Sent | None = None if mode == "new" else data.draw(st.sampled_from(model.sent), "replayed")
        builder = RequestBuilder(data, model, replayed)
        new_count = 0 if mode == "replay" else data.draw(st.integers(1, 6), "commands")
        new_commands = [builder.command() for _ in range(new_count)]
        commands = copy.deepcopy(replayed.commands if replayed is not None else []) + new_commands
        before = full_state(store) if mode == "replay" else None
        kinds_before = dict(kinds)

        body = store.sync(commands=commands, sync_token=token, resource_types=TYPES)

        assert body["full_sync"] is False
        check_status_shape(body, commands)
        check_expected(body, builder.expect, commands)
        if replayed is not None:
            again = {uuid: body["sync_status"][uuid] for uuid in replayed.sync_status}
            assert again == replayed.sync_status, "a replayed command must answer as it did the first time"
        note_objects(body, kinds, model)
        check_mapping(body, commands, replayed, kinds_before)

        merge(cache, body)
        token = body["sync_token"]
        state = full_state(store)
        assert cache == state, "client state from incremental syncs differs from a full sync"
        check_tree(state)
        for kind, name in KIND_TO_TYPE.items():
            model.live[kind] = list(cache[name])

        if before is not None:
            assert full_state(store) == before, "replaying a request changed the state"
            assert all(body[name] == [] for name in TYPES), "replaying a request changed some objects"
            continue
        for temp_id, real in body["temp_id_mapping"].items():
            if replayed is None or temp_id not in replayed.temp_id_mapping:
                model.ids[kinds[real][:-1]].append(real)
        sync_status: dict[str, Any] = body["sync_status"]
        model.sent.append(Sent(copy.deepcopy(commands), dict(sync_status), dict(body["temp_id_mapping"])))


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@pytest.mark.slow
@given(st.data())
def test_random_requests_keep_client_ids_and_replays_consistent(data: st.DataObject) -> None:
    store = SyncStore(":memory:", now=FixedClock())
    try:
        exercise(store, data)
    finally:
        store.close()
