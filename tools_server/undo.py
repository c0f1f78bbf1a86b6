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
    ChildOrder,
    Command,
    DueInput,
    Item,
    ItemComplete,
    ItemCompleteArgs,
    ItemDelete,
    ItemIdArgs,
    ItemMove,
    ItemMoveArgs,
    ItemReorder,
    ItemReorderArgs,
    ItemUncomplete,
    ItemUpdate,
    ItemUpdateArgs,
    Reminder,
    ReminderAdd,
    ReminderAddArgs,
    ReminderDelete,
    arg_value,
)

WriteKind = Literal["add", "complete", "move", "update", "delete", "reopen"]


@dataclass
class UndoRecord:
    """What one write call did, with the tasks as they were before it: enough to reverse it."""

    kind: WriteKind
    before: dict[str, Item | None] = field(default_factory=dict[str, Item | None])
    done: list[str] = field(default_factory=list[str])  # ids the write confirmed, in input order
    created: list[str] = field(default_factory=list[str])  # add: new task ids whose parent is not new too
    fields: dict[str, set[str]] = field(default_factory=dict[str, set[str]])  # update: fields set per id
    projects_created: int = 0
    reminders_added: list[str] = field(default_factory=list[str])  # update: new reminder ids
    reminders_removed: list[Reminder] = field(default_factory=list[Reminder])  # update: cleared reminders as they were
    orders: dict[str, int] = field(default_factory=dict[str, int])  # move with a position: child_order before


@dataclass
class Images:
    """The mirror's copies, just before a write, of what it may change."""

    items: dict[str, Item | None] = field(default_factory=dict[str, Item | None])
    reminders: dict[str, Reminder] = field(default_factory=dict[str, Reminder])
    orders: dict[str, int] = field(default_factory=dict[str, int])


def images(mirror: Mirror, commands: Sequence[Command], with_items: bool) -> Images:
    found = Images(items=snapshot(mirror, [t for t in targets(commands) if t]) if with_items else {})
    for command in commands:
        if isinstance(command, ReminderDelete) and command.args.id in mirror.reminders:
            found.reminders[command.args.id] = mirror.reminders[command.args.id]
        if isinstance(command, ItemReorder):
            for entry in command.args.items:
                item = mirror.items.get(entry.id)
                if item is not None:
                    found.orders[entry.id] = item.child_order
    return found


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

    if record.kind == "reopen":
        for item_id in record.done:
            add(label_of(mirror, item_id), ItemComplete(uuid=new_uuid(), args=ItemCompleteArgs(id=item_id)))
    elif record.kind == "delete":
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
            now = mirror.items.get(item_id)
            if now is not None and (now.project_id, now.section_id, now.parent_id) == (
                before.project_id, before.section_id, before.parent_id
            ):  # fmt: skip
                continue  # only reordered: the order below puts it back
            add(before.content, ItemMove(uuid=new_uuid(), args=ItemMoveArgs.model_validate({"id": item_id, **where})))
        if record.orders:
            entries = [ChildOrder(id=i, child_order=n) for i, n in record.orders.items()]
            steps.append(
                Step(len(steps), "order", command=ItemReorder(uuid=new_uuid(), args=ItemReorderArgs(items=entries)))
            )
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
            if len(restored) > 1:
                add(before.content, ItemUpdate(uuid=new_uuid(), args=ItemUpdateArgs.model_validate(restored)))
        for reminder_id in record.reminders_added:
            add(f"reminder {reminder_id}", ReminderDelete(uuid=new_uuid(), args=ItemIdArgs(id=reminder_id)))
        for reminder in record.reminders_removed:
            add(f"reminder of {label_of(mirror, reminder.item_id)}", _re_add(reminder, new_uuid))
    return Plan(tuple(steps)), cannot


def _re_add(reminder: Reminder, new_uuid: NewUuid) -> Command:
    if reminder.type == "relative":
        args = ReminderAddArgs(item_id=reminder.item_id, type="relative", minute_offset=reminder.minute_offset or 0)
    else:
        due = reminder.due
        moment = DueInput(date=due.date, timezone=due.timezone) if due is not None else None
        args = ReminderAddArgs(item_id=reminder.item_id, type="absolute", due=moment)
    return ReminderAdd(uuid=new_uuid(), temp_id=new_uuid(), args=args)


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
    kind: WriteKind, seen: Images, commands: Sequence[Command], result: WriteResult, outcome: Outcome
) -> UndoRecord:
    """What undo needs to reverse a sent write of ``kind``, from its before-images and its result."""
    record = _record(kind, seen.items, commands, result)
    confirmed = {c.uuid for c in commands if outcome.statuses.get(c.uuid) == "ok"}
    for command in commands:
        if command.uuid not in confirmed:
            continue
        if isinstance(command, ReminderAdd) and command.temp_id in outcome.temp_id_mapping:
            record.reminders_added.append(outcome.temp_id_mapping[command.temp_id])
        elif isinstance(command, ReminderDelete) and command.args.id in seen.reminders:
            record.reminders_removed.append(seen.reminders[command.args.id])
        elif isinstance(command, ItemReorder):
            record.orders.update(seen.orders)
    return record


def _record(
    kind: WriteKind, before: dict[str, Item | None], commands: Sequence[Command], result: WriteResult
) -> UndoRecord:
    if kind == "add":
        roots = [r.id for r in result.steps if r.status == "ok" and r.id is not None and r.parent_index is None]
        made = sum(p.error_tag is None for p in result.projects or ())
        return UndoRecord("add", created=roots, projects_created=made)
    done = [r.id for r in result.steps if r.status == "ok" and r.id is not None]
    record = UndoRecord(kind, before=before, done=done)
    if kind == "update":
        record.fields = {
            str(c.args.id): set(c.args.model_fields_set) - {"id"} for c in commands if isinstance(c, ItemUpdate)
        }
    return record
