"""The mirrored resource types, declared once: requested, read, kept and compared as their declarations say."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from tools_server.cursors.view import View, diff
from tools_server.sync.mirror import Mirror
from tools_server.sync.resource_types import MIRRORED_RESOURCE_TYPES, RESOURCE_TYPES
from tools_server.sync.responses import read_response

# One minimal object per declared type, as a backend sends it.
SAMPLES: dict[str, dict[str, Any]] = {
    "items": {"id": "T1", "content": "task", "project_id": "P1"},
    "projects": {"id": "P1", "name": "Work"},
    "sections": {"id": "S1", "name": "Now", "project_id": "P1"},
    "labels": {"id": "L1", "name": "home"},
    "notes": {"id": "N1", "content": "on a task", "item_id": "T1"},
    "project_notes": {"id": "N2", "content": "on a project", "project_id": "P1"},
    "reminders": {"id": "R1", "item_id": "T1", "type": "relative", "minute_offset": 5},
    "reminders_location": {"id": "R2", "item_id": "T1", "type": "location", "name": "Office"},
    "filters": {"id": "F1", "name": "Important", "query": "priority 1"},
    "collaborators": {"id": "2671362", "email": "you@example.com", "full_name": "Example Friend"},
    # Todoist gives a membership no id: the record's id is its project and user ids.
    "collaborator_states": {"project_id": "P1", "user_id": "2671362", "state": "active", "is_deleted": False},
}


def _id(name: str) -> str:
    sample = SAMPLES[name]
    return sample["id"] if "id" in sample else f"{sample['project_id']}:{sample['user_id']}"


def _mirror(body: dict[str, Any]) -> Mirror:
    mirror = Mirror()
    mirror.apply(read_response(json.dumps({"sync_token": "s1", "full_sync": True, **body})))
    return mirror


def test_every_declared_type_is_requested_read_and_kept_in_its_mirror_table() -> None:
    assert set(SAMPLES) == set(RESOURCE_TYPES)
    assert list(MIRRORED_RESOURCE_TYPES) == [*RESOURCE_TYPES, "user"]
    response = read_response(json.dumps({"sync_token": "s1", **{name: [obj] for name, obj in SAMPLES.items()}}))
    mirror = Mirror()
    mirror.apply(response)
    for name, kind in RESOURCE_TYPES.items():
        [read] = getattr(response, name)
        assert isinstance(read, kind.record) and read.id == _id(name)
        assert getattr(mirror, kind.table)[read.id] == read


def test_an_unreadable_object_is_skipped_by_its_types_singular_name(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    bad = {name: [{**obj, "id" if "id" in obj else "user_id": ["not", "an", "id"]}] for name, obj in SAMPLES.items()}
    read_response(json.dumps({"sync_token": "s1", **bad}))
    skipped = {r.getMessage().split(" id=")[0] for r in caplog.records}
    assert skipped == {f"Sync response: skipped unreadable {kind.singular}" for kind in RESOURCE_TYPES.values()}
    assert "Sync response: skipped unreadable project note" in skipped


def test_a_full_list_of_task_comments_keeps_the_project_comments_of_the_shared_table() -> None:
    mirror = _mirror({"notes": [SAMPLES["notes"]], "project_notes": [SAMPLES["project_notes"]]})
    mirror.apply(read_response(json.dumps({"sync_token": "s2", "full_sync": True, "notes": []})))
    assert set(mirror.notes) == {"N2"}
    mirror.apply(read_response(json.dumps({"sync_token": "s3", "full_sync": True, "project_notes": []})))
    assert mirror.notes == {}


def test_an_archived_object_moves_to_its_types_archive_table_and_back() -> None:
    mirror = _mirror({"projects": [SAMPLES["projects"]], "sections": [SAMPLES["sections"]]})
    archived = {"projects": [{**SAMPLES["projects"], "is_archived": True}]}
    mirror.apply(read_response(json.dumps({"sync_token": "s2", **archived})))
    assert "P1" not in mirror.projects and "P1" in mirror.archived_projects
    assert mirror.sections == {}  # an archived project's sections leave with it, as from a full sync
    mirror.apply(read_response(json.dumps({"sync_token": "s3", "projects": [SAMPLES["projects"]]})))
    assert "P1" in mirror.projects and mirror.archived_projects == {}


def test_a_cursor_reports_a_change_only_in_a_field_its_type_declares_compared() -> None:
    mirror = _mirror({name: [obj] for name, obj in SAMPLES.items()})
    view = View()
    view.refresh(mirror)
    quiet = {"projects": [{**SAMPLES["projects"], "updated_at": "2026-11-23T10:00:00Z"}]}
    mirror.apply(read_response(json.dumps({"sync_token": "s2", **quiet})))
    assert diff(view, mirror) == []
    renamed = {"labels": [{**SAMPLES["labels"], "name": "house"}], "project_notes": [SAMPLES["project_notes"]]}
    mirror.apply(read_response(json.dumps({"sync_token": "s3", **renamed})))
    assert [(c.kind, c.of, c.id) for c in diff(view, mirror)] == [("updated", "label", "L1")]


def test_a_full_list_of_time_reminders_keeps_the_location_reminders_of_the_shared_table() -> None:
    mirror = _mirror({"reminders": [SAMPLES["reminders"]], "reminders_location": [SAMPLES["reminders_location"]]})
    mirror.apply(read_response(json.dumps({"sync_token": "s2", "full_sync": True, "reminders": []})))
    assert set(mirror.reminders) == {"R2"} and mirror.reminders["R2"].name == "Office"
    mirror.apply(read_response(json.dumps({"sync_token": "s3", "full_sync": True, "reminders_location": []})))
    assert mirror.reminders == {}


def test_collaborators_and_memberships_read_as_todoist_sends_them_and_a_removed_member_leaves() -> None:
    # Todoist's documented shapes (DS 10): a zone written "GMT +3:00", image_id null, memberships without an id.
    friend = {"id": "2671362", "email": "you@example.com", "full_name": "Example Friend", "timezone": "GMT +3:00",
              "image_id": None}  # fmt: skip
    invitee = {"id": "2671363", "email": "new@example.com", "full_name": "new", "timezone": "UTC", "image_id": None}
    states = [
        {"project_id": "P1", "user_id": "2671362", "state": "active", "is_deleted": False},
        {"project_id": "P1", "user_id": "2671363", "state": "invited", "is_deleted": False},
    ]
    mirror = _mirror({"projects": [SAMPLES["projects"]], "collaborators": [friend, invitee],
                      "collaborator_states": states})  # fmt: skip
    assert [(c.full_name, c.email) for c in mirror.members("P1")] == [
        ("Example Friend", "you@example.com"),
        ("new", "new@example.com"),
    ]
    assert mirror.person("2671362") == "Example Friend"
    removed = {"sync_token": "s2", "collaborator_states": [{**states[1], "is_deleted": True}]}
    mirror.apply(read_response(json.dumps(removed)))
    assert [c.id for c in mirror.members("P1")] == ["2671362"]
