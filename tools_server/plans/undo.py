"""Pure: what a write keeps so that it can be undone, its undo record (reversed by plans/reversal.py).

A write's record keeps each target as it was just before (``before``) and as our write left it (``after``, the mirror's
copy once the write's own response was applied). Mirrored objects are immutable and replaced, never mutated, so keeping
a reference is a snapshot. Undo first refreshes the mirror, then reverts only the targets that still look the way our
write left them: a field, place or state someone changed since is theirs, not ours to revert.

What a record keeps follows the undo recipes the commands' declarations name (sync/facts.py): the fields an update set,
the reminders added and removed, the orders a reorder changed. A task write keeps ids and images, not its commands;
a comment or project write keeps its confirmed commands and the images of what they touched.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from tools_server.plans.results import WriteResult
from tools_server.plans.undo_commands import Image as Image
from tools_server.plans.undo_commands import after_images, command_images
from tools_server.sync.commands import (
    Command,
    Item,
    ItemAdd,
    ItemClose,
    ItemDelete,
    ItemMove,
    ItemReorder,
    ItemUncomplete,
    ItemUpdate,
    Reminder,
    ReminderAdd,
    ReminderDelete,
    SyncCommand,
    facts_of,
    target_of,
    touched_ids,
)
from tools_server.sync.facts import (
    DeleteAdded,
    NoUndo,
    ReAdd,
    ReorderBack,
    RestoreFields,
)
from tools_server.sync.mirror import Mirror
from tools_server.sync.resource_types import ITEMS, REMINDERS, RESOURCE_TYPES
from tools_server.sync.send import Outcome

WriteKind = Literal["add", "complete", "move", "update", "delete", "reopen", "comments", "projects"]
# Kinds whose undo works command by command from object images rather than from task images.
OBJECT_KINDS: frozenset[WriteKind] = frozenset({"comments", "projects"})


@dataclass(frozen=True)
class TaskWrite:
    """The command a task write sends per task, and those it sends beside it (reversed after it, in this order)."""

    sends: type[SyncCommand[Any]]
    also: tuple[type[SyncCommand[Any]], ...] = ()


# add_item's new projects and sections are not here: its record keeps only how many were made, and they stay. Its
# reminders are not either: deleting a task takes its reminders along.
TASK_WRITES: Mapping[WriteKind, TaskWrite] = MappingProxyType(
    {
        "add": TaskWrite(ItemAdd),
        "complete": TaskWrite(ItemClose),
        "move": TaskWrite(ItemMove, also=(ItemReorder,)),
        "update": TaskWrite(ItemUpdate, also=(ReminderAdd, ReminderDelete)),
        "delete": TaskWrite(ItemDelete),
        "reopen": TaskWrite(ItemUncomplete),
    }
)
# Task writes whose undo compares the tasks with how they were: all but those that only add or cannot be undone.
_WITH_IMAGES = frozenset(k for k, w in TASK_WRITES.items() if not isinstance(w.sends.facts.undo, DeleteAdded | NoUndo))


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
    # comments/projects: the objects as the write left them (those it touched or made), what undo compares with now.
    objects_after: dict[str, Image | None] = field(default_factory=dict[str, Image | None])
    reminders_added: list[str] = field(default_factory=list[str])  # update: new reminder ids
    reminders_removed: list[Reminder] = field(default_factory=list[Reminder])  # update: cleared reminders as they were
    reminders_after: dict[str, Reminder] = field(default_factory=dict[str, Reminder])  # added ones, as left
    orders: dict[str, int] = field(default_factory=dict[str, int])  # move with a position: child_order before
    handle: str | None = None  # its `write` id once minted, so undoing it by any route retires the handle


@dataclass
class Images:
    """The mirror's copies, just before a write, of what its undo may need."""

    items: dict[str, Item | None] = field(default_factory=dict[str, Item | None])
    reminders: dict[str, Reminder] = field(default_factory=dict[str, Reminder])
    orders: dict[str, int] = field(default_factory=dict[str, int])
    objects: dict[str, Image | None] = field(default_factory=dict[str, Image | None])


def images(kind: WriteKind, mirror: Mirror, commands: Sequence[Command]) -> Images:
    """What a write of ``kind`` needs to keep of the mirror before it sends ``commands``."""
    if kind in OBJECT_KINDS:
        objects, tasks = command_images(mirror, commands)
        return Images(items=dict[str, Item | None](tasks), objects=objects)
    targets = [t for c in commands if (t := target_of(c))]
    found = Images(items=snapshot(mirror, targets) if kind in _WITH_IMAGES else {})
    for sent in commands:
        undo, table = facts_of(sent).undo, getattr(mirror, RESOURCE_TYPES[facts_of(sent).on].table)
        if isinstance(undo, ReAdd):
            target = target_of(sent)
            if target is not None and target in table:
                found.reminders[target] = table[target]
        elif isinstance(undo, ReorderBack):
            for object_id in touched_ids(sent):
                before = table.get(object_id)
                if before is not None:
                    found.orders[object_id] = getattr(before, undo.order)
    return found


def state_of(mirror: Mirror, item_id: str) -> Item | None:
    """The mirror's latest copy of a task: active, or the completed/deleted copy it last saw; None if never seen."""
    item = mirror.items.get(item_id)
    if item is not None:
        return item
    gone = mirror.gone.get(item_id)
    return gone[1] if gone is not None else None


def snapshot(mirror: Mirror, ids: list[str]) -> dict[str, Item | None]:
    """Before-images of ``ids`` and of their active subtasks (completing a parent completes them too)."""
    images: dict[str, Item | None] = {}
    for item_id in ids:
        images[item_id] = mirror.items.get(item_id)
        for child in mirror.descendants(item_id):
            images[child] = mirror.items.get(child)
    return images


def reversible(record: UndoRecord) -> bool:
    """Whether undo can reverse anything of ``record`` (a write that only deletes gets no handle)."""
    write = TASK_WRITES.get(record.kind)
    if write is not None and isinstance(write.sends.facts.undo, NoUndo):
        return False
    return bool(record.done or record.created or record.sent)


def undo_record(
    kind: WriteKind,
    seen: Images,
    commands: Sequence[Command],
    result: WriteResult,
    mirror: Mirror,
    outcome: Outcome,
) -> UndoRecord:
    """What undo needs to reverse a sent write of ``kind``: its before-images, its result, and ``mirror`` as the
    write's own responses left it (the after-images), plus the reminders and order it changed; for comments and
    projects, the commands confirmed and the object images."""
    if kind in OBJECT_KINDS:
        sent = [c for c in commands if outcome.statuses.get(c.uuid) == "ok"]
        mapping = dict(outcome.temp_id_mapping)
        after = after_images(mirror, sent, mapping)
        return UndoRecord(
            kind, before=dict(seen.items), sent=sent, mapping=mapping, objects=seen.objects, objects_after=after
        )
    record = _record(kind, seen.items, commands, result, mirror)
    for sent in commands:
        facts = facts_of(sent)
        if outcome.statuses.get(sent.uuid) != "ok":
            continue
        if isinstance(facts.undo, DeleteAdded) and facts.on == REMINDERS.name:
            if sent.temp_id in outcome.temp_id_mapping:
                reminder_id = outcome.temp_id_mapping[sent.temp_id]
                record.reminders_added.append(reminder_id)
                if reminder_id in mirror.reminders:
                    record.reminders_after[reminder_id] = mirror.reminders[reminder_id]
        elif isinstance(facts.undo, ReAdd):
            target = target_of(sent)
            if target is not None and target in seen.reminders:
                record.reminders_removed.append(seen.reminders[target])
        elif isinstance(facts.undo, ReorderBack):
            # The siblings as the reorder left them too: undo puts their order back only while it still is ours.
            record.orders.update(seen.orders)
            record.after.update({i: state_of(mirror, i) for i in seen.orders if i not in record.after})
    return record


def _record(
    kind: WriteKind, before: dict[str, Item | None], commands: Sequence[Command], result: WriteResult, mirror: Mirror
) -> UndoRecord:
    if isinstance(TASK_WRITES[kind].sends.facts.undo, DeleteAdded):
        # A write that adds tasks keeps what it made (as its responses left it), with no before-images.
        made = [r for r in result.steps if r.status == "ok" and r.id is not None]
        ids = {r.id for r in made if r.id is not None}
        roots = [r.id for r in made if r.id is not None and r.parent_index is None]
        projects = sum(p.error_tag is None for p in result.projects or ())
        after = {i: state_of(mirror, i) for i in ids}
        return UndoRecord(kind, after=after, created=roots, created_all=ids, projects_created=projects)
    done = [r.id for r in result.steps if r.status == "ok" and r.id is not None]
    record = UndoRecord(kind, before=before, done=done, after={i: state_of(mirror, i) for i in before})
    if isinstance(TASK_WRITES[kind].sends.facts.undo, RestoreFields):
        # The fields each update set, which undo puts back.
        updates = [c for c in commands if facts_of(c).on == ITEMS.name and isinstance(facts_of(c).undo, RestoreFields)]
        record.fields = {str(target_of(c)): set(c.args.model_fields_set) - {"id"} for c in updates}
    return record
