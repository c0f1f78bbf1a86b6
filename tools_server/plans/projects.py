"""Pure planning for manage_projects: ops on projects, sections, labels and saved filters -> one Plan of Sync commands.

Targets are named by id or name (resolved from the mirror, or from objects added earlier in the same call, which are
referred to by their temp ids so that everything goes in one request). A target that cannot be resolved fails its
own op with suggestions; the other ops are still planned.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tools_server.inputs import ProjectOp
from tools_server.plans.plan import LocalError, Plan, Step, not_found
from tools_server.sync.args import ChildOrder, SectionOrder, ShareArgs
from tools_server.sync.batch import NewUuid, new_uuid4
from tools_server.sync.commands import (
    Command,
    DeleteCollaborator,
    FilterAdd,
    FilterAddArgs,
    FilterDelete,
    FilterOrdersArgs,
    FilterUpdate,
    FilterUpdateArgs,
    FilterUpdateOrders,
    ItemIdArgs,
    LabelAdd,
    LabelAddArgs,
    LabelDelete,
    LabelDeleteArgs,
    LabelOrdersArgs,
    LabelUpdate,
    LabelUpdateArgs,
    LabelUpdateOrders,
    ProjectAdd,
    ProjectAddArgs,
    ProjectArchive,
    ProjectDelete,
    ProjectMove,
    ProjectMoveArgs,
    ProjectReorder,
    ProjectReorderArgs,
    ProjectUnarchive,
    ProjectUpdate,
    ProjectUpdateArgs,
    SectionAdd,
    SectionAddArgs,
    SectionArchive,
    SectionDelete,
    SectionMove,
    SectionMoveArgs,
    SectionReorder,
    SectionReorderArgs,
    SectionUnarchive,
    SectionUpdate,
    SectionUpdateArgs,
    ShareProject,
    facts_of,
    target_of,
)
from tools_server.sync.mirror import Mirror, project_rank
from tools_server.sync.resource_types import RESOURCE_TYPES, ResourceType

Resolved = tuple[str | None, LocalError | None]
_SIMPLE = {
    ("archive", "project"): ProjectArchive,
    ("unarchive", "project"): ProjectUnarchive,
    ("delete", "project"): ProjectDelete,
    ("archive", "section"): SectionArchive,
    ("unarchive", "section"): SectionUnarchive,
    ("delete", "section"): SectionDelete,
}


def resolve_project(mirror: Mirror, ref: str, *, archived: bool = False) -> Resolved:
    """A project id by id or exact name (case-insensitive); ambiguous and unknown names are errors."""
    pool = {**mirror.projects, **(mirror.archived_projects if archived else {})}
    if ref in pool:
        return ref, None
    folded = ref.casefold()
    matches = [p for p in pool.values() if p.name.casefold() == folded]
    if len(matches) == 1:
        return matches[0].id, None
    if matches:
        ids = ", ".join(sorted(p.id for p in matches))
        return None, LocalError("AMBIGUOUS_PROJECT", f"several projects are named '{ref}'; use an id: {ids}")
    return None, LocalError("PROJECT_NOT_FOUND", not_found("project", ref, mirror.project_suggestions(ref)))


@dataclass
class _Planner:
    mirror: Mirror
    new_uuid: NewUuid
    steps: list[Step] = field(default_factory=list[Step])
    # Objects added (or renamed) earlier in this call: folded name (sections: with their project) -> (temp) id.
    new_projects: dict[str, str] = field(default_factory=dict[str, str])
    new_sections: dict[tuple[str, str], str] = field(default_factory=dict[tuple[str, str], str])
    new_labels: dict[str, str] = field(default_factory=dict[str, str])
    new_filters: dict[str, str] = field(default_factory=dict[str, str])
    # Orders changed by reorders earlier in this call, so that several reorders of one list compose.
    orders: dict[str, int] = field(default_factory=dict[str, int])

    def plan(self, index: int, op: ProjectOp) -> None:
        label = f"{op.op} {op.kind} {op.name if op.op == 'add' else op.id}"
        try:
            command = getattr(self, f"_{op.kind}")(op)
        except _Failed as failed:
            self.steps.append(Step(index, label, error=failed.error))
            return
        self.steps.append(Step(index, label, command=command))

    # -- resolution -----------------------------------------------------------------------------------------------

    def project(self, ref: str, *, archived: bool = False) -> str:
        temp = self.new_projects.get(ref.casefold())
        if temp is not None:
            return temp
        found, error = resolve_project(self.mirror, ref, archived=archived)
        if error is not None or found is None:
            raise _Failed(error or LocalError("PROJECT_NOT_FOUND", ref))
        return found

    def section(self, ref: str, project: str | None, *, archived: bool = False) -> str:
        project_id = self.project(project) if project is not None else None
        if project_id is not None and (project_id, ref.casefold()) in self.new_sections:
            return self.new_sections[(project_id, ref.casefold())]
        pool = {**self.mirror.sections, **(self.mirror.archived_sections if archived else {})}
        if ref in pool:
            return ref
        folded = ref.casefold()
        matches = [s for s in pool.values() if s.name.casefold() == folded and project_id in (None, s.project_id)]
        if len(matches) == 1:
            return matches[0].id
        if matches:
            where = ", ".join(sorted(f"{s.id} in {self.mirror.project_name(s.project_id)}" for s in matches))
            raise _Failed(
                LocalError("AMBIGUOUS_SECTION", f"section '{ref}' is in several projects; set project: {where}")
            )
        suggestions = self.mirror.section_suggestions(ref, project_id)
        raise _Failed(LocalError("SECTION_NOT_FOUND", not_found("section", ref, suggestions)))

    def label(self, ref: str) -> str:
        temp = self.new_labels.get(ref.casefold())
        if temp is not None:
            return temp
        if ref in self.mirror.labels:
            return ref
        folded = ref.casefold()
        match = next((lab for lab in self.mirror.labels.values() if lab.name.casefold() == folded), None)
        if match is None:
            names = [lab.name for lab in self.mirror.labels.values()]
            close = [n for n in names if folded in n.casefold()][:3]
            raise _Failed(LocalError("LABEL_NOT_FOUND", not_found("label", ref, close)))
        return match.id

    def saved_filter(self, ref: str) -> str:
        temp = self.new_filters.get(ref.casefold())
        if temp is not None:
            return temp
        matches = self.mirror.find_filters(ref)
        if len(matches) == 1:
            return matches[0].id
        if matches:
            ids = ", ".join(sorted(f.id for f in matches))
            raise _Failed(LocalError("AMBIGUOUS_FILTER", f"several saved filters are named '{ref}'; use an id: {ids}"))
        close = [f.name for f in self.mirror.filters.values() if ref.casefold() in f.name.casefold()][:3]
        raise _Failed(LocalError("FILTER_NOT_FOUND", not_found("saved filter", ref, close)))

    # -- per kind -------------------------------------------------------------------------------------------------

    def _project(self, op: ProjectOp) -> Command:
        if op.op == "add":
            assert op.name is not None  # ProjectOp requires it
            fields = _details(op)
            if op.parent is not None:
                fields["parent_id"] = self.project(op.parent)
            temp = self.new_uuid()
            command = ProjectAdd(uuid=self.new_uuid(), temp_id=temp, args=ProjectAddArgs.model_validate(fields))
            self.new_projects[op.name.casefold()] = temp
            return command
        assert op.id is not None  # every other op names its target (ProjectOp checks)
        target = self.project(op.id, archived=op.op == "unarchive")
        if op.op == "update":
            if op.name is not None:  # later ops may use the new name
                self.new_projects[op.name.casefold()] = target
            args = ProjectUpdateArgs.model_validate({"id": target, **_details(op)})
            return ProjectUpdate(uuid=self.new_uuid(), args=args)
        if op.op == "move":
            parent = self.project(op.parent) if op.parent is not None else None
            if parent == target:
                raise _Failed(LocalError("INVALID_DESTINATION", "a project cannot go under itself"))
            return ProjectMove(uuid=self.new_uuid(), args=ProjectMoveArgs(id=target, parent_id=parent))
        if op.op in ("share", "unshare"):
            assert op.email is not None  # ProjectOp requires it
            kind = ShareProject if op.op == "share" else DeleteCollaborator
            return kind(uuid=self.new_uuid(), args=ShareArgs(project_id=target, email=op.email))
        if op.op == "reorder":
            project = self.mirror.projects.get(target)
            if project is None:
                raise _Failed(LocalError("NOT_YET_CREATED", "reorder a new project in a later call"))
            siblings = [
                p.id
                for p in sorted(self.mirror.projects.values(), key=project_rank)
                if p.parent_id == project.parent_id and not p.inbox_project
            ]
            orders = self._reorder(target, siblings, lambda i: self.mirror.projects[i].child_order, op)
            entries = [ChildOrder(id=i, child_order=o) for i, o in orders.items()]
            return ProjectReorder(uuid=self.new_uuid(), args=ProjectReorderArgs(projects=entries))
        return _SIMPLE[(op.op, "project")](uuid=self.new_uuid(), args=ItemIdArgs(id=target))

    def _section(self, op: ProjectOp) -> Command:
        if op.op == "add":
            assert op.name is not None and op.project is not None
            project_id = self.project(op.project)
            temp = self.new_uuid()
            args = SectionAddArgs(name=op.name, project_id=project_id)
            self.new_sections[(project_id, op.name.casefold())] = temp
            return SectionAdd(uuid=self.new_uuid(), temp_id=temp, args=args)
        assert op.id is not None
        if op.op == "move":
            assert op.project is not None
            target = self.section(op.id, None)
            args = SectionMoveArgs(id=target, project_id=self.project(op.project))
            return SectionMove(uuid=self.new_uuid(), args=args)
        target = self.section(op.id, op.project, archived=op.op == "unarchive")
        if op.op == "update":
            return SectionUpdate(uuid=self.new_uuid(), args=SectionUpdateArgs(id=target, name=op.name))
        if op.op == "reorder":
            section = self.mirror.sections.get(target)
            if section is None:
                raise _Failed(LocalError("NOT_YET_CREATED", "reorder a new section in a later call"))
            siblings = [
                s.id
                for s in sorted(self.mirror.sections.values(), key=lambda s: (s.section_order, s.name))
                if s.project_id == section.project_id
            ]
            orders = self._reorder(target, siblings, lambda i: self.mirror.sections[i].section_order, op)
            entries = [SectionOrder(id=i, section_order=o) for i, o in orders.items()]
            return SectionReorder(uuid=self.new_uuid(), args=SectionReorderArgs(sections=entries))
        return _SIMPLE[(op.op, "section")](uuid=self.new_uuid(), args=ItemIdArgs(id=target))

    def _label(self, op: ProjectOp) -> Command:
        fields = {name: getattr(op, name) for name in ("name", "color", "is_favorite") if getattr(op, name) is not None}
        if op.op == "add":
            assert op.name is not None
            temp = self.new_uuid()
            self.new_labels[op.name.casefold()] = temp
            return LabelAdd(uuid=self.new_uuid(), temp_id=temp, args=LabelAddArgs.model_validate(fields))
        assert op.id is not None
        target = self.label(op.id)
        if op.op == "update":
            if op.name is not None:
                self.new_labels[op.name.casefold()] = target
            return LabelUpdate(uuid=self.new_uuid(), args=LabelUpdateArgs.model_validate({"id": target, **fields}))
        if op.op == "reorder":
            if target not in self.mirror.labels:
                raise _Failed(LocalError("NOT_YET_CREATED", "reorder a new label in a later call"))
            siblings = [
                lab.id for lab in sorted(self.mirror.labels.values(), key=lambda lab: (lab.item_order or 0, lab.name))
            ]
            orders = self._reorder(target, siblings, lambda i: self.mirror.labels[i].item_order or 0, op)
            return LabelUpdateOrders(uuid=self.new_uuid(), args=LabelOrdersArgs(id_order_mapping=orders))
        return LabelDelete(uuid=self.new_uuid(), args=LabelDeleteArgs(id=target))

    def _filter(self, op: ProjectOp) -> Command:
        fields = {n: getattr(op, n) for n in ("name", "query", "color", "is_favorite") if getattr(op, n) is not None}
        if op.op == "add":
            assert op.name is not None
            temp = self.new_uuid()
            self.new_filters[op.name.casefold()] = temp
            return FilterAdd(uuid=self.new_uuid(), temp_id=temp, args=FilterAddArgs.model_validate(fields))
        assert op.id is not None
        target = self.saved_filter(op.id)
        if op.op == "update":
            if op.name is not None:
                self.new_filters[op.name.casefold()] = target
            return FilterUpdate(uuid=self.new_uuid(), args=FilterUpdateArgs.model_validate({"id": target, **fields}))
        if op.op == "reorder":
            if target not in self.mirror.filters:
                raise _Failed(LocalError("NOT_YET_CREATED", "reorder a new saved filter in a later call"))
            siblings = [f.id for f in sorted(self.mirror.filters.values(), key=lambda f: (f.item_order, f.name))]
            orders = self._reorder(target, siblings, lambda i: self.mirror.filters[i].item_order, op)
            return FilterUpdateOrders(uuid=self.new_uuid(), args=FilterOrdersArgs(id_order_mapping=orders))
        return FilterDelete(uuid=self.new_uuid(), args=ItemIdArgs(id=target))

    def _reorder(self, target: str, siblings: list[str], stored: Callable[[str], int], op: ProjectOp) -> dict[str, int]:
        """New orders (1..n) for the list with ``target`` at its new place; only entries that change, plus target."""
        current = sorted(siblings, key=lambda i: self.orders.get(i, stored(i)))
        rest = [i for i in current if i != target]
        if op.order is not None:
            place = min(op.order - 1, len(rest))
        else:
            anchor_ref = op.before if op.before is not None else op.after
            assert anchor_ref is not None  # ProjectOp requires one position
            anchor = self._anchor(anchor_ref, rest, op)
            place = rest.index(anchor) + (1 if op.after is not None else 0)
        rest.insert(place, target)
        changed: dict[str, int] = {}
        for position, object_id in enumerate(rest, start=1):
            if object_id == target or self.orders.get(object_id, stored(object_id)) != position:
                changed[object_id] = position
                self.orders[object_id] = position
        return changed

    def _anchor(self, ref: str, siblings: list[str], op: ProjectOp) -> str:
        if op.kind == "project":
            anchor = self.project(ref)
        elif op.kind == "section":
            anchor = self.section(ref, op.project)
        elif op.kind == "filter":
            anchor = self.saved_filter(ref)
        else:
            anchor = self.label(ref)
        if anchor not in siblings:
            raise _Failed(LocalError("INVALID_POSITION", f"'{ref}' is not in the same list as '{op.id}'"))
        return anchor


class _Failed(Exception):
    def __init__(self, error: LocalError) -> None:
        super().__init__(error.message)
        self.error = error


def _details(op: ProjectOp) -> dict[str, Any]:
    names = ("name", "color", "is_favorite", "view_style", "description")
    return {name: getattr(op, name) for name in names if getattr(op, name) is not None}


def plan_projects(ops: list[ProjectOp], mirror: Mirror, *, new_uuid: NewUuid = new_uuid4) -> Plan:
    planner = _Planner(mirror, new_uuid)
    for index, op in enumerate(ops):
        planner.plan(index, op)
    return Plan(tuple(planner.steps), noun="change")


def deleted_with(plan: Plan, mirror: Mirror) -> dict[str, set[str]]:
    """What the plan's commands remove, by resource type: their targets and, below them, what their declared cascades
    take along (a deleted project's sub-projects)."""
    doomed: dict[ResourceType[Any], set[str]] = {}
    for command in plan.commands:
        facts, target = facts_of(command), target_of(command)
        kind, cascade = RESOURCE_TYPES[facts.on], facts.cascades_to
        if cascade is not None and cascade.effect == "removes" and target is not None and kind.tasks_by is not None:
            doomed.setdefault(kind, set()).add(target)
    return {kind.name: kind.with_nested(ids, getattr(mirror, kind.table).values()) for kind, ids in doomed.items()}


def tasks_removed(plan: Plan, mirror: Mirror) -> int:
    """Open tasks (subtasks included) that the plan's commands remove along with their targets (their declared
    cascades): those in a deleted project, one of its sub-projects, or a deleted section."""
    within = [(RESOURCE_TYPES[name], ids) for name, ids in deleted_with(plan, mirror).items()]
    return sum(1 for item in mirror.items.values() if any(kind.holds(item, ids) for kind, ids in within))
