"""Task commands (reference §3): add, update, move, order, complete (plain and recurring), reopen and delete.

Completing a task completes its subtasks; reopening one reopens its completed ancestors; deleting one deletes its
subtasks and, with them, their comments and reminders. Placement and completion are not item_update's job.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, StrictBool

from tools_server.local.args import Args, DeadlineArg, DueArg, DurationArg, Id, Order, parse_args
from tools_server.local.commands.fields import due_from_arg, nonblank, stamp_argument
from tools_server.local.commands.labels import task_labels
from tools_server.local.commands.lookups import delete_items
from tools_server.local.commands.orders import ChildOrder, PositionArgs, reorder
from tools_server.local.commands.sharing import assigned, check_responsible, moved_between
from tools_server.local.commands.table import command
from tools_server.local.dates import Due, next_occurrence
from tools_server.local.errors import invalid_argument
from tools_server.local.tx import Obj, Tx

Priority = Annotated[int, Field(ge=1, le=4)]


def _zero_one(value: Any) -> Any:
    return bool(value) if type(value) is int and value in (0, 1) else value


# Booleans Todoist documents as 0/1 (``is_forward``, ``reset_subtasks``) accept both forms.
Flag = Annotated[StrictBool, BeforeValidator(_zero_one)]


class ItemAddArgs(Args):
    content: Annotated[str, Field(min_length=1)]
    description: str | None = None
    project_id: str | None = None
    section_id: str | None = None
    parent_id: str | None = None
    child_order: int | None = None
    day_order: int | None = None
    is_collapsed: bool | None = None
    labels: list[str] | None = None
    priority: Priority | None = None
    due: DueArg | None = None
    deadline: DeadlineArg | None = None
    duration: DurationArg | None = None
    assigned_by_uid: str | None = None
    responsible_uid: str | None = None
    auto_reminder: bool | None = None
    auto_parse_labels: bool | None = None


class ItemUpdateArgs(Args):
    """Fields left out are untouched; fields sent as null are cleared (``model_fields_set`` tells them apart)."""

    id: str
    content: Annotated[str, Field(min_length=1)] | None = None
    description: str | None = None
    due: DueArg | None = None
    deadline: DeadlineArg | None = None
    priority: Priority | None = None
    is_collapsed: bool | None = None
    labels: list[str] | None = None
    assigned_by_uid: str | None = None
    responsible_uid: str | None = None
    day_order: int | None = None
    duration: DurationArg | None = None


class ItemIdArgs(Args):
    """item_close (not in the SDK's typed map, sent untyped), item_uncomplete, item_delete."""

    id: str


class ItemCompleteArgs(Args):
    id: str
    # The docs say date_completed, the SDK says completed_at (reference §3); both are accepted.
    date_completed: str | None = None
    completed_at: str | None = None
    force_history: bool | None = None
    from_undo: bool | None = None


class ItemDateCompleteArgs(Args):
    id: Id
    due: DueArg | None = None
    is_forward: Flag = True
    reset_subtasks: Flag = False


class ItemReorderArgs(PositionArgs):
    items: Annotated[list[ChildOrder], Field(min_length=1)]

    def positions(self) -> list[tuple[str, int]]:
        return [(entry.id, entry.child_order) for entry in self.items]


class ItemDayOrdersArgs(PositionArgs):
    ids_to_orders: dict[str, Order]

    def positions(self) -> list[tuple[str, int]]:
        return list(self.ids_to_orders.items())


def _deadline(deadline: DeadlineArg) -> dict[str, Any]:
    try:
        date.fromisoformat(deadline.date)
    except ValueError:
        raise invalid_argument("deadline.date", f"{deadline.date!r} is not a calendar date") from None
    return {"date": deadline.date, "lang": deadline.lang or "en"}


def _duration(duration: DurationArg) -> dict[str, Any]:
    return {"amount": duration.amount, "unit": duration.unit}


def _following_due(tx: Tx, stored: Obj) -> Obj | None:
    """A recurring due's next occurrence, or None when it is not recurring (or not understood)."""
    if not stored.get("is_recurring"):
        return None
    following = next_occurrence(Due.model_validate(stored), now=tx.now, timezone=tx.meta.get("timezone", "UTC"))
    return following.model_dump() if following is not None else None


@command
def item_add(tx: Tx, raw: dict[str, Any]) -> str:
    args = parse_args(ItemAddArgs, raw)
    content = nonblank("content", args.content)
    project_id = tx.resolve("project", "project_id", args.project_id)["id"] if args.project_id else None
    section_id: str | None = None
    parent_id: str | None = None
    if args.parent_id:
        parent = tx.resolve("item", "parent_id", args.parent_id)
        project_id, section_id, parent_id = parent["project_id"], parent["section_id"], parent["id"]
    elif args.section_id:
        section = tx.resolve("section", "section_id", args.section_id)
        if project_id is not None and project_id != section["project_id"]:
            raise invalid_argument("section_id", "the section belongs to another project")
        project_id, section_id = section["project_id"], section["id"]
    if project_id is None:
        project_id = tx.meta["inbox_project_id"]
    due = due_from_arg(tx, args.due) if args.due is not None else None
    deadline = _deadline(args.deadline) if args.deadline is not None else None
    check_responsible(tx, project_id, args.responsible_uid)
    labels = task_labels(tx, args.labels or [])  # last: it may create labels, so everything that can fail comes first
    order = (
        args.child_order if args.child_order is not None else tx.next_order("item", project_id, section_id, parent_id)
    )
    user_id = tx.user_id
    # Todoist records who assigned a task: the account that set its responsible.
    assigned_by = args.assigned_by_uid or (user_id if args.responsible_uid else None)
    item: Obj = {
        "id": tx.fresh_id(),
        "user_id": user_id,
        "project_id": project_id,
        "section_id": section_id,
        "parent_id": parent_id,
        "content": content,
        "description": args.description or "",
        "priority": args.priority or 1,
        "labels": labels,
        "due": due,
        "deadline": deadline,
        "duration": _duration(args.duration) if args.duration is not None else None,
        "child_order": order,
        "day_order": args.day_order if args.day_order is not None else -1,
        "is_collapsed": bool(args.is_collapsed),
        "added_by_uid": user_id,
        "assigned_by_uid": assigned_by,
        "responsible_uid": args.responsible_uid,
        "checked": False,
        "is_deleted": False,
        "added_at": tx.stamp,
        "updated_at": tx.stamp,
        "completed_at": None,
    }
    tx.put("item", item)
    assigned(tx, item)
    return item["id"]


@command
def item_update(tx: Tx, raw: dict[str, Any]) -> None:
    """Set fields take the new value, null clears; placement and completion are not this command's job (ignored)."""
    args = parse_args(ItemUpdateArgs, raw)
    item = tx.resolve("item", "id", args.id)
    changes: dict[str, Any] = {}
    for name in args.model_fields_set - {"id"}:
        value = getattr(args, name)
        if name == "content":
            if value is None:
                raise invalid_argument("content", "must not be empty")
            changes[name] = nonblank("content", value)
        elif name == "priority":
            if value is None:
                raise invalid_argument("priority", "must be 1 to 4")
            changes[name] = value
        elif name == "description":
            changes[name] = value or ""
        elif name == "labels":
            changes[name] = task_labels(tx, value or [])
        elif name == "due":
            changes[name] = due_from_arg(tx, value) if value is not None else None
        elif name == "deadline":
            changes[name] = _deadline(value) if value is not None else None
        elif name == "duration":
            changes[name] = _duration(value) if value is not None else None
        elif name == "day_order":
            changes[name] = -1 if value is None else value
        elif name == "is_collapsed":
            changes[name] = bool(value)
        else:  # assigned_by_uid, responsible_uid
            changes[name] = value
    if "responsible_uid" in changes:
        check_responsible(tx, item["project_id"], changes["responsible_uid"])
        if changes["responsible_uid"] and "assigned_by_uid" not in changes:
            changes["assigned_by_uid"] = tx.user_id
    given = "responsible_uid" in changes and changes["responsible_uid"] != item.get("responsible_uid")
    item.update(changes)
    tx.put("item", item)
    if given:
        assigned(tx, item)
    return None


_MOVE_DESTINATIONS = ("project_id", "section_id", "parent_id")


@command
def item_move(tx: Tx, raw: dict[str, Any]) -> None:
    """Exactly one destination; the task becomes the last there, and its subtasks follow it.

    Read from the raw arguments, not a model: ``null`` is a destination too (the SDK's union), so the keys sent count.
    """
    given = [name for name in _MOVE_DESTINATIONS if name in raw]
    if len(given) != 1:
        raise invalid_argument(
            given[0] if given else "project_id", "Only one of parent_id, section_id or project_id must be set"
        )
    if "id" not in raw:
        raise invalid_argument("id", "Field required")
    item = tx.resolve("item", "id", raw["id"])
    where = given[0]
    target = raw[where]
    if where == "project_id":
        if target is None:
            raise invalid_argument("project_id", "must name a project")
        project = tx.resolve("project", "project_id", target)
        place = (project["id"], None, None)
    elif where == "section_id":
        if target is None:  # out of its section, to the root of its project
            place = (item["project_id"], None, None)
        else:
            section = tx.resolve("section", "section_id", target)
            place = (section["project_id"], section["id"], None)
    elif target is None:  # up to the root of its project and section
        place = (item["project_id"], item["section_id"], None)
    else:
        parent = tx.resolve("item", "parent_id", target)
        if parent["id"] == item["id"] or parent["id"] in {d["id"] for d in tx.descendants(item["id"])}:
            raise invalid_argument("parent_id", "a task cannot become a subtask of itself or of its own subtask")
        place = (parent["project_id"], parent["section_id"], parent["id"])
    project_id, section_id, parent_id = place
    if (item["project_id"], item["section_id"], item["parent_id"]) == place:
        return None
    moved_between(tx, item["project_id"], project_id)
    item.update(project_id=project_id, section_id=section_id, parent_id=parent_id)
    item["child_order"] = tx.next_order("item", project_id, section_id, parent_id)
    tx.put("item", item)
    for child in tx.descendants(item["id"]):
        child.update(project_id=project_id, section_id=section_id)
        tx.put("item", child)
    return None


item_reorder = command(reorder("item", ItemReorderArgs, argument="items", fields=("child_order",)), "item_reorder")
item_update_day_orders = command(
    reorder("item", ItemDayOrdersArgs, argument="ids_to_orders", fields=("day_order",)), "item_update_day_orders"
)


def _complete(tx: Tx, item: Obj, completed_at: str) -> None:
    for one in [item, *tx.descendants(item["id"])]:
        if not one["checked"]:
            one.update(checked=True, completed_at=completed_at)
            tx.put("item", one)


@command
def item_close(tx: Tx, raw: dict[str, Any]) -> None:
    """What Todoist's own clients do: complete a normal task (with its subtasks), advance a recurring one."""
    item = tx.resolve("item", "id", parse_args(ItemIdArgs, raw).id)
    if item["checked"]:
        return None
    due = item.get("due")
    following = _following_due(tx, due) if due is not None else None
    if following is not None:
        item["due"] = following
        tx.put("item", item)
        return None
    _complete(tx, item, tx.stamp)
    return None


@command
def item_complete(tx: Tx, raw: dict[str, Any]) -> None:
    args = parse_args(ItemCompleteArgs, raw)
    item = tx.resolve("item", "id", args.id)
    when = tx.stamp
    given = args.completed_at or args.date_completed
    if given is not None:
        when = stamp_argument("completed_at" if args.completed_at else "date_completed", given)
    _complete(tx, item, when)
    return None


@command
def item_update_date_complete(tx: Tx, raw: dict[str, Any]) -> None:
    """Complete (is_forward 1) or undo (0) one occurrence of a recurring task: it takes the given due and stays open.

    Without ``due``, completing moves a recurring task to its next occurrence (as item_close does); reset_subtasks
    reopens its completed subtasks, which is what Todoist does when a recurring task comes round again.
    """
    args = parse_args(ItemDateCompleteArgs, raw)
    item = tx.resolve("item", "id", args.id)
    forward = bool(args.is_forward)
    due: Obj | None
    if args.due is not None:
        due = due_from_arg(tx, args.due)
    elif forward and item.get("due") is not None:
        due = _following_due(tx, item["due"])
        if due is None:
            raise invalid_argument("due", "required: the task's due date is not recurring")
    else:
        raise invalid_argument("due", "required to undo a completion or for a task without a due date")
    item["due"] = due
    tx.put("item", item)
    if forward and args.reset_subtasks:
        for child in tx.descendants(item["id"]):
            if child["checked"]:
                child.update(checked=False, completed_at=None)
                tx.put("item", child)


@command
def item_uncomplete(tx: Tx, raw: dict[str, Any]) -> None:
    """Reopen a task and any completed ancestors; the task goes to the end of its parent."""
    item = tx.resolve("item", "id", parse_args(ItemIdArgs, raw).id)
    if not item["checked"]:
        return None
    item.update(checked=False, completed_at=None)
    item["child_order"] = tx.next_order("item", item["project_id"], item["section_id"], item["parent_id"])
    tx.put("item", item)
    parent_id = item["parent_id"]
    while parent_id is not None:
        parent = tx.get("item", parent_id)
        if parent is None or parent.get("is_deleted"):
            break
        if parent["checked"]:
            parent.update(checked=False, completed_at=None)
            tx.put("item", parent)
        parent_id = parent["parent_id"]
    return None


@command
def item_delete(tx: Tx, raw: dict[str, Any]) -> None:
    """The task and its subtasks, with the comments and reminders of each."""
    item = tx.resolve("item", "id", parse_args(ItemIdArgs, raw).id)
    delete_items(tx, [item, *tx.descendants(item["id"])])
    return None
