"""Pure planning of the task write tools (add, complete, move, update, reopen, delete): input + the mirror -> a Plan
of item commands with fresh uuids and temp_ids."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tools_server.dues import moved_recurring_due, new_due
from tools_server.inputs import (
    ItemChanges,
    MoveTarget,
    NewItem,
    NewProject,
    NewTaskFields,
    ReminderIn,
    TimeReminderIn,
)
from tools_server.plans.plan import LocalError, Plan, PlanError, Step, not_found
from tools_server.sync.batch import NewUuid, new_uuid4
from tools_server.sync.commands import (
    Command,
    DueInput,
    Item,
    ItemAdd,
    ItemClose,
    ItemDelete,
    ItemIdArgs,
    ItemMove,
    ItemMoveArgs,
    ItemUncomplete,
    ItemUpdate,
    ItemUpdateArgs,
    ProjectAdd,
    ProjectAddArgs,
    Reminder,
    ReminderAdd,
    ReminderAddArgs,
    ReminderDelete,
    SectionAdd,
    SectionAddArgs,
)
from tools_server.sync.mirror import Mirror

# ---------------------------------------------------------------------------------------------------------------------
# add_item


@dataclass
class _AddPlanner:
    mirror: Mirror
    new_uuid: NewUuid
    steps: list[Step] = field(default_factory=list[Step])
    project_steps: list[Step] = field(default_factory=list[Step])
    # New projects and sections of this call, by folded name, to their temp ids.
    new_projects: dict[str, str] = field(default_factory=dict[str, str])
    new_sections: dict[tuple[str, str], str] = field(default_factory=dict[tuple[str, str], str])

    def add_project(self, project: NewProject) -> None:
        index = len(self.project_steps)
        parent_id: str | None = None
        if project.parent is not None:
            parent_id, error = self._project_id(project.parent)
            if error is not None:
                self.project_steps.append(Step(index, project.name, error=error))
                return
        temp_id = self.new_uuid()
        args = (
            ProjectAddArgs(name=project.name, parent_id=parent_id) if parent_id else ProjectAddArgs(name=project.name)
        )
        self.project_steps.append(
            Step(index, project.name, ProjectAdd(uuid=self.new_uuid(), temp_id=temp_id, args=args))
        )
        self.new_projects[project.name.casefold()] = temp_id
        for name in project.sections or ():
            section_temp = self.new_uuid()
            command = SectionAdd(
                uuid=self.new_uuid(), temp_id=section_temp, args=SectionAddArgs(name=name, project_id=temp_id)
            )
            self.project_steps.append(Step(len(self.project_steps), f"{project.name}/{name}", command))
            self.new_sections[(temp_id, name.casefold())] = section_temp

    def add_item(self, item: NewTaskFields, parent: Step | None) -> None:
        index = len(self.steps)
        parent_index = parent.index if parent is not None else None
        label = item.content
        if parent is not None and parent.command is None:
            error = LocalError("PARENT_NOT_CREATED", f"parent #{parent.index} was not created")
            self.steps.append(Step(index, label, error=error, parent_index=parent_index))
        else:
            args, error = self._item_args(item, parent)
            if error is not None or args is None:
                self.steps.append(Step(index, label, error=error, parent_index=parent_index))
            else:
                # One pydantic-core pass builds the command and its args from plain data: a third cheaper than
                # constructing the two models in turn, and far cheaper than model_construct (defaults filled in Python).
                command = ItemAdd.model_validate({"uuid": self.new_uuid(), "temp_id": self.new_uuid(), "args": args})
                assert command.temp_id is not None
                extras = reminder_commands(command.temp_id, item.reminders or (), self.new_uuid)
                self.steps.append(Step(index, label, command=command, parent_index=parent_index, extras=extras))
        me = self.steps[-1]
        for child in item.subtasks or ():
            self.add_item(child, me)

    def _item_args(self, item: NewTaskFields, parent: Step | None) -> tuple[dict[str, Any] | None, LocalError | None]:
        """The item_add args as plain data (validated into ItemAddArgs with the command), or why there are none."""
        fields: dict[str, Any] = {"content": item.content}
        if parent is not None and parent.command is not None:
            fields["parent_id"] = parent.command.temp_id  # a subtask lives where its parent lives
        elif isinstance(item, NewItem):
            project_id: str | None = None
            if item.project is not None:
                project_id, error = self._project_id(item.project)
                if error is not None:
                    return None, error
                fields["project_id"] = project_id
            if item.section is not None:
                section_id, error = self._section_id(item.section, project_id)
                if error is not None:
                    return None, error
                fields["section_id"] = section_id
            if item.parent is not None:
                # Under an existing task: Todoist rejects or ignores a conflicting project/section.
                fields = {"content": item.content, "parent_id": item.parent}
            if item.assignee is not None:
                parent_task = self.mirror.items.get(item.parent) if item.parent is not None else None
                where = parent_task.project_id if parent_task is not None else project_id
                uid, error = assignee_uid(item.assignee, where, self.mirror)
                if error is not None:
                    return None, error
                fields["responsible_uid"] = uid
        fields.update(given_fields(item, None, ("description", "labels", "priority")))
        return fields, None

    def _project_id(self, ref: str) -> tuple[str | None, LocalError | None]:
        temp = self.new_projects.get(ref.casefold())
        if temp is not None:
            return temp, None
        project = self.mirror.find_project(ref)
        if project is not None:
            return project.id, None
        return None, LocalError("PROJECT_NOT_FOUND", not_found("project", ref, self.mirror.project_suggestions(ref)))

    def _section_id(self, ref: str, project_id: str | None) -> tuple[str | None, LocalError | None]:
        if project_id is not None and (project_id, ref.casefold()) in self.new_sections:
            return self.new_sections[(project_id, ref.casefold())], None
        matches = self.mirror.find_sections(ref, project_id)
        if len(matches) == 1:
            return matches[0].id, None
        if len(matches) > 1:
            where = ", ".join(sorted({self.mirror.project_name(s.project_id) for s in matches}))
            return None, LocalError(
                "AMBIGUOUS_SECTION", f"section '{ref}' exists in several projects ({where}); set project"
            )
        suggestions = self.mirror.section_suggestions(ref, project_id)
        return None, LocalError("SECTION_NOT_FOUND", not_found("section", ref, suggestions))


def plan_add(
    items: Sequence[NewItem], mirror: Mirror, *, new_projects: Sequence[NewProject] = (), new_uuid: NewUuid = new_uuid4
) -> tuple[Plan, Plan]:
    """Plan projects/sections first (their temp_ids are referenced by the tasks), then tasks depth-first."""
    planner = _AddPlanner(mirror, new_uuid)
    for project in new_projects:
        planner.add_project(project)
    for item in items:
        planner.add_item(item, None)
    return Plan(tuple(planner.project_steps)), Plan(tuple(planner.steps))


def assignee_uid(ref: str, project_id: str | None, mirror: Mirror) -> tuple[str | None, LocalError | None]:
    """The user id ``ref`` names for a task in ``project_id`` (None: the Inbox): ``me``, else one collaborator of
    that project by id, name or email (case-insensitive); Todoist lets only those be responsible (reference §2.11)."""
    me = mirror.user.id if mirror.user is not None else None
    if ref.casefold() == "me" or ref == me:
        if me is None:
            return None, LocalError("USER_UNKNOWN", "assignee: the user is not known yet; sync first")
        return me, None
    where = project_id or mirror.inbox_project_id or ""
    members = mirror.members(where)
    folded = ref.casefold()
    found = [c for c in members if ref == c.id or folded in (c.full_name.casefold(), c.email.casefold())]
    if len(found) == 1:
        return found[0].id, None
    # A project made in this call has a temp id and no members yet.
    name = f"project {mirror.project_name(where)}" if where in mirror.projects else "a project new in this call"
    if found:
        emails = ", ".join(c.email or c.id for c in found)
        return None, LocalError("AMBIGUOUS_ASSIGNEE", f"assignee: several collaborators are '{ref}' ({emails})")
    if not members:
        return None, LocalError("ASSIGNEE_NOT_FOUND", f"assignee: {name} is not shared; only me can be")
    names = [c.full_name or c.email or c.id for c in members if c.id != me]
    kind = "collaborator of " + name.removeprefix("project ")
    return None, LocalError("ASSIGNEE_NOT_FOUND", f"assignee: {not_found(kind, ref, names)}")


# ---------------------------------------------------------------------------------------------------------------------
# complete_items and move_items


def _dedupe(ids: list[str]) -> tuple[list[str], tuple[str, ...]]:
    unique = list(dict.fromkeys(ids))
    dropped = len(ids) - len(unique)
    notes = (f"{dropped} duplicate id(s) ignored",) if dropped else ()
    return unique, notes


def plan_complete(ids: list[str], mirror: Mirror, *, new_uuid: NewUuid = new_uuid4) -> Plan:
    """item_close per id: it completes normal tasks and advances recurring ones, as the Todoist apps do."""
    unique, notes = _dedupe(ids)
    steps = tuple(
        Step(
            i,
            label_of(mirror, item_id),
            command=ItemClose(uuid=new_uuid(), args=ItemIdArgs(id=item_id)),
        )
        for i, item_id in enumerate(unique)
    )
    return Plan(steps, notes)


def resolve_destination(target: MoveTarget, mirror: Mirror) -> tuple[str, str]:
    """(argument, id) for the one destination; raises PlanError naming close matches when it is unknown."""
    if target.to_project is not None:
        project = mirror.find_project(target.to_project)
        if project is None:
            raise PlanError(not_found("project", target.to_project, mirror.project_suggestions(target.to_project)))
        return "project_id", project.id
    if target.to_section is not None:
        matches = mirror.find_sections(target.to_section, None)
        if len(matches) == 1:
            return "section_id", matches[0].id
        if matches:
            where = ", ".join(sorted(f"{s.id} in {mirror.project_name(s.project_id)}" for s in matches))
            raise PlanError(f"section '{target.to_section}' is ambiguous; use its id: {where}")
        raise PlanError(not_found("section", target.to_section, mirror.section_suggestions(target.to_section, None)))
    assert target.to_parent is not None  # MoveTarget guarantees exactly one destination
    return "parent_id", target.to_parent


def plan_move(ids: list[str], destination: tuple[str, str], mirror: Mirror, *, new_uuid: NewUuid = new_uuid4) -> Plan:
    unique, notes = _dedupe(ids)
    argument, target_id = destination
    steps: list[Step] = []
    for i, item_id in enumerate(unique):
        label = label_of(mirror, item_id)
        if argument == "parent_id" and (item_id == target_id or target_id in mirror.descendants(item_id)):
            error = LocalError("INVALID_DESTINATION", "a task cannot move under itself or its own subtask")
            steps.append(Step(i, label, error=error))
            continue
        args = ItemMoveArgs.model_validate({"id": item_id, argument: target_id})
        steps.append(Step(i, label, command=ItemMove(uuid=new_uuid(), args=args)))
    return Plan(tuple(steps), notes)


# ---------------------------------------------------------------------------------------------------------------------
# update_items and delete_items

_CLEARED: dict[str, Any] = {"due": None, "deadline": None, "duration": None, "description": "", "labels": []}


def given_fields(request: NewTaskFields | ItemChanges, before: Item | None, plain: tuple[str, ...]) -> dict[str, Any]:
    """The task fields a tool input sets, in item_add/item_update argument shapes: ``plain`` ones as given, the due
    (see ``requested_due``), a deadline as ``{date}`` and a duration as ``{amount, unit}``."""
    fields: dict[str, Any] = {name: getattr(request, name) for name in plain if getattr(request, name) is not None}
    due = requested_due(request, before)
    if due is not None:
        fields["due"] = due
    if request.deadline is not None:
        fields["deadline"] = {"date": request.deadline}
    if request.duration is not None:
        fields["duration"] = {"amount": request.duration.amount, "unit": request.duration.unit}
    return fields


def requested_due(request: NewTaskFields | ItemChanges, before: Item | None) -> dict[str, Any] | None:
    """The due a tool input asks for, in a documented input shape (``dues``): natural language, or an explicit
    date/datetime that keeps ``before``'s recurrence (and, for a new day, its time of day)."""
    if request.due is not None:
        return new_due(string=request.due, lang=request.due_lang)
    if request.due_date is None and request.due_datetime is None:
        return None
    old = before.due if before is not None else None
    if old is not None and old.is_recurring:
        # Todoist keeps a recurrence only when the old string comes along with the new date (reference §3).
        return moved_recurring_due(old, day=request.due_date, when=request.due_datetime, lang=request.due_lang)
    return new_due(day=request.due_date, when=request.due_datetime, lang=request.due_lang)


def plan_update(changes: list[ItemChanges], mirror: Mirror, *, new_uuid: NewUuid = new_uuid4) -> Plan:
    steps: list[Step] = []
    for index, change in enumerate(changes):
        before = mirror.items.get(change.id)
        fields: dict[str, Any] = {"id": change.id}
        fields.update(given_fields(change, before, ("content", "description", "labels", "priority")))
        if change.add_labels is not None or change.remove_labels is not None:
            if before is None:
                error = LocalError("ITEM_NOT_FOUND", f"id: no open task with id {change.id}")
                steps.append(Step(index, change.id, error=error))
                continue
            fields["labels"] = edited_labels(before.labels, change.add_labels or (), change.remove_labels or ())
        if change.assignee is not None:
            if before is None:
                error = LocalError("ITEM_NOT_FOUND", f"id: no open task with id {change.id}")
                steps.append(Step(index, change.id, error=error))
                continue
            uid, error = assignee_uid(change.assignee, before.project_id, mirror)
            if error is not None:
                steps.append(Step(index, label_of(mirror, change.id), error=error))
                continue
            fields["responsible_uid"] = uid
        clear = change.clear or []
        for name in clear:
            if name == "assignee":
                fields["responsible_uid"] = None
            elif name not in ("reminders", "locations"):
                fields[name] = _CLEARED[name]
        label = label_of(mirror, change.id)
        gone, unmatched = removed_reminders(change, mirror)
        if unmatched:
            message = f"remove_reminders: the task has no reminder at or with id '{unmatched[0]}'"
            steps.append(Step(index, label, error=LocalError("REMINDER_NOT_FOUND", message)))
            continue
        reminders = [
            *(ReminderDelete(uuid=new_uuid(), args=ItemIdArgs(id=r.id)) for r in gone),
            *reminder_commands(change.id, change.reminders or (), new_uuid),
        ]
        commands: list[Command] = []
        if len(fields) > 1:
            commands.append(ItemUpdate(uuid=new_uuid(), args=ItemUpdateArgs.model_validate(fields)))
        commands += reminders
        if not commands:
            if "reminders" in clear or "locations" in clear:
                steps.append(Step(index, label, error=LocalError("NO_REMINDERS", "the task has no reminders to clear")))
            else:
                steps.append(Step(index, label, error=LocalError("NOTHING_TO_UPDATE", "no field to change was given")))
            continue
        steps.append(Step(index, label, command=commands[0], extras=tuple(commands[1:]), target=change.id))
    return Plan(tuple(steps))


def edited_labels(labels: Sequence[str], add: Sequence[str], remove: Sequence[str]) -> list[str]:
    """The task's labels with ``remove`` taken out and ``add`` put after them, names compared as Todoist does
    (case-insensitively), the ones kept spelt as they were."""
    gone = {name.casefold() for name in remove}
    kept = [name for name in labels if name.casefold() not in gone]
    have = {name.casefold() for name in kept}
    for name in add:
        if name.casefold() not in have:
            kept.append(name)
            have.add(name.casefold())
    return kept


def reminder_commands(item_id: str, reminders: Sequence[TimeReminderIn], new_uuid: NewUuid) -> tuple[Command, ...]:
    """reminder_add per reminder: absolute with a due string, relative with minute_offset, or location with the
    place's coordinates as strings (reference §3, §2.7)."""
    commands: list[Command] = []
    for reminder in reminders:
        place = reminder.place if isinstance(reminder, ReminderIn) else None
        if place is not None:
            args = ReminderAddArgs(
                item_id=item_id,
                type="location",
                name=place.name,
                loc_lat=_coordinate(place.lat),
                loc_long=_coordinate(place.long),
                loc_trigger="on_leave" if place.on_leave else "on_enter",
                radius=place.radius,
            )
        elif reminder.due is not None:
            args = ReminderAddArgs(item_id=item_id, type="absolute", due=DueInput(string=reminder.due))
        else:
            args = ReminderAddArgs(item_id=item_id, type="relative", minute_offset=reminder.minutes_before)
        commands.append(ReminderAdd(uuid=new_uuid(), temp_id=new_uuid(), args=args))
    return tuple(commands)


def _coordinate(value: float) -> str:
    """A coordinate as Todoist's strings hold it: plain decimal, never an exponent (1e-05)."""
    return format(value, ".7f").rstrip("0").rstrip(".") or "0"


def removed_reminders(change: ItemChanges, mirror: Mirror) -> tuple[list[Reminder], list[str]]:
    """The task's reminders ``clear`` and ``remove_reminders`` take away (a place name matches its location
    reminders, case-insensitively; an id its reminder), and the given names that matched none."""
    clear = change.clear or ()
    wanted = {name.casefold() for name in change.remove_reminders or ()}
    found: set[str] = set()
    gone: list[Reminder] = []
    for reminder in mirror.reminders_of(change.id):
        keys = {reminder.id.casefold()}
        if reminder.type == "location" and reminder.name:
            keys.add(reminder.name.strip().casefold())
        hits = keys & wanted
        found |= hits
        if "reminders" in clear or ("locations" in clear and reminder.type == "location") or hits:
            gone.append(reminder)
    return gone, [name for name in change.remove_reminders or () if name.casefold() not in found]


def plan_reopen(ids: list[str], mirror: Mirror, *, new_uuid: NewUuid = new_uuid4) -> Plan:
    """item_uncomplete per id; completed tasks are not mirrored, so unknown ids are fine (the backend decides)."""
    unique, notes = _dedupe(ids)
    steps = tuple(
        Step(
            i,
            label_of(mirror, item_id),
            command=ItemUncomplete(uuid=new_uuid(), args=ItemIdArgs(id=item_id)),
            missing=f"no completed task with id {item_id}",
        )
        for i, item_id in enumerate(unique)
    )
    return Plan(steps, notes)


def plan_delete(ids: list[str], mirror: Mirror, *, new_uuid: NewUuid = new_uuid4) -> Plan:
    """item_delete per id; a listed subtask of a listed task goes with it (deleting it again would fail as not
    found): its step sends nothing and succeeds when its topmost listed ancestor's deletion does."""
    unique, notes = _dedupe(ids)
    uuids = {item_id: new_uuid() for item_id in unique}
    steps: list[Step] = []
    for i, item_id in enumerate(unique):
        ancestor = _topmost_listed(item_id, uuids, mirror)
        if ancestor is not None:
            steps.append(Step(i, label_of(mirror, item_id), target=item_id, shared=uuids[ancestor]))
        else:
            steps.append(
                Step(i, label_of(mirror, item_id), command=ItemDelete(uuid=uuids[item_id], args=ItemIdArgs(id=item_id)))
            )
    return Plan(tuple(steps), notes)


def _topmost_listed(item_id: str, listed: Mapping[str, object], mirror: Mirror) -> str | None:
    """The highest of ``item_id``'s ancestors (open, or completed as the mirror last saw them) that is listed."""
    found: str | None = None
    seen = {item_id}
    current = mirror.items.get(item_id) or (mirror.gone[item_id][1] if item_id in mirror.gone else None)
    while current is not None and current.parent_id is not None and current.parent_id not in seen:
        parent = current.parent_id
        seen.add(parent)
        if parent in listed:
            found = parent
        current = mirror.items.get(parent) or (mirror.gone[parent][1] if parent in mirror.gone else None)
    return found


def label_of(mirror: Mirror, item_id: str) -> str:
    item = mirror.items.get(item_id)
    return item.content if item is not None else item_id
