"""Section commands (reference §3): add, update, move, order, archive, unarchive and delete.

A section's tasks go where it goes. Archiving a section completes its open tasks ("archive a section and all its child
tasks"); unarchiving leaves them completed; deleting a section deletes them, with their comments and reminders.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, StrictBool, StrictStr

from tools_server.local.args import Args, Id, IdArgs, Order, parse_args
from tools_server.local.commands.fields import assign_given, nonblank, stamp_argument
from tools_server.local.commands.lookups import delete_all, delete_items, items_in_section
from tools_server.local.commands.orders import PositionArgs, reorder
from tools_server.local.commands.sharing import moved_between
from tools_server.local.commands.table import command
from tools_server.local.tx import Obj, Tx


class SectionAddArgs(Args):
    name: Annotated[str, Field(min_length=1)]
    project_id: str
    section_order: int | None = None


class SectionUpdateArgs(Args):
    id: Id
    name: StrictStr | None = None
    is_collapsed: StrictBool | None = None


class SectionMoveArgs(Args):
    id: Id
    project_id: Id | None = None


class SectionOrder(Args):
    id: Id
    section_order: Order


class SectionReorderArgs(PositionArgs):
    sections: Annotated[list[SectionOrder], Field(min_length=1)]

    def positions(self) -> list[tuple[str, int]]:
        return [(entry.id, entry.section_order) for entry in self.sections]


class SectionArchiveArgs(Args):
    id: Id
    archived_at: StrictStr | None = None


@command
def section_add(tx: Tx, raw: dict[str, Any]) -> str:
    args = parse_args(SectionAddArgs, raw)
    name = nonblank("name", args.name)
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


@command
def section_update(tx: Tx, raw: dict[str, Any]) -> None:
    args = parse_args(SectionUpdateArgs, raw)
    section = tx.resolve("section", "id", args.id)
    if args.name is not None:
        section["name"] = nonblank("name", args.name)
    assign_given(section, args, "is_collapsed")
    tx.put("section", section)


@command
def section_move(tx: Tx, raw: dict[str, Any]) -> None:
    """To another project, last among its sections; the section's tasks (and their subtasks) go with it."""
    args = parse_args(SectionMoveArgs, raw)
    section = tx.resolve("section", "id", args.id)
    if args.project_id is None:
        return
    project = tx.resolve("project", "project_id", args.project_id)
    if project["id"] == section["project_id"]:
        return
    moved_between(tx, section["project_id"], project["id"])
    section["project_id"] = project["id"]
    section["section_order"] = tx.next_order("section", project["id"], None, None)
    tx.put("section", section)
    for item in items_in_section(tx, section["id"]):
        item["project_id"] = project["id"]
        tx.put("item", item)


section_reorder = command(
    reorder("section", SectionReorderArgs, argument="sections", fields=("section_order",)), "section_reorder"
)


@command
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


@command
def section_unarchive(tx: Tx, raw: dict[str, Any]) -> None:
    """The section comes back; its tasks stay completed (reopen them one by one)."""
    section = tx.resolve("section", "id", parse_args(IdArgs, raw).id)
    if not section.get("is_archived"):
        return
    section.update(is_archived=False, archived_at=None)
    tx.put("section", section)


@command
def section_delete(tx: Tx, raw: dict[str, Any]) -> None:
    section = tx.resolve("section", "id", parse_args(IdArgs, raw).id)
    delete_items(tx, items_in_section(tx, section["id"]))
    delete_all(tx, "section", [section])
