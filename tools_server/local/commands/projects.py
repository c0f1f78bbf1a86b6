"""Project commands (reference §3): add, update, move, order, archive, unarchive and delete.

Archiving or deleting a project takes its sub-projects along; unarchiving restores the one project, as the last root
project. Tasks and sections of an archived project stay as they are but leave full syncs (the store hides them).
Deleting a project deletes its sections, its tasks (open and completed), their comments and reminders, and the
project's comments. The Inbox cannot be renamed, moved, archived or deleted.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StrictBool, StrictStr

from tools_server.local.args import Args, Color, Id, IdArgs, parse_args
from tools_server.local.commands.fields import assign_given, nonblank
from tools_server.local.commands.lookups import (
    delete_all,
    delete_items,
    delete_project_notes,
    items_in_projects,
    restamp,
    sections_in_projects,
    subprojects,
)
from tools_server.local.commands.orders import ChildOrder, PositionArgs, reorder
from tools_server.local.commands.table import command
from tools_server.local.errors import invalid_argument
from tools_server.local.tx import Obj, Tx


class ProjectAddArgs(Args):
    name: Annotated[str, Field(min_length=1)]
    color: str | None = None
    parent_id: str | None = None
    child_order: int | None = None
    default_order: int | None = None
    is_favorite: bool | None = None
    view_style: Literal["list", "board", "calendar", "table"] | None = None
    description: Annotated[str, Field(max_length=1024)] | None = None


class ProjectUpdateArgs(Args):
    id: Id
    name: StrictStr | None = None
    color: Color | None = None
    is_collapsed: StrictBool | None = None
    is_favorite: StrictBool | None = None
    view_style: Literal["list", "board", "calendar"] | None = None
    description: Annotated[StrictStr, Field(max_length=1024)] | None = None


class ProjectMoveArgs(Args):
    id: Id
    parent_id: Id | None = None


class ProjectReorderArgs(PositionArgs):
    projects: Annotated[list[ChildOrder], Field(min_length=1)]

    def positions(self) -> list[tuple[str, int]]:
        return [(entry.id, entry.child_order) for entry in self.projects]


def _project(tx: Tx, raw_id: str, *, not_inbox: str | None = None) -> Obj:
    project = tx.resolve("project", "id", raw_id)
    if not_inbox is not None and project.get("inbox_project"):
        raise invalid_argument("id", f"the Inbox cannot be {not_inbox}")
    return project


@command
def project_add(tx: Tx, raw: dict[str, Any]) -> str:
    args = parse_args(ProjectAddArgs, raw)
    name = nonblank("name", args.name)
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


@command
def project_update(tx: Tx, raw: dict[str, Any]) -> None:
    """Given fields take the new value; null leaves a field as it is."""
    args = parse_args(ProjectUpdateArgs, raw)
    project = _project(tx, args.id)
    if args.name is not None:
        if project.get("inbox_project") and args.name != project["name"]:
            raise invalid_argument("name", "the Inbox cannot be renamed")
        project["name"] = nonblank("name", args.name)
    assign_given(project, args, "color", "is_collapsed", "is_favorite", "view_style", "description")
    tx.put("project", project)


@command
def project_move(tx: Tx, raw: dict[str, Any]) -> None:
    """Under another project (last among its children) or, with parent_id null, to the root (last there)."""
    args = parse_args(ProjectMoveArgs, raw)
    project = _project(tx, args.id, not_inbox="moved")
    parent_id: str | None = None
    if args.parent_id is not None:
        parent = tx.resolve("project", "parent_id", args.parent_id)
        if parent["id"] == project["id"] or parent["id"] in {p["id"] for p in subprojects(tx, project["id"])}:
            raise invalid_argument("parent_id", "a project cannot go under itself or one of its sub-projects")
        if parent.get("is_archived"):
            raise invalid_argument("parent_id", "the parent project is archived")
        parent_id = parent["id"]
    if project["parent_id"] == parent_id:
        return
    project["parent_id"] = parent_id
    project["child_order"] = tx.next_order("project", None, None, parent_id)
    tx.put("project", project)


project_reorder = command(
    reorder("project", ProjectReorderArgs, argument="projects", fields=("child_order",)), "project_reorder"
)


@command
def project_archive(tx: Tx, raw: dict[str, Any]) -> None:
    project = _project(tx, parse_args(IdArgs, raw).id, not_inbox="archived")
    for one in [project, *subprojects(tx, project["id"])]:
        if not one.get("is_archived"):
            one["is_archived"] = True
            tx.put("project", one)


@command
def project_unarchive(tx: Tx, raw: dict[str, Any]) -> None:
    """Only this project comes back, as the last root project, with its tasks and sections (its sub-projects stay
    archived); those are stamped again so a client that dropped them on archive gets them back incrementally."""
    project = _project(tx, parse_args(IdArgs, raw).id)
    if not project.get("is_archived"):
        return
    project.update(is_archived=False, parent_id=None, child_order=tx.next_order("project", None, None, None))
    tx.put("project", project)
    restamp(tx, "section", sections_in_projects(tx, [project["id"]]))
    restamp(tx, "item", items_in_projects(tx, [project["id"]]))


@command
def project_delete(tx: Tx, raw: dict[str, Any]) -> None:
    project = _project(tx, parse_args(IdArgs, raw).id, not_inbox="deleted")
    projects = [project, *subprojects(tx, project["id"])]
    ids = [p["id"] for p in projects]
    delete_items(tx, items_in_projects(tx, ids))
    delete_all(tx, "section", sections_in_projects(tx, ids))
    delete_project_notes(tx, ids)
    delete_all(tx, "project", projects)
