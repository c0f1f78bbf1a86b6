"""Pure undo: before- and after-images of a write, the conflict check, and the inverse plan.

A write's record keeps each target as it was just before (``before``) and as our write left it (``after``, the mirror's
copy once the write's own response was applied). Items are immutable pydantic objects that the mirror replaces (never
mutates), so keeping a reference is a snapshot. Undo first refreshes the mirror, then reverts only the targets that
still look the way our write left them: a field, place or state someone changed since is theirs, not ours to revert.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from tools_server.dues import duration_input, restored_due
from tools_server.plans.results import WriteResult
from tools_server.plans.tasks import Plan, Step, label_of
from tools_server.plans.undo_projects import Image, plan_object_undo
from tools_server.sync.batch import NewUuid, new_uuid4
from tools_server.sync.commands import (
    ChildOrder,
    Command,
    Due,
    DueInput,
    Item,
    ItemComplete,
    ItemCompleteArgs,
    ItemDateCompleteArgs,
    ItemDelete,
    ItemIdArgs,
    ItemMove,
    ItemMoveArgs,
    ItemReorder,
    ItemReorderArgs,
    ItemUncomplete,
    ItemUpdate,
    ItemUpdateArgs,
    ItemUpdateDateComplete,
    Reminder,
    ReminderAdd,
    ReminderAddArgs,
    ReminderDelete,
    arg_value,
)
from tools_server.sync.mirror import Mirror
from tools_server.sync.resource_types import ITEMS
from tools_server.sync.send import Outcome

WriteKind = Literal["add", "complete", "move", "update", "delete", "reopen", "comments", "projects"]
# Kinds whose undo works from object images (undo_objects) rather than task images.
OBJECT_KINDS: frozenset[WriteKind] = frozenset({"comments", "projects"})
# What an add may have set (what a cursor compares), and where a task lives: an add is undone only while none of these
# changed elsewhere.
_CONTENT_FIELDS = ITEMS.compared
_PLACE_FIELDS = ("project_id", "section_id", "parent_id")


@dataclass
class UndoRecord:
    """What one write call did, with its targets as they were before it and as it left them: enough to reverse it
    without clobbering what happened since."""

    kind: WriteKind
    before: dict[str, Item | None] = field(default_factory=dict[str, Item | None])
    after: dict[str, Item | None] = field(default_factory=dict[str, Item | None])
    done: list[str] = field(default_factory=list[str])  # ids the write confirmed, in input order
    created: list[str] = field(default_factory=list[str])  # add: new task ids whose parent is not new too
    created_all: set[str] = field(default_factory=set[str])  # add: every new task id, subtasks included
    fields: dict[str, set[str]] = field(default_factory=dict[str, set[str]])  # update: fields set per id
    projects_created: int = 0
    # comments/projects: the confirmed commands, the ids their temp ids got, and the objects as they were.
    sent: list[Command] = field(default_factory=list[Command])
    mapping: dict[str, str] = field(default_factory=dict[str, str])
    objects: dict[str, Image | None] = field(default_factory=dict[str, Image | None])
    reminders_added: list[str] = field(default_factory=list[str])  # update: new reminder ids
    reminders_removed: list[Reminder] = field(default_factory=list[Reminder])  # update: cleared reminders as they were
    orders: dict[str, int] = field(default_factory=dict[str, int])  # move with a position: child_order before
    handle: str | None = None  # its `write` id once minted, so undoing it by any route retires the handle


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


@dataclass(frozen=True)
class Reversal:
    """The inverse plan of a record, what cannot be reversed, what changed elsewhere, and how many tasks it deletes."""

    plan: Plan
    cannot: list[str]
    changed: list[str]  # "<id> (<field>)": left as they are
    removes: int = 0


def state_of(mirror: Mirror, item_id: str) -> Item | None:
    """The mirror's latest copy of a task: active, or the completed/deleted copy it last saw; None if never seen."""
    item = mirror.items.get(item_id)
    if item is not None:
        return item
    gone = mirror.gone.get(item_id)
    return gone[1] if gone is not None else None


def snapshot(mirror: Mirror, ids: list[str]) -> dict[str, Item | None]:
    """Before-images of ``ids`` and of their active subtasks (completing a parent completes them too)."""
    children = mirror.children_index()
    images: dict[str, Item | None] = {}
    for item_id in ids:
        images[item_id] = mirror.items.get(item_id)
        for child in mirror.descendants(item_id, children):
            images[child] = mirror.items.get(child)
    return images


def _status(item: Item | None) -> str:
    if item is None:
        return "unknown"
    return "deleted" if item.is_deleted else "completed" if item.checked else "open"


def _differs(after: Item | None, now: Item | None, names: Sequence[str]) -> list[str]:
    """Which of ``names`` (or the task's state) differ between what our write left and the task now."""
    if after is None:
        return []  # the write's response did not show it: nothing to compare against
    if now is None or _status(now) != _status(after):
        return [_status(now) if now is not None else "gone"]
    return [name for name in names if getattr(after, name) != getattr(now, name)]


RecurringUndo = Literal["item_update", "item_update_date_complete"]


def plan_undo(
    record: UndoRecord, mirror: Mirror, *, new_uuid: NewUuid = new_uuid4, recurring: RecurringUndo | None = None
) -> Reversal:
    """The commands that reverse ``record`` where nothing changed since, against a freshly refreshed ``mirror``
    (``recurring``: see ``RECURRING_UNDO``)."""
    steps: list[Step] = []
    cannot: list[str] = []
    changed: list[str] = []

    def add(label: str, command: Any) -> None:
        steps.append(Step(len(steps), label, command=command))

    if record.kind in OBJECT_KINDS:
        items = {k: v for k, v in record.before.items() if v is not None}
        pairs, cannot = plan_object_undo(record.sent, record.mapping, record.objects, items, mirror, new_uuid=new_uuid)
        for label, command in pairs:
            add(label, command)
        return Reversal(Plan(tuple(steps), noun="change"), cannot, [])

    def conflict(item_id: str, names: Sequence[str]) -> bool:
        differ = _differs(record.after.get(item_id), state_of(mirror, item_id), names)
        if differ:
            changed.append(f"{item_id} ({', '.join(differ)})")
        return bool(differ)

    removes = 0
    if record.kind == "reopen":
        for item_id in record.done:
            if not conflict(item_id, ()):  # completed again elsewhere (or deleted) since: leave it
                add(label_of(mirror, item_id), ItemComplete(uuid=new_uuid(), args=ItemCompleteArgs(id=item_id)))
    elif record.kind == "delete":
        cannot.append(f"{len(record.done)} deleted task(s): Todoist has no undelete")
    elif record.kind == "add":
        children = mirror.children_index()
        trees: dict[str, list[str]] = {}  # root -> the tasks of ours under it (as our write left them)
        for made in record.created_all:
            trees.setdefault(_root_of(made, record.after), []).append(made)
        for item_id in record.created:
            tree = [item_id, *mirror.descendants(item_id, children)]
            strangers = [t for t in tree if t not in record.created_all]
            if strangers:
                changed.append(f"{item_id} (has subtasks we did not create: {', '.join(strangers[:3])})")
                continue
            # add_item writes no comments, so any comment under the tree came later: deleting would take it along.
            within = set(tree)
            comments = [n.id for n in mirror.notes.values() if n.item_id in within]
            if comments:
                changed.append(f"{item_id} (has comments: {', '.join(comments[:3])})")
                continue
            if any([conflict(t, (*_CONTENT_FIELDS, *_PLACE_FIELDS)) for t in trees.get(item_id, [item_id])]):
                continue
            removes += len(tree)
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
                if conflict(item_id, ("due",)):
                    continue
                add(label, _undo_recurring_close(item_id, before.due, new_uuid, recurring or RECURRING_UNDO))
                continue
            # A completion made since (after someone reopened it) is theirs: its completed_at is not ours.
            if conflict(item_id, ("completed_at",)):
                continue
            add(label, ItemUncomplete(uuid=new_uuid(), args=ItemIdArgs(id=item_id)))
            # item_close completed its open subtasks too; reopen those (uncomplete restores ancestors, not children).
            for sub_id, sub in record.before.items():
                if (
                    sub is not None
                    and sub_id not in record.done
                    and _under(sub_id, item_id, record.before)
                    and not conflict(sub_id, ("completed_at",))
                ):
                    add(sub.content, ItemUncomplete(uuid=new_uuid(), args=ItemIdArgs(id=sub_id)))
    elif record.kind == "move":
        for item_id in reversed(record.done):
            before = record.before.get(item_id)
            if before is None or conflict(item_id, _PLACE_FIELDS):
                continue
            if before.parent_id is not None:
                where: dict[str, Any] = {"parent_id": before.parent_id}
            elif before.section_id is not None:
                where = {"section_id": before.section_id}
            else:
                where = {"project_id": before.project_id}
            now = mirror.items.get(item_id)
            if record.orders and now is not None and (now.project_id, now.section_id, now.parent_id) == (
                before.project_id, before.section_id, before.parent_id
            ):  # fmt: skip
                continue  # only reordered: the order below puts it back
            add(before.content, ItemMove(uuid=new_uuid(), args=ItemMoveArgs.model_validate({"id": item_id, **where})))
        if record.orders:
            entries = [ChildOrder(id=i, child_order=n) for i, n in record.orders.items() if i in mirror.items]
            if entries:
                add("order", ItemReorder(uuid=new_uuid(), args=ItemReorderArgs(items=entries)))
    else:  # update
        for item_id in record.done:
            before = record.before.get(item_id)
            names = sorted(record.fields.get(item_id, ()))
            if before is None or conflict(item_id, names):
                continue
            restored: dict[str, Any] = {"id": item_id}
            for name in names:
                value = _input_value(before, name)
                if value is _UNSENDABLE:
                    cannot.append(f"the {name} of {item_id} ({before.content!r}): Todoist accepts no such value")
                else:
                    restored[name] = value
            if len(restored) > 1:
                add(before.content, ItemUpdate(uuid=new_uuid(), args=ItemUpdateArgs.model_validate(restored)))
        for reminder_id in record.reminders_added:
            if reminder_id in mirror.reminders:  # deleted elsewhere since: nothing to remove
                add(f"reminder {reminder_id}", ReminderDelete(uuid=new_uuid(), args=ItemIdArgs(id=reminder_id)))
        for reminder in record.reminders_removed:
            if reminder.item_id in mirror.items:
                add(f"reminder of {label_of(mirror, reminder.item_id)}", _re_add(reminder, new_uuid))
    return Reversal(Plan(tuple(steps)), cannot, changed, removes)


def _re_add(reminder: Reminder, new_uuid: NewUuid) -> Command:
    if reminder.type == "relative":
        args = ReminderAddArgs(item_id=reminder.item_id, type="relative", minute_offset=reminder.minute_offset or 0)
    else:
        due = reminder.due
        moment = DueInput(date=due.date, timezone=due.timezone) if due is not None else None
        args = ReminderAddArgs(item_id=reminder.item_id, type="absolute", due=moment)
    return ReminderAdd(uuid=new_uuid(), temp_id=new_uuid(), args=args)


# How a recurring completion is undone: "item_update_date_complete" is the documented command (reference §3: id, due,
# is_forward 0); "item_update" (the before-image's due put back with a plain update) stays for backends without it.
RECURRING_UNDO: RecurringUndo = "item_update_date_complete"


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


def _root_of(item_id: str, images: dict[str, Item | None]) -> str:
    current = images.get(item_id)
    root = item_id
    while current is not None and current.parent_id is not None and current.parent_id in images:
        root = current.parent_id
        current = images.get(root)
    return root


def targets(commands: Sequence[Command]) -> list[str]:
    """The task id each command acts on (commands that edit an existing task all carry ``args.id``)."""
    return [str(arg_value(c.args, "id") or "") for c in commands]


def undo_record(
    kind: WriteKind,
    seen: Images,
    commands: Sequence[Command],
    result: WriteResult,
    mirror: Mirror,
    outcome: Outcome,
    *,
    objects: dict[str, Image | None] | None = None,
) -> UndoRecord:
    """What undo needs to reverse a sent write of ``kind``: its before-images, its result, and ``mirror`` as the
    write's own responses left it (the after-images), plus the reminders and order it changed; for comments and
    projects, the commands confirmed and the object images."""
    if kind in OBJECT_KINDS:
        sent = [c for c in commands if outcome.statuses.get(c.uuid) == "ok"]
        mapping = dict(outcome.temp_id_mapping)
        return UndoRecord(kind, before=dict(seen.items), sent=sent, mapping=mapping, objects=objects or {})
    record = _record(kind, seen.items, commands, result, mirror)
    for command in commands:
        if outcome.statuses.get(command.uuid) != "ok":
            continue
        if isinstance(command, ReminderAdd) and command.temp_id in outcome.temp_id_mapping:
            record.reminders_added.append(outcome.temp_id_mapping[command.temp_id])
        elif isinstance(command, ReminderDelete) and command.args.id in seen.reminders:
            record.reminders_removed.append(seen.reminders[command.args.id])
        elif isinstance(command, ItemReorder):
            record.orders.update(seen.orders)
    return record


def _record(
    kind: WriteKind, before: dict[str, Item | None], commands: Sequence[Command], result: WriteResult, mirror: Mirror
) -> UndoRecord:
    if kind == "add":
        made = [r for r in result.steps if r.status == "ok" and r.id is not None]
        ids = {r.id for r in made if r.id is not None}
        roots = [r.id for r in made if r.id is not None and r.parent_index is None]
        projects = sum(p.error_tag is None for p in result.projects or ())
        after = {i: state_of(mirror, i) for i in ids}
        return UndoRecord("add", after=after, created=roots, created_all=ids, projects_created=projects)
    done = [r.id for r in result.steps if r.status == "ok" and r.id is not None]
    record = UndoRecord(kind, before=before, done=done, after={i: state_of(mirror, i) for i in before})
    if kind == "update":
        record.fields = {
            str(c.args.id): set(c.args.model_fields_set) - {"id"} for c in commands if isinstance(c, ItemUpdate)
        }
    return record
