"""The Sync commands the local backend executes, one function each (reference §3 and §9).

A handler validates everything before it writes, so a failing command leaves no trace; the store also wraps each
command in a savepoint in case a handler fails halfway. Creating handlers return the new object's id (the store maps
the command's temp_id to it); the others return None. Arguments are read with this package's own models (args.py),
never the client's.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from tools_server.local.args import (
    DeadlineArg,
    DurationArg,
    ItemAddArgs,
    ItemCompleteArgs,
    ItemIdArgs,
    ItemUpdateArgs,
    ProjectAddArgs,
    SectionAddArgs,
)
from tools_server.local.errors import invalid_argument
from tools_server.local.lookups import due_from_arg, following_due, stamp_argument
from tools_server.local.tx import Obj, Tx

Handler = Callable[[Tx, dict[str, Any]], str | None]

MAX_LABEL_LENGTH = 60


M = TypeVar("M", bound=BaseModel)


def parse_args(model: type[M], raw: dict[str, Any]) -> M:
    """``raw`` read with ``model``, or INVALID_ARGUMENT_VALUE naming the first bad argument (e.g. ``due.lang``)."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        argument = ".".join(str(part) for part in first["loc"]) or "args"
        raise invalid_argument(argument, first["msg"]) from None


def _text(argument: str, value: str) -> str:
    if not value.strip():
        raise invalid_argument(argument, "must not be empty")
    return value


# ---------------------------------------------------------------------------------------------------------------------
# Field conversions shared by item_add and item_update


def _deadline(deadline: DeadlineArg) -> dict[str, Any]:
    try:
        date.fromisoformat(deadline.date)
    except ValueError:
        raise invalid_argument("deadline.date", f"{deadline.date!r} is not a calendar date") from None
    return {"date": deadline.date, "lang": deadline.lang or "en"}


def _duration(duration: DurationArg) -> dict[str, Any]:
    return {"amount": duration.amount, "unit": duration.unit}


def new_label(tx: Tx, name: str, *, order: int, color: str = "charcoal", favorite: bool = False) -> Obj:
    """A personal label as stored: ``item_order`` is the docs' Sync name, ``order`` the REST one (reference §2.5)."""
    return {
        "id": tx.fresh_id(),
        "name": name,
        "color": color,
        "item_order": order,
        "order": order,
        "is_favorite": favorite,
        "is_deleted": False,
    }


def _labels(tx: Tx, names: list[str]) -> list[str]:
    """Label names as stored: an existing label keeps its spelling; an unknown one is created (as Todoist does)."""
    if not names:
        return []
    existing = tx.labels_by_name()
    result: list[str] = []
    for name in names:
        name = name.strip()
        if not name or len(name) > MAX_LABEL_LENGTH:
            raise invalid_argument("labels", f"label names must be 1 to {MAX_LABEL_LENGTH} characters")
        if any(n.casefold() == name.casefold() for n in result):
            continue
        label = existing.get(name.casefold())
        if label is None:
            label = new_label(tx, name, order=len(existing) + 1)
            tx.put("label", label, touch=False)
            existing[name.casefold()] = label
        result.append(str(label["name"]))
    return result


# ---------------------------------------------------------------------------------------------------------------------
# Items


def item_add(tx: Tx, raw: dict[str, Any]) -> str:
    args = parse_args(ItemAddArgs, raw)
    content = _text("content", args.content)
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
    labels = _labels(tx, args.labels or [])  # last: it may create labels, so everything that can fail comes first
    order = (
        args.child_order if args.child_order is not None else tx.next_order("item", project_id, section_id, parent_id)
    )
    user_id = tx.meta["user_id"]
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
        "assigned_by_uid": args.assigned_by_uid,
        "responsible_uid": args.responsible_uid,
        "checked": False,
        "is_deleted": False,
        "added_at": tx.stamp,
        "updated_at": tx.stamp,
        "completed_at": None,
    }
    tx.put("item", item)
    return item["id"]


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
            changes[name] = _text("content", value)
        elif name == "priority":
            if value is None:
                raise invalid_argument("priority", "must be 1 to 4")
            changes[name] = value
        elif name == "description":
            changes[name] = value or ""
        elif name == "labels":
            changes[name] = _labels(tx, value or [])
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
    item.update(changes)
    tx.put("item", item)
    return None


_MOVE_DESTINATIONS = ("project_id", "section_id", "parent_id")


def item_move(tx: Tx, raw: dict[str, Any]) -> None:
    """Exactly one destination; the task becomes the last there, and its subtasks follow it."""
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
    item.update(project_id=project_id, section_id=section_id, parent_id=parent_id)
    item["child_order"] = tx.next_order("item", project_id, section_id, parent_id)
    tx.put("item", item)
    for child in tx.descendants(item["id"]):
        child.update(project_id=project_id, section_id=section_id)
        tx.put("item", child)
    return None


def _complete(tx: Tx, item: Obj, completed_at: str) -> None:
    for one in [item, *tx.descendants(item["id"])]:
        if not one["checked"]:
            one.update(checked=True, completed_at=completed_at)
            tx.put("item", one)


def item_close(tx: Tx, raw: dict[str, Any]) -> None:
    """What Todoist's own clients do: complete a normal task (with its subtasks), advance a recurring one."""
    item = tx.resolve("item", "id", parse_args(ItemIdArgs, raw).id)
    if item["checked"]:
        return None
    due = item.get("due")
    following = following_due(tx, due) if due is not None else None
    if following is not None:
        item["due"] = following
        tx.put("item", item)
        return None
    _complete(tx, item, tx.stamp)
    return None


def item_complete(tx: Tx, raw: dict[str, Any]) -> None:
    args = parse_args(ItemCompleteArgs, raw)
    item = tx.resolve("item", "id", args.id)
    when = tx.stamp
    given = args.completed_at or args.date_completed
    if given is not None:
        when = stamp_argument("completed_at" if args.completed_at else "date_completed", given)
    _complete(tx, item, when)
    return None


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


def item_delete(tx: Tx, raw: dict[str, Any]) -> None:
    item = tx.resolve("item", "id", parse_args(ItemIdArgs, raw).id)
    for one in [item, *tx.descendants(item["id"])]:
        one["is_deleted"] = True
        tx.put("item", one)
    return None


# ---------------------------------------------------------------------------------------------------------------------
# Projects and sections


def project_add(tx: Tx, raw: dict[str, Any]) -> str:
    args = parse_args(ProjectAddArgs, raw)
    name = _text("name", args.name)
    parent_id = tx.resolve("project", "parent_id", args.parent_id)["id"] if args.parent_id else None
    order = args.child_order if args.child_order is not None else tx.next_order("project", None, None, parent_id)
    project: Obj = {
        "id": tx.fresh_id(),
        "name": name,
        "color": args.color or "charcoal",
        "parent_id": parent_id,
        "child_order": order,
        "default_order": args.default_order or 0,
        "is_favorite": bool(args.is_favorite),
        "view_style": args.view_style or "list",
        "description": args.description or "",
        "created_at": tx.stamp,
        "updated_at": tx.stamp,
    }
    tx.put("project", project)
    return project["id"]


def section_add(tx: Tx, raw: dict[str, Any]) -> str:
    args = parse_args(SectionAddArgs, raw)
    name = _text("name", args.name)
    project_id = tx.resolve("project", "project_id", args.project_id)["id"]
    order = args.section_order if args.section_order is not None else tx.next_order("section", project_id, None, None)
    section: Obj = {
        "id": tx.fresh_id(),
        "name": name,
        "project_id": project_id,
        "section_order": order,
        "is_collapsed": False,
        "user_id": tx.meta["user_id"],
        "is_deleted": False,
        "is_archived": False,
        "archived_at": None,
        "added_at": tx.stamp,
        "updated_at": tx.stamp,
    }
    tx.put("section", section)
    return section["id"]


HANDLERS: dict[str, Handler] = {
    "item_add": item_add,
    "item_update": item_update,
    "item_move": item_move,
    "item_close": item_close,
    "item_complete": item_complete,
    "item_uncomplete": item_uncomplete,
    "item_delete": item_delete,
    "project_add": project_add,
    "section_add": section_add,
}
