"""Pure undo for comments, projects, sections and labels: before-images of what a write touches, and the inverse.

Each confirmed command is reversed from the image of its target as it was just before the write, in reverse order.
What Todoist cannot reverse (a deletion) is said, not attempted; an object added by the write is deleted again only
while nothing has been put in it since.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tools_server.sync.args import ChildOrder, SectionOrder
from tools_server.sync.batch import NewUuid, new_uuid4
from tools_server.sync.commands import (
    Command,
    Item,
    ItemIdArgs,
    ItemUncomplete,
    Label,
    LabelDelete,
    LabelDeleteArgs,
    LabelOrdersArgs,
    LabelUpdate,
    LabelUpdateArgs,
    LabelUpdateOrders,
    NoteDelete,
    NoteUpdate,
    NoteUpdateArgs,
    Project,
    ProjectArchive,
    ProjectDelete,
    ProjectMove,
    ProjectMoveArgs,
    ProjectReorder,
    ProjectReorderArgs,
    ProjectUnarchive,
    ProjectUpdate,
    ProjectUpdateArgs,
    Section,
    SectionArchive,
    SectionDelete,
    SectionMove,
    SectionMoveArgs,
    SectionReorder,
    SectionReorderArgs,
    SectionUnarchive,
    SectionUpdate,
    SectionUpdateArgs,
    arg_value,
)
from tools_server.sync.mirror import Mirror
from tools_server.sync.responses import Note

Image = Project | Section | Label | Note
_LISTS = ("projects", "sections")


def touched_ids(command: Command) -> list[str]:
    """The ids a command acts on: its ``id`` and the ids in its order lists."""
    ids = [str(arg_value(command.args, "id") or "")]
    for name in _LISTS:
        entries = arg_value(command.args, name)
        if isinstance(entries, list):
            ids += [str(getattr(e, "id", "")) for e in entries]  # pyright: ignore[reportUnknownArgumentType, reportUnknownVariableType]
    mapping = arg_value(command.args, "id_order_mapping")
    if isinstance(mapping, dict):
        ids += [str(k) for k in mapping]  # pyright: ignore[reportUnknownArgumentType, reportUnknownVariableType]
    return ids


def _find(mirror: Mirror, object_id: str) -> Image | None:
    for table in (mirror.projects, mirror.sections, mirror.labels, mirror.notes):
        found = table.get(object_id)
        if found is not None:
            return found
    return mirror.archived_projects.get(object_id) or mirror.archived_sections.get(object_id)


def object_snapshot(mirror: Mirror, commands: Sequence[Command]) -> tuple[dict[str, Image | None], dict[str, Item]]:
    """Images of every object the commands touch (archived projects' sub-projects too), and of the open tasks a
    section archive completes."""
    images: dict[str, Image | None] = {}
    items: dict[str, Item] = {}
    for command in commands:
        for object_id in touched_ids(command):
            images[object_id] = _find(mirror, object_id)
        target = str(arg_value(command.args, "id") or "")
        if isinstance(command, ProjectArchive):
            stack = [target]
            while stack:
                parent = stack.pop()
                for project in mirror.projects.values():
                    if project.parent_id == parent:
                        images[project.id] = project
                        stack.append(project.id)
        elif isinstance(command, SectionArchive):
            items.update({i.id: i for i in mirror.items.values() if i.section_id == target})
    return images, items


def plan_object_undo(
    sent: Sequence[Command],
    mapping: dict[str, str],
    images: dict[str, Image | None],
    items: dict[str, Item],
    mirror: Mirror,
    *,
    new_uuid: NewUuid = new_uuid4,
) -> tuple[list[tuple[str, Command]], list[str]]:
    """(label, inverse command) pairs in the order to send them, and what cannot be undone."""
    out: list[tuple[str, Command]] = []
    cannot: list[str] = []
    deleted = 0
    for command in reversed(sent):
        target = str(arg_value(command.args, "id") or "")
        before = images.get(target)
        if command.temp_id is not None:
            _undo_add(command, mapping.get(command.temp_id), mirror, out, cannot, new_uuid)
        elif isinstance(command, ProjectDelete | SectionDelete | LabelDelete | NoteDelete):
            deleted += 1
        elif isinstance(command, NoteUpdate) and isinstance(before, Note):
            out.append(("comment", NoteUpdate(uuid=new_uuid(), args=NoteUpdateArgs(id=target, content=before.content))))
        elif isinstance(command, ProjectUpdate | LabelUpdate | SectionUpdate) and before is not None:
            old: dict[str, Any] = before.model_dump(mode="json")
            restored = {"id": target, **{n: old.get(n) for n in command.args.model_fields_set - {"id"}}}
            out.append((_name(before), _restore(command, restored, new_uuid)))
        elif isinstance(command, ProjectMove) and isinstance(before, Project):
            out.append((before.name, _project_move(before, new_uuid)))
            out.append((before.name, _project_orders([before], new_uuid)))
        elif isinstance(command, SectionMove) and isinstance(before, Section):
            args = SectionMoveArgs(id=target, project_id=before.project_id)
            out.append((before.name, SectionMove(uuid=new_uuid(), args=args)))
            out.append((before.name, _section_orders([before], new_uuid)))
        elif isinstance(command, ProjectReorder):
            olds = [p for e in command.args.projects if isinstance(p := images.get(e.id), Project)]
            if olds:
                out.append(("project order", _project_orders(olds, new_uuid)))
        elif isinstance(command, SectionReorder):
            olds = [s for e in command.args.sections if isinstance(s := images.get(e.id), Section)]
            if olds:
                out.append(("section order", _section_orders(olds, new_uuid)))
        elif isinstance(command, LabelUpdateOrders):
            olds = {
                k: lab.item_order or 0 for k in command.args.id_order_mapping if isinstance(lab := images.get(k), Label)
            }
            if olds:
                args = LabelOrdersArgs(id_order_mapping=olds)
                out.append(("label order", LabelUpdateOrders(uuid=new_uuid(), args=args)))
        elif isinstance(command, ProjectArchive) and isinstance(before, Project):
            _undo_project_archive(before, images, out, new_uuid)
        elif isinstance(command, SectionArchive) and isinstance(before, Section):
            out.append((before.name, SectionUnarchive(uuid=new_uuid(), args=ItemIdArgs(id=target))))
            for item in items.values():
                if item.section_id == target:
                    out.append((item.content, ItemUncomplete(uuid=new_uuid(), args=ItemIdArgs(id=item.id))))
        elif isinstance(command, ProjectUnarchive):
            out.append((_name(before), ProjectArchive(uuid=new_uuid(), args=ItemIdArgs(id=target))))
        elif isinstance(command, SectionUnarchive):
            out.append((_name(before), SectionArchive(uuid=new_uuid(), args=ItemIdArgs(id=target))))
    if deleted:
        cannot.append(f"{deleted} deletion(s): Todoist has no undelete")
    return out, cannot


def _restore(command: ProjectUpdate | LabelUpdate | SectionUpdate, old: dict[str, Any], new_uuid: NewUuid) -> Command:
    if isinstance(command, ProjectUpdate):
        return ProjectUpdate(uuid=new_uuid(), args=ProjectUpdateArgs.model_validate(old))
    if isinstance(command, LabelUpdate):
        return LabelUpdate(uuid=new_uuid(), args=LabelUpdateArgs.model_validate(old))
    return SectionUpdate(uuid=new_uuid(), args=SectionUpdateArgs.model_validate(old))


def _name(image: Image | None) -> str:
    if image is None:
        return "?"
    return image.content if isinstance(image, Note) else image.name


def _undo_add(
    command: Command,
    created: str | None,
    mirror: Mirror,
    out: list[tuple[str, Command]],
    cannot: list[str],
    new_uuid: NewUuid,
) -> None:
    if created is None:
        return
    name = str(arg_value(command.args, "name") or "comment")
    kind = command.to_wire()["type"]
    if kind == "note_add":
        out.append(("comment", NoteDelete(uuid=new_uuid(), args=ItemIdArgs(id=created))))
    elif kind == "project_add":
        if any(i.project_id == created for i in mirror.items.values()):
            cannot.append(f"project '{name}' has tasks now; not deleted")
        else:
            out.append((name, ProjectDelete(uuid=new_uuid(), args=ItemIdArgs(id=created))))
    elif kind == "section_add":
        if any(i.section_id == created for i in mirror.items.values()):
            cannot.append(f"section '{name}' has tasks now; not deleted")
        else:
            out.append((name, SectionDelete(uuid=new_uuid(), args=ItemIdArgs(id=created))))
    elif kind == "label_add":
        label = mirror.labels.get(created)
        folded = (label.name if label is not None else name).casefold()
        if any(folded in (n.casefold() for n in i.labels) for i in mirror.items.values()):
            cannot.append(f"label '{name}' is on tasks now; not deleted")
        else:
            out.append((name, LabelDelete(uuid=new_uuid(), args=LabelDeleteArgs(id=created))))


def _project_move(before: Project, new_uuid: NewUuid) -> ProjectMove:
    return ProjectMove(uuid=new_uuid(), args=ProjectMoveArgs(id=before.id, parent_id=before.parent_id))


def _project_orders(projects: list[Project], new_uuid: NewUuid) -> ProjectReorder:
    entries = [ChildOrder(id=p.id, child_order=p.child_order) for p in projects]
    return ProjectReorder(uuid=new_uuid(), args=ProjectReorderArgs(projects=entries))


def _section_orders(sections: list[Section], new_uuid: NewUuid) -> SectionReorder:
    entries = [SectionOrder(id=s.id, section_order=s.section_order) for s in sections]
    return SectionReorder(uuid=new_uuid(), args=SectionReorderArgs(sections=entries))


def _undo_project_archive(
    before: Project, images: dict[str, Image | None], out: list[tuple[str, Command]], new_uuid: NewUuid
) -> None:
    """Unarchive the project and the sub-projects archived with it, put each back under its parent (unarchive
    restores a project as the last root one), then restore their orders."""
    family = [before]
    for image in images.values():
        if isinstance(image, Project) and image.id != before.id and _below(image, before.id, images):
            family.append(image)
    for project in family:
        out.append((project.name, ProjectUnarchive(uuid=new_uuid(), args=ItemIdArgs(id=project.id))))
    for project in family:
        if project.parent_id is not None:
            out.append((project.name, _project_move(project, new_uuid)))
    out.append((before.name, _project_orders(family, new_uuid)))


def _below(project: Project, ancestor: str, images: dict[str, Image | None]) -> bool:
    current: Image | None = project
    while isinstance(current, Project) and current.parent_id is not None:
        if current.parent_id == ancestor:
            return True
        current = images.get(current.parent_id)
    return False
