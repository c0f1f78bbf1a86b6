"""Undo follows the recipe each command's declaration names: pure plans against a mirror, no backend."""

from __future__ import annotations

import itertools
from typing import Any

from tools_server.plans.reversal import plan_undo
from tools_server.plans.undo import UndoRecord, WriteKind, images
from tools_server.sync.commands import (
    COMMAND_ADAPTER,
    Command,
    Item,
    Label,
    Project,
    Section,
    SyncResponse,
)
from tools_server.sync.mirror import Mirror


def _mirror() -> Mirror:
    mirror = Mirror()
    projects = [
        Project(id="P1", name="Work", child_order=3),
        Project(id="P2", name="Sub", parent_id="P1", child_order=1),
        Project(id="P3", name="Deep", parent_id="P2", child_order=2),
    ]
    tasks = [Item(id="T1", content="report", section_id="S1", project_id="P1", labels=("home",))]
    sections = [Section(id="S1", name="Now", project_id="P1", section_order=4)]
    mirror.apply(SyncResponse("s1", full_sync=True, items=tasks, projects=projects, sections=sections,
                              labels=[Label(id="L1", name="home")]))  # fmt: skip
    return mirror


def _sent(*commands: dict[str, Any]) -> list[Command]:
    return [COMMAND_ADAPTER.validate_python({"uuid": f"u{n}", **c}) for n, c in enumerate(commands)]


def _undo(kind: WriteKind, mirror: Mirror, sent: list[Command], mapping: dict[str, str] | None = None) -> Any:
    seen = images(kind, mirror, sent)
    record = UndoRecord(kind, before=seen.items, sent=sent, mapping=mapping or {}, objects=seen.objects)
    uuids = (f"v{n}" for n in itertools.count())
    reversal = plan_undo(record, mirror, new_uuid=lambda: next(uuids))
    steps = [(s.label, s.command.to_wire() if s.command else None) for s in reversal.plan.steps]
    return steps, [*reversal.cannot, *reversal.changed]


def _order(project_id: str, child_order: int) -> dict[str, Any]:
    return {"id": project_id, "child_order": child_order}


def test_a_project_archive_is_undone_with_its_sub_projects_put_back_under_their_parents_in_their_order() -> None:
    mirror = _mirror()
    steps, cannot = _undo("projects", mirror, _sent({"type": "project_archive", "args": {"id": "P1"}}))
    assert [(label, wire["type"], wire["args"]) for label, wire in steps] == [
        ("Work", "project_unarchive", {"id": "P1"}),
        ("Sub", "project_unarchive", {"id": "P2"}),
        ("Deep", "project_unarchive", {"id": "P3"}),
        ("Sub", "project_move", {"id": "P2", "parent_id": "P1"}),
        ("Deep", "project_move", {"id": "P3", "parent_id": "P2"}),
        ("Work", "project_reorder", {"projects": [_order("P1", 3), _order("P2", 1), _order("P3", 2)]}),
    ]
    assert cannot == []


def test_a_section_archive_is_undone_and_the_tasks_it_completed_are_reopened() -> None:
    mirror = _mirror()
    steps, _ = _undo("projects", mirror, _sent({"type": "section_archive", "args": {"id": "S1"}}))
    assert [(label, wire["type"], wire["args"]) for label, wire in steps] == [
        ("Now", "section_unarchive", {"id": "S1"}),
        ("report", "item_uncomplete", {"id": "T1"}),
    ]


def test_an_added_label_is_deleted_again_only_while_no_task_has_it() -> None:
    mirror = _mirror()
    sent = _sent({"type": "label_add", "temp_id": "t1", "args": {"name": "home"}},
                 {"type": "label_add", "temp_id": "t2", "args": {"name": "fresh"}})  # fmt: skip
    steps, cannot = _undo("projects", mirror, sent, {"t1": "L9", "t2": "L8"})
    assert [(label, wire["type"], wire["args"]) for label, wire in steps] == [("fresh", "label_delete", {"id": "L8"})]
    assert cannot == ["L9 (label 'home' holds what was added since: T1)"]


def test_a_move_and_an_update_are_put_back_from_the_before_images_and_a_deletion_is_said() -> None:
    mirror = _mirror()
    sent = _sent(
        {"type": "section_move", "args": {"id": "S1", "project_id": "P2"}},
        {"type": "project_update", "args": {"id": "P2", "name": "Renamed", "color": "red"}},
        {"type": "note_delete", "args": {"id": "N1"}},
    )
    steps, cannot = _undo("projects", mirror, sent)
    assert [(label, wire["type"], wire["args"]) for label, wire in steps] == [
        ("Sub", "project_update", {"id": "P2", "name": "Sub", "color": "charcoal"}),
        ("Now", "section_move", {"id": "S1", "project_id": "P1"}),
        ("Now", "section_reorder", {"sections": [{"id": "S1", "section_order": 4}]}),
    ]
    assert cannot == ["1 deletion(s): Todoist has no undelete"]


def test_a_task_write_that_only_deletes_says_so_and_keeps_nothing_to_revert() -> None:
    mirror = _mirror()
    record = UndoRecord("delete", done=["T1", "T2"])
    reversal = plan_undo(record, mirror)
    assert reversal.plan.steps == () and reversal.cannot == ["2 deleted task(s): Todoist has no undelete"]
