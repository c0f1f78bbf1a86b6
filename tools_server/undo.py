"""Pure undo: before-images, and the inverse plan of a write.

Undo works from before-images: the mirror's copy of each task just before a write. Items are immutable pydantic
objects that the mirror replaces (never mutates), so keeping a reference is a snapshot.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from tools_server.plans import Plan, Step, label_of
from tools_server.summary import WriteResult
from tools_server.sync.batch import NewUuid, new_uuid4
from tools_server.sync.mirror import Mirror
from tools_server.sync.send import Outcome
from tools_server.sync.wire import (
    Command,
    Item,
    ItemDelete,
    ItemIdArgs,
    ItemMove,
    ItemMoveArgs,
    ItemUncomplete,
    ItemUpdate,
    ItemUpdateArgs,
    arg_value,
)
from tools_server.undo_objects import Image, plan_object_undo

WriteKind = Literal["add", "complete", "move", "update", "delete", "comments", "projects"]
# Kinds whose undo works from object images (undo_objects) rather than task images.
OBJECT_KINDS: frozenset[WriteKind] = frozenset({"comments", "projects"})


@dataclass
class UndoRecord:
    """What one write call did, with the tasks as they were before it: enough to reverse it."""

    kind: WriteKind
    before: dict[str, Item | None] = field(default_factory=dict[str, Item | None])
    done: list[str] = field(default_factory=list[str])  # ids the write confirmed, in input order
    created: list[str] = field(default_factory=list[str])  # add: new task ids whose parent is not new too
    fields: dict[str, set[str]] = field(default_factory=dict[str, set[str]])  # update: fields set per id
    projects_created: int = 0
    # comments/projects: the confirmed commands, the ids their temp ids got, and the objects as they were.
    sent: list[Command] = field(default_factory=list[Command])
    mapping: dict[str, str] = field(default_factory=dict[str, str])
    objects: dict[str, Image | None] = field(default_factory=dict[str, Image | None])


def snapshot(mirror: Mirror, ids: list[str]) -> dict[str, Item | None]:
    """Before-images of ``ids`` and of their active subtasks (completing a parent completes them too)."""
    children = mirror.children_index()
    images: dict[str, Item | None] = {}
    for item_id in ids:
        images[item_id] = mirror.items.get(item_id)
        for child in mirror.descendants(item_id, children):
            images[child] = mirror.items.get(child)
    return images


def plan_undo(record: UndoRecord, mirror: Mirror, *, new_uuid: NewUuid = new_uuid4) -> tuple[Plan, list[str]]:
    """The commands that reverse ``record``, and what cannot be reversed."""
    steps: list[Step] = []
    cannot: list[str] = []

    def add(label: str, command: Any) -> None:
        steps.append(Step(len(steps), label, command=command))

    if record.kind in OBJECT_KINDS:
        items = {k: v for k, v in record.before.items() if v is not None}
        pairs, cannot = plan_object_undo(record.sent, record.mapping, record.objects, items, mirror, new_uuid=new_uuid)
        for label, command in pairs:
            add(label, command)
        return Plan(tuple(steps), noun="change"), cannot
    if record.kind == "delete":
        cannot.append(f"{len(record.done)} deleted task(s): Todoist has no undelete")
    elif record.kind == "add":
        for item_id in record.created:
            add(label_of(mirror, item_id), ItemDelete(uuid=new_uuid(), args=ItemIdArgs(id=item_id)))
        if record.projects_created:
            cannot.append(f"{record.projects_created} new project(s)/section(s) stay (delete them in Todoist)")
    elif record.kind == "complete":
        for item_id in record.done:
            before = record.before.get(item_id)
            if before is None:
                continue
            label = before.content
            if before.due is not None and before.due.is_recurring:
                args = ItemUpdateArgs.model_validate({"id": item_id, "due": before.due.as_input()})
                add(label, ItemUpdate(uuid=new_uuid(), args=args))
                continue
            add(label, ItemUncomplete(uuid=new_uuid(), args=ItemIdArgs(id=item_id)))
            # item_close completed its open subtasks too; reopen those (uncomplete restores ancestors, not children).
            for sub_id, sub in record.before.items():
                if sub is not None and sub_id not in record.done and _under(sub_id, item_id, record.before):
                    add(sub.content, ItemUncomplete(uuid=new_uuid(), args=ItemIdArgs(id=sub_id)))
    elif record.kind == "move":
        for item_id in reversed(record.done):
            before = record.before.get(item_id)
            if before is None:
                continue
            if before.parent_id is not None:
                where: dict[str, Any] = {"parent_id": before.parent_id}
            elif before.section_id is not None:
                where = {"section_id": before.section_id}
            else:
                where = {"project_id": before.project_id}
            add(before.content, ItemMove(uuid=new_uuid(), args=ItemMoveArgs.model_validate({"id": item_id, **where})))
    else:  # update
        for item_id in record.done:
            before = record.before.get(item_id)
            if before is None:
                continue
            old: dict[str, Any] = before.model_dump(mode="json")
            if before.due is not None:
                old["due"] = before.due.as_input()
            restored: dict[str, Any] = {"id": item_id}
            for name in sorted(record.fields.get(item_id, ())):
                restored[name] = old.get(name)
            add(before.content, ItemUpdate(uuid=new_uuid(), args=ItemUpdateArgs.model_validate(restored)))
    return Plan(tuple(steps)), cannot


def _under(item_id: str, ancestor: str, images: dict[str, Item | None]) -> bool:
    current = images.get(item_id)
    while current is not None and current.parent_id is not None:
        if current.parent_id == ancestor:
            return True
        current = images.get(current.parent_id)
    return False


def targets(commands: Sequence[Command]) -> list[str]:
    """The task id each command acts on (commands that edit an existing task all carry ``args.id``)."""
    return [str(arg_value(c.args, "id") or "") for c in commands]


def undo_record(
    kind: WriteKind,
    before: dict[str, Item | None],
    commands: Sequence[Command],
    result: WriteResult,
    *,
    outcome: Outcome | None = None,
    objects: dict[str, Image | None] | None = None,
) -> UndoRecord:
    """What undo needs to reverse a sent write of ``kind``, from its before-images and its result."""
    if kind in OBJECT_KINDS and outcome is not None:
        sent = [c for c in commands if outcome.statuses.get(c.uuid) == "ok"]
        mapping = dict(outcome.temp_id_mapping)
        return UndoRecord(kind, before=before, sent=sent, mapping=mapping, objects=objects or {})
    if kind == "add":
        roots = [r.id for r in result.steps if r.status == "ok" and r.id is not None and r.parent_index is None]
        made = sum(p.error_tag is None for p in result.projects or ())
        return UndoRecord("add", created=roots, projects_created=made)
    done = [r.id for r in result.steps if r.status == "ok" and r.id is not None]
    record = UndoRecord(kind, before=before, done=done)
    if kind == "update":
        record.fields = {
            target: set(c.args.model_fields_set) - {"id"} for target, c in zip(targets(commands), commands, strict=True)
        }
    return record
