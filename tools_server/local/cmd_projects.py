"""Project and section commands beyond add (reference §3).

Archiving or deleting a project takes its sub-projects along; unarchiving restores the one project, as the last root
project. Tasks and sections of an archived project stay as they are but leave full syncs (the store hides them).
Deleting a project deletes its sections, its tasks (open and completed), their comments and reminders, and the
project's comments. Archiving a section completes its open tasks ("archive a section and all its child tasks");
deleting it deletes them.
"""

from __future__ import annotations

from typing import Any

from tools_server.local.args_more import (
    IdArgs,
    ProjectMoveArgs,
    ProjectReorderArgs,
    ProjectUpdateArgs,
    SectionArchiveArgs,
    SectionMoveArgs,
    SectionReorderArgs,
    SectionUpdateArgs,
)
from tools_server.local.errors import invalid_argument
from tools_server.local.handlers import Handler, parse_args
from tools_server.local.lookups import (
    delete_all,
    delete_items,
    delete_project_notes,
    items_in_projects,
    items_in_section,
    nonblank,
    restamp,
    sections_in_projects,
    stamp_argument,
    subprojects,
)
from tools_server.local.tx import Obj, Tx


def _project(tx: Tx, raw_id: str, *, not_inbox: str | None = None) -> Obj:
    project = tx.resolve("project", "id", raw_id)
    if not_inbox is not None and project.get("inbox_project"):
        raise invalid_argument("id", f"the Inbox cannot be {not_inbox}")
    return project


def project_update(tx: Tx, raw: dict[str, Any]) -> None:
    """Given fields take the new value; null leaves a field as it is."""
    args = parse_args(ProjectUpdateArgs, raw)
    project = _project(tx, args.id)
    if args.name is not None:
        if project.get("inbox_project") and args.name != project["name"]:
            raise invalid_argument("name", "the Inbox cannot be renamed")
        project["name"] = nonblank("name", args.name)
    for name in ("color", "is_collapsed", "is_favorite", "view_style", "description"):
        value = getattr(args, name)
        if value is not None:
            project[name] = value
    tx.put("project", project)


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


def project_reorder(tx: Tx, raw: dict[str, Any]) -> None:
    args = parse_args(ProjectReorderArgs, raw)
    changed = [(tx.resolve("project", "projects", entry.id), entry.child_order) for entry in args.projects]
    for project, order in changed:
        project["child_order"] = order
        tx.put("project", project)


def project_archive(tx: Tx, raw: dict[str, Any]) -> None:
    project = _project(tx, parse_args(IdArgs, raw).id, not_inbox="archived")
    for one in [project, *subprojects(tx, project["id"])]:
        if not one.get("is_archived"):
            one["is_archived"] = True
            tx.put("project", one)


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


def project_delete(tx: Tx, raw: dict[str, Any]) -> None:
    project = _project(tx, parse_args(IdArgs, raw).id, not_inbox="deleted")
    projects = [project, *subprojects(tx, project["id"])]
    ids = [p["id"] for p in projects]
    delete_items(tx, items_in_projects(tx, ids))
    delete_all(tx, "section", sections_in_projects(tx, ids))
    delete_project_notes(tx, ids)
    delete_all(tx, "project", projects)


# ---------------------------------------------------------------------------------------------------------------------
# Sections


def section_update(tx: Tx, raw: dict[str, Any]) -> None:
    args = parse_args(SectionUpdateArgs, raw)
    section = tx.resolve("section", "id", args.id)
    if args.name is not None:
        section["name"] = nonblank("name", args.name)
    if args.is_collapsed is not None:
        section["is_collapsed"] = args.is_collapsed
    tx.put("section", section)


def section_move(tx: Tx, raw: dict[str, Any]) -> None:
    """To another project, last among its sections; the section's tasks (and their subtasks) go with it."""
    args = parse_args(SectionMoveArgs, raw)
    section = tx.resolve("section", "id", args.id)
    if args.project_id is None:
        return
    project = tx.resolve("project", "project_id", args.project_id)
    if project["id"] == section["project_id"]:
        return
    section["project_id"] = project["id"]
    section["section_order"] = tx.next_order("section", project["id"], None, None)
    tx.put("section", section)
    for item in items_in_section(tx, section["id"]):
        item["project_id"] = project["id"]
        tx.put("item", item)


def section_reorder(tx: Tx, raw: dict[str, Any]) -> None:
    args = parse_args(SectionReorderArgs, raw)
    changed = [(tx.resolve("section", "sections", entry.id), entry.section_order) for entry in args.sections]
    for section, order in changed:
        section["section_order"] = order
        tx.put("section", section)


def section_archive(tx: Tx, raw: dict[str, Any]) -> None:
    args = parse_args(SectionArchiveArgs, raw)
    section = tx.resolve("section", "id", args.id)
    when = stamp_argument("archived_at", args.archived_at) if args.archived_at is not None else tx.stamp
    if section.get("is_archived"):
        return
    section.update(is_archived=True, archived_at=when)
    tx.put("section", section)
    for item in items_in_section(tx, section["id"]):
        if not item["checked"]:
            item.update(checked=True, completed_at=tx.stamp)
            tx.put("item", item)


def section_unarchive(tx: Tx, raw: dict[str, Any]) -> None:
    """The section comes back; its tasks stay completed (reopen them one by one)."""
    section = tx.resolve("section", "id", parse_args(IdArgs, raw).id)
    if not section.get("is_archived"):
        return
    section.update(is_archived=False, archived_at=None)
    tx.put("section", section)


def section_delete(tx: Tx, raw: dict[str, Any]) -> None:
    section = tx.resolve("section", "id", parse_args(IdArgs, raw).id)
    delete_items(tx, items_in_section(tx, section["id"]))
    delete_all(tx, "section", [section])


PROJECT_HANDLERS: dict[str, Handler] = {
    "project_update": project_update,
    "project_move": project_move,
    "project_reorder": project_reorder,
    "project_archive": project_archive,
    "project_unarchive": project_unarchive,
    "project_delete": project_delete,
    "section_update": section_update,
    "section_move": section_move,
    "section_reorder": section_reorder,
    "section_archive": section_archive,
    "section_unarchive": section_unarchive,
    "section_delete": section_delete,
}
