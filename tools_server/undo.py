"""Pure undo: before-images, and the inverse plan of a write.

Undo works from before-images: the mirror's copy of each task just before a write. Items are immutable pydantic
objects that the mirror replaces (never mutates), so keeping a reference is a snapshot.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from tools_server.dues import duration_input, restored_due
from tools_server.plans import Plan, Step, label_of
from tools_server.summary import WriteResult
from tools_server.sync.batch import NewUuid, new_uuid4
from tools_server.sync.mirror import Mirror
from tools_server.sync.wire import (
    Command,
    Due,
    Item,
    ItemDateCompleteArgs,
    ItemDelete,
    ItemIdArgs,
    ItemMove,
    ItemMoveArgs,
    ItemUncomplete,
    ItemUpdate,
    ItemUpdateArgs,
    ItemUpdateDateComplete,
    arg_value,
)

WriteKind = Literal["add", "complete", "move", "update", "delete"]


@dataclass
class UndoRecord:
    """What one write call did, with the tasks as they were before it: enough to reverse it."""

    kind: WriteKind
    before: dict[str, Item | None] = field(default_factory=dict[str, Item | None])
    done: list[str] = field(default_factory=list[str])  # ids the write confirmed, in input order
    created: list[str] = field(default_factory=list[str])  # add: new task ids whose parent is not new too
    fields: dict[str, set[str]] = field(default_factory=dict[str, set[str]])  # update: fields set per id
    projects_created: int = 0


def snapshot(mirror: Mirror, ids: list[str]) -> dict[str, Item | None]:
    """Before-images of ``ids`` and of their active subtasks (completing a parent completes them too)."""
    children = mirror.children_index()
    images: dict[str, Item | None] = {}
    for item_id in ids:
        images[item_id] = mirror.items.get(item_id)
        for child in mirror.descendants(item_id, children):
            images[child] = mirror.items.get(child)
    return images


RecurringUndo = Literal["item_update", "item_update_date_complete"]


def plan_undo(
    record: UndoRecord, mirror: Mirror, *, new_uuid: NewUuid = new_uuid4, recurring: RecurringUndo | None = None
) -> tuple[Plan, list[str]]:
    """The commands that reverse ``record``, and what cannot be reversed (``recurring``: see ``RECURRING_UNDO``)."""
    steps: list[Step] = []
    cannot: list[str] = []

    def add(label: str, command: Any) -> None:
        steps.append(Step(len(steps), label, command=command))

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
                add(label, _undo_recurring_close(item_id, before.due, new_uuid, recurring or RECURRING_UNDO))
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
            restored: dict[str, Any] = {"id": item_id}
            for name in sorted(record.fields.get(item_id, ())):
                value = _input_value(before, name)
                if value is _UNSENDABLE:
                    cannot.append(f"the {name} of {item_id} ({before.content!r}): Todoist accepts no such value")
                else:
                    restored[name] = value
            if len(restored) > 1:
                add(before.content, ItemUpdate(uuid=new_uuid(), args=ItemUpdateArgs.model_validate(restored)))
    return Plan(tuple(steps)), cannot


# How a recurring completion is undone. "item_update_date_complete" is the documented command (reference §3: id, due,
# is_forward 0); "item_update" puts the before-image's due back with a plain update, which every backend this server
# talks to handles today. Switch once the local backend handles item_update_date_complete (branch `commands`).
RECURRING_UNDO: RecurringUndo = "item_update"


def _undo_recurring_close(item_id: str, due: Due, new_uuid: NewUuid, how: RecurringUndo) -> Command:
    """The command that puts a recurring task's due back to the occurrence an item_close moved it past."""
    restored = restored_due(due)
    if how == "item_update_date_complete":
        args = ItemDateCompleteArgs.model_validate({"id": item_id, "due": restored, "is_forward": 0})
        return ItemUpdateDateComplete(uuid=new_uuid(), args=args)
    return ItemUpdate(uuid=new_uuid(), args=ItemUpdateArgs.model_validate({"id": item_id, "due": restored}))


_UNSENDABLE = object()


def _input_value(before: Item, name: str) -> Any:
    """A field of a before-image in the shape an item_update takes (null clears it), or _UNSENDABLE."""
    if name == "due":
        return restored_due(before.due) if before.due is not None else None
    if name == "deadline":
        return {"date": before.deadline.date} if before.deadline is not None else None
    if name == "duration":
        if before.duration is None:
            return None
        sendable = duration_input(before.duration)
        return sendable if sendable is not None else _UNSENDABLE
    return getattr(before, name)


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
    kind: WriteKind, before: dict[str, Item | None], commands: Sequence[Command], result: WriteResult
) -> UndoRecord:
    """What undo needs to reverse a sent write of ``kind``, from its before-images and its result."""
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
