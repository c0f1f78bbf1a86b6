"""Pure: the inverse plan of a write's undo record, where nothing changed since (see plans/undo.py for the record).

Each change is reversed by the undo recipe its command's declaration names (sync/facts.py). A task write's record keeps
ids and images rather than its commands, so it is reversed through the commands its kind sends (``TASK_WRITES``), each
recipe reading what the record keeps for it; comment and project writes keep their commands and are reversed one by
one (plans/undo_commands.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tools_server.dues import duration_input, restored_due
from tools_server.plans.plan import Plan, Step
from tools_server.plans.tasks import label_of
from tools_server.plans.unchanged import differing, shown, strangers
from tools_server.plans.undo import OBJECT_KINDS, TASK_WRITES, UndoRecord, state_of
from tools_server.plans.undo_commands import plan_command_undo
from tools_server.sync.batch import NewUuid, new_uuid4
from tools_server.sync.commands import (
    ARGS_MODELS,
    Command,
    Due,
    DueInput,
    Item,
    Reminder,
    ReminderAdd,
    ReminderAddArgs,
    command,
    kind_of,
)
from tools_server.sync.facts import (
    DeleteAdded,
    Facts,
    Inverse,
    MoveBack,
    NoUndo,
    ReAdd,
    ReorderBack,
    RestoreFields,
    Unchanged,
)
from tools_server.sync.mirror import Mirror
from tools_server.sync.resource_types import REMINDERS, RESOURCE_TYPES


@dataclass(frozen=True)
class Reversal:
    """The inverse plan of a record, what cannot be reversed, what changed elsewhere, and how many tasks it deletes."""

    plan: Plan
    cannot: list[str]
    changed: list[str]  # "<id> (<field>)": left as they are
    removes: int = 0


def plan_undo(
    record: UndoRecord, mirror: Mirror, *, new_uuid: NewUuid = new_uuid4, recurring: str | None = None
) -> Reversal:
    """The commands that reverse ``record`` where nothing changed since, against a freshly refreshed ``mirror``.
    ``recurring`` names the command that puts back a recurring task's due (default: the one item_close declares;
    ``item_update`` suits a backend without it)."""
    if record.kind in OBJECT_KINDS:
        items = {k: v for k, v in record.before.items() if v is not None}
        pairs, cannot, changed = plan_command_undo(
            record.sent, record.mapping, record.objects, items, mirror, after=record.objects_after, new_uuid=new_uuid
        )
        steps = tuple(Step(n, label, command=inverse) for n, (label, inverse) in enumerate(pairs))
        return Reversal(Plan(steps, noun="change"), cannot, changed)
    undo = _TaskReversal(record, mirror, new_uuid, recurring)
    write = TASK_WRITES[record.kind]
    for sent in (write.sends, *write.also):
        undo.reverse(kind_of(sent), sent.facts)
    if record.projects_created:
        undo.cannot.append(f"{record.projects_created} new project(s)/section(s) stay (delete them in Todoist)")
    return Reversal(Plan(tuple(undo.steps)), undo.cannot, undo.changed, undo.removes)


@dataclass
class _TaskReversal:
    """A task write's record reversed by the recipes of the commands it sent, each reading what the record keeps for
    it: confirmed ids and images (tasks), added and removed reminders, orders."""

    record: UndoRecord
    mirror: Mirror
    new_uuid: NewUuid
    recurring: str | None
    steps: list[Step] = field(default_factory=list[Step])
    cannot: list[str] = field(default_factory=list[str])
    changed: list[str] = field(default_factory=list[str])
    removes: int = 0
    check: Unchanged = field(default_factory=lambda: Unchanged(()))  # the declared check of the recipe being reversed

    def reverse(self, kind: str, facts: Facts) -> None:
        check = facts.unchanged
        if check is None:  # only a command undo does not reverse declares no check (the registry makes sure)
            assert isinstance(facts.undo, NoUndo)
            check = Unchanged(())
        self.check = check
        match facts.undo:
            case NoUndo(why=why, done=done):
                word = RESOURCE_TYPES[facts.on].word
                self.cannot.append(f"{len(self.record.done)} {done} {word}(s): {why}")
            case DeleteAdded(by=by) if facts.on == REMINDERS.name:
                # The record keeps the reminders a write added as ids, apart from the tasks it added (as trees).
                for reminder_id in self.record.reminders_added:
                    now = self.mirror.reminders.get(reminder_id)
                    if now is None:  # deleted elsewhere since: nothing to remove
                        continue
                    differ = differing(self.record.reminders_after.get(reminder_id), now, check.fields)
                    if differ:
                        self.changed.append(f"{reminder_id} ({', '.join(differ)})")
                        continue
                    self.add(f"reminder {reminder_id}", command(by, self.new_uuid(), {"id": reminder_id}))
            case DeleteAdded(by=by):
                self._delete_added_tasks(by)
            case ReAdd():
                for reminder in self.record.reminders_removed:
                    if reminder.item_id in self.mirror.items:
                        self.add(f"reminder of {label_of(self.mirror, reminder.item_id)}", self._re_add(reminder))
            case RestoreFields():
                self._restore_fields(kind)
            case MoveBack() as recipe:
                self._move_back(kind, recipe)
            case ReorderBack(entries=entries, order=order):
                # Put back whole or not at all: the siblings' order someone changed since is theirs.
                if any([self.conflict(i, check.fields) for i in self.record.orders]):
                    return
                live = [{"id": i, order: n} for i, n in self.record.orders.items() if i in self.mirror.items]
                if live:
                    self.add("order", command(kind, self.new_uuid(), {entries: live}))
            case Inverse() as recipe:
                cascade = facts.cascades_to
                if cascade is not None and cascade.effect == "completes":
                    self._reopen(recipe)
                else:
                    for item_id in self.record.done:
                        # Changed elsewhere since (or deleted), or holding a task the inverse would close: leave it.
                        if self.conflict(item_id, check.fields) or self._holds_others(item_id):
                            continue
                        self.add(label_of(self.mirror, item_id), command(recipe.by, self.new_uuid(), {"id": item_id}))

    def add(self, label: str, inverse: Command) -> None:
        self.steps.append(Step(len(self.steps), label, command=inverse))

    def conflict(self, item_id: str, names: Sequence[str]) -> bool:
        differ = _differs(self.record.after.get(item_id), state_of(self.mirror, item_id), names)
        if differ:
            self.changed.append(f"{item_id} ({', '.join(differ)})")
        return bool(differ)

    def _holds_others(self, item_id: str) -> bool:
        """Whether anything the write did not leave lives in ``item_id`` now (by the declared ``holds``); named."""
        found = strangers(self.mirror, self.check, {item_id}, set(self.record.after))
        if found:
            self.changed.append(f"{item_id} (holds what was added since: {shown(found)})")
        return bool(found)

    def _delete_added_tasks(self, by: str) -> None:
        """Delete each tree of tasks the write added, while nothing of anyone else's is in it or changed on it."""
        record, mirror = self.record, self.mirror
        trees: dict[str, list[str]] = {}  # root -> the tasks of ours under it (as our write left them)
        for made in record.created_all:
            trees.setdefault(_root_of(made, record.after), []).append(made)
        ours = {*record.created_all, *record.reminders_added}
        for item_id in record.created:
            tree = [item_id, *mirror.descendants(item_id)]
            # Subtasks (open or completed), comments and reminders added since would go with the tree.
            found = strangers(mirror, self.check, set(tree), ours)
            if found:
                self.changed.append(f"{item_id} (holds what was added since: {shown(found)})")
                continue
            if any([self.conflict(t, self.check.fields) for t in trees.get(item_id, [item_id])]):
                continue
            self.removes += len(tree)
            self.add(label_of(mirror, item_id), command(by, self.new_uuid(), {"id": item_id}))

    def _restore_fields(self, kind: str) -> None:
        for item_id in self.record.done:
            before = self.record.before.get(item_id)
            names = sorted(self.record.fields.get(item_id, ()))
            if before is None or self.conflict(item_id, names):
                continue
            restored: dict[str, Any] = {"id": item_id}
            for name in names:
                value = _input_value(before, name)
                if value is _UNSENDABLE:
                    self.cannot.append(f"the {name} of {item_id} ({before.content!r}): Todoist accepts no such value")
                else:
                    restored[name] = value
            if len(restored) > 1:
                self.add(before.content, command(kind, self.new_uuid(), restored))

    def _move_back(self, kind: str, recipe: MoveBack) -> None:
        for item_id in reversed(self.record.done):
            before = self.record.before.get(item_id)
            if before is None or self.conflict(item_id, self.check.fields):
                continue
            now = self.mirror.items.get(item_id)
            if self.record.orders and now is not None and all(getattr(now, f) == getattr(before, f) for f in recipe.to):
                continue  # only reordered: the order put back puts it back
            where = next(
                ({name: value} for name in recipe.to if (value := getattr(before, name)) is not None),
                {recipe.to[-1]: getattr(before, recipe.to[-1])},
            )
            self.add(before.content, command(kind, self.new_uuid(), {"id": item_id, **where}))

    def _reopen(self, recipe: Inverse) -> None:
        """Reopen what a completion closed, subtasks included (a completion made since, after someone reopened it, is
        theirs); a recurring task was moved to its next occurrence instead, and gets its due back."""
        record = self.record
        for item_id in record.done:
            before = record.before.get(item_id)
            if before is None:
                continue
            label = before.content
            recurring_by = self.recurring or recipe.recurring_by
            if before.due is not None and before.due.is_recurring and recurring_by is not None:
                if not self.conflict(item_id, self.check.fields):
                    self.add(label, self._due_back(recurring_by, item_id, before.due))
                continue
            if self.conflict(item_id, self.check.fields):
                continue
            self.add(label, command(recipe.by, self.new_uuid(), {"id": item_id}))
            # Reopening restores a task's ancestors, not its subtasks: reopen those the completion closed.
            for sub_id, sub in record.before.items():
                if (
                    sub is not None
                    and sub_id not in record.done
                    and _under(sub_id, item_id, record.before)
                    and not self.conflict(sub_id, self.check.fields)
                ):
                    self.add(sub.content, command(recipe.by, self.new_uuid(), {"id": sub_id}))

    def _due_back(self, kind: str, item_id: str, due: Due) -> Command:
        """The command that puts a recurring task's due back to the occurrence a completion moved it past."""
        args: dict[str, Any] = {"id": item_id, "due": restored_due(due)}
        if "is_forward" in ARGS_MODELS[kind].model_fields:
            args["is_forward"] = 0  # the undo of an occurrence's completion (reference §3)
        return command(kind, self.new_uuid(), args)

    def _re_add(self, reminder: Reminder) -> Command:
        if reminder.type == "location":
            place = {"name": reminder.name, "loc_lat": reminder.loc_lat, "loc_long": reminder.loc_long,
                     "loc_trigger": reminder.loc_trigger, "radius": reminder.radius}  # fmt: skip
            given = {k: v for k, v in place.items() if v is not None}
            args = ReminderAddArgs.model_validate({"item_id": reminder.item_id, "type": "location", **given})
        elif reminder.type == "relative":
            args = ReminderAddArgs(item_id=reminder.item_id, type="relative", minute_offset=reminder.minute_offset or 0)
        else:
            due = reminder.due
            moment = DueInput(date=due.date, timezone=due.timezone) if due is not None else None
            args = ReminderAddArgs(item_id=reminder.item_id, type="absolute", due=moment)
        return ReminderAdd(uuid=self.new_uuid(), temp_id=self.new_uuid(), args=args)


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
