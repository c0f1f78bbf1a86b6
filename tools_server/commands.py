"""Pure planning: tool requests -> Sync commands with fresh uuids and temp_ids, and chunks that fit one request.

Nothing here sends anything. A step that cannot be planned (an unknown project name, say) carries a local error and
no command, so the summary can report it beside the backend's answers in input order.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from tools_server.inputs import MoveTarget, NewItem, NewProject
from tools_server.mirror import Mirror
from tools_server.models import (
    COMMAND_ADAPTER,
    MAX_BODY_BYTES,
    MAX_COMMANDS_PER_REQUEST,
    Command,
    DeadlineInput,
    DueInput,
    Duration,
    ItemAdd,
    ItemClose,
    ItemIdArgs,
    ItemMove,
    ItemMoveArgs,
    ProjectAdd,
    ProjectAddArgs,
    SectionAdd,
    SectionAddArgs,
)

NewUuid = Callable[[], str]
StepKind = Literal["task", "project", "section"]

# Room left in each request body for sync_token, resource_types and JSON framing.
_BODY_HEADROOM = 8 * 1024
_ID_ARGS = ("id", "project_id", "section_id", "parent_id", "item_id")


# The variant nibble of an RFC 9562 uuid is 10xx: keep the random low two bits, set the high ones.
_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


def new_uuid4() -> str:
    """A random (version 4) uuid as text; str(uuid.uuid4()) costs 2.5 us, which was a fifth of planning a task.

    One os.urandom call per uuid (not a buffer of them): nothing to share between threads or forked processes, where
    a repeated uuid would make the backend drop a command as already done.
    """
    h = os.urandom(16).hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}"


@dataclass(frozen=True)
class LocalError:
    """Why a step was not sent: the model can fix it by changing its input."""

    tag: str
    message: str


@dataclass(slots=True)
class Step:
    """One planned task, project or section: a command to send, or the local error that stopped it (not frozen:
    a frozen dataclass sets each field through object.__setattr__, twice the cost, and nothing mutates a Step)."""

    index: int
    label: str
    kind: StepKind = "task"
    command: Command | None = None
    error: LocalError | None = None
    parent_index: int | None = None


@dataclass(frozen=True)
class Plan:
    steps: tuple[Step, ...]
    notes: tuple[str, ...] = ()

    @property
    def commands(self) -> list[Command]:
        return [s.command for s in self.steps if s.command is not None]


class PlanError(ValueError):
    """The whole request is unusable (e.g. an unknown destination): nothing is planned."""


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
                self.project_steps.append(Step(index, project.name, "project", error=error))
                return
        temp_id = self.new_uuid()
        args = (
            ProjectAddArgs(name=project.name, parent_id=parent_id) if parent_id else ProjectAddArgs(name=project.name)
        )
        self.project_steps.append(
            Step(index, project.name, "project", ProjectAdd(uuid=self.new_uuid(), temp_id=temp_id, args=args))
        )
        self.new_projects[project.name.casefold()] = temp_id
        for name in project.sections or ():
            section_temp = self.new_uuid()
            command = SectionAdd(
                uuid=self.new_uuid(), temp_id=section_temp, args=SectionAddArgs(name=name, project_id=temp_id)
            )
            self.project_steps.append(Step(len(self.project_steps), f"{project.name}/{name}", "section", command))
            self.new_sections[(temp_id, name.casefold())] = section_temp

    def add_item(self, item: NewItem, parent: Step | None) -> None:
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
                self.steps.append(Step(index, label, command=command, parent_index=parent_index))
        me = self.steps[-1]
        for child in item.subtasks or ():
            self.add_item(child, me)

    def _item_args(self, item: NewItem, parent: Step | None) -> tuple[dict[str, Any] | None, LocalError | None]:
        """The item_add args as plain data (validated into ItemAddArgs with the command), or why there are none."""
        fields: dict[str, Any] = {"content": item.content}
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
        if parent is not None and parent.command is not None:
            fields["parent_id"] = parent.command.temp_id
        elif item.parent is not None:
            fields["parent_id"] = item.parent
        if "parent_id" in fields:
            # A subtask lives where its parent lives; Todoist rejects or ignores a conflicting project/section.
            fields.pop("project_id", None)
            fields.pop("section_id", None)
        for name in ("description", "labels", "priority"):
            value = getattr(item, name)
            if value is not None:
                fields[name] = value
        if item.due is not None:
            fields["due"] = DueInput(string=item.due, lang=item.due_lang)
        elif item.due_date is not None:
            fields["due"] = DueInput(date=item.due_date, lang=item.due_lang)
        elif item.due_datetime is not None:
            fields["due"] = DueInput(datetime=item.due_datetime, lang=item.due_lang)
        if item.deadline is not None:
            fields["deadline"] = DeadlineInput(date=item.deadline)
        if item.duration is not None:
            fields["duration"] = Duration(amount=item.duration.amount, unit=item.duration.unit)
        return fields, None

    def _project_id(self, ref: str) -> tuple[str | None, LocalError | None]:
        temp = self.new_projects.get(ref.casefold())
        if temp is not None:
            return temp, None
        project = self.mirror.find_project(ref)
        if project is not None:
            return project.id, None
        return None, LocalError("PROJECT_NOT_FOUND", _not_found("project", ref, self.mirror.project_suggestions(ref)))

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
        return None, LocalError("SECTION_NOT_FOUND", _not_found("section", ref, suggestions))


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
            _label(mirror, item_id),
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
            raise PlanError(_not_found("project", target.to_project, mirror.project_suggestions(target.to_project)))
        return "project_id", project.id
    if target.to_section is not None:
        matches = mirror.find_sections(target.to_section, None)
        if len(matches) == 1:
            return "section_id", matches[0].id
        if matches:
            where = ", ".join(sorted(f"{s.id} in {mirror.project_name(s.project_id)}" for s in matches))
            raise PlanError(f"section '{target.to_section}' is ambiguous; use its id: {where}")
        raise PlanError(_not_found("section", target.to_section, mirror.section_suggestions(target.to_section, None)))
    assert target.to_parent is not None  # MoveTarget guarantees exactly one destination
    return "parent_id", target.to_parent


def plan_move(ids: list[str], destination: tuple[str, str], mirror: Mirror, *, new_uuid: NewUuid = new_uuid4) -> Plan:
    unique, notes = _dedupe(ids)
    argument, target_id = destination
    steps: list[Step] = []
    # One subtask index for the whole call: a per-id rebuild made moving N tasks cost N passes over the account.
    children = mirror.children_index() if argument == "parent_id" else {}
    for i, item_id in enumerate(unique):
        label = _label(mirror, item_id)
        if argument == "parent_id" and (item_id == target_id or target_id in mirror.descendants(item_id, children)):
            error = LocalError("INVALID_DESTINATION", "a task cannot move under itself or its own subtask")
            steps.append(Step(i, label, error=error))
            continue
        args = ItemMoveArgs.model_validate({"id": item_id, argument: target_id})
        steps.append(Step(i, label, command=ItemMove(uuid=new_uuid(), args=args)))
    return Plan(tuple(steps), notes)


# ---------------------------------------------------------------------------------------------------------------------
# Chunking and temp ids across chunks


def command_size(command: Command) -> int:
    return len(json.dumps(command.to_wire(), separators=(",", ":"), ensure_ascii=False).encode())


# A command whose free text, at the worst JSON expansion (6 bytes for an escaped control character), stays under this
# cannot reach 10 KiB: its other fields (ids, dates, numbers, key names) are bounded by the input limits to well under
# 2 KiB. So 100 of them fit in 1 MiB and need not be serialised just to be measured.
_SMALL_TEXT = 8192


def _text_length(command: Command) -> int:
    fields = vars(command.args)
    total = 0
    for name in ("content", "description", "name"):
        value = fields.get(name)
        if isinstance(value, str):
            total += len(value)
    labels = fields.get("labels")
    if isinstance(labels, list):
        total += sum(len(label) + 4 for label in labels)  # pyright: ignore[reportUnknownArgumentType, reportUnknownVariableType]
    due = fields.get("due")
    if isinstance(due, DueInput):
        total += len(due.string or "")
    return total


def chunk_commands(
    commands: Sequence[Command], *, max_count: int = MAX_COMMANDS_PER_REQUEST, max_bytes: int = MAX_BODY_BYTES
) -> list[list[Command]]:
    """Split in order into requests of at most ``max_count`` commands and ``max_bytes`` of body."""
    budget = max_bytes - _BODY_HEADROOM
    chunks: list[list[Command]] = []
    current: list[Command] = []
    used = 0
    small = max_count * (10 * 1024) <= budget
    for command in commands:
        # Bytes are counted exactly only when a batch of small commands could not fit anyway, or this one is big.
        size = 10 * 1024 if small and _text_length(command) * 6 < _SMALL_TEXT else command_size(command) + 1
        if current and (len(current) >= max_count or used + size > budget):
            chunks.append(current)
            current, used = [], 0
        current.append(command)
        used += size
    if current:
        chunks.append(current)
    return chunks


def rewrite_temp_ids(command: Command, mapping: dict[str, str]) -> Command:
    """Replace temp ids created by earlier requests with their real ids.

    Temp ids only resolve inside the request that declared them, so a child planned into a later chunk than its
    parent must carry the parent's real id. Rewriting happens before the chunk is first sent, so every retry of
    it is still byte-identical.
    """
    fields = vars(command.args)
    if not mapping or not any(fields.get(name) in mapping for name in _ID_ARGS):
        return command  # the common case, checked without serialising the command
    args = command.args.model_dump(mode="json", exclude_unset=True)
    for name in _ID_ARGS:
        value = args.get(name)
        if isinstance(value, str) and value in mapping:
            args[name] = mapping[value]
    wire = command.to_wire() | {"args": args}
    return COMMAND_ADAPTER.validate_python(wire)


def _label(mirror: Mirror, item_id: str) -> str:
    item = mirror.items.get(item_id)
    return item.content if item is not None else item_id


def _not_found(kind: str, ref: str, suggestions: list[str]) -> str:
    if suggestions:
        return f"no {kind} named '{ref}'; closest: {', '.join(suggestions)}"
    return f"no {kind} named '{ref}'"
