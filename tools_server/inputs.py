"""Tool arguments as the model sends them. Field descriptions are text the model reads: short instructions.

Limits are part of the contract (README "Limits"): they keep one call inside one sane batch and stop runaway input
before anything reaches the backend.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated, Literal, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, WithJsonSchema, model_validator

from tools_server.sync.commands import DueLang

MAX_ITEMS_PER_CALL = 1000
MAX_CONTENT_CHARS = 500
MAX_DESCRIPTION_CHARS = 16_000
MAX_NAME_CHARS = 120
MAX_SUBTASK_DEPTH = 4
MAX_LABELS = 20

Ref = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_NAME_CHARS)]
TaskId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
LabelName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
DateStr = Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}$")]


class _Strict(BaseModel):
    # Unknown keys are errors: a misspelt field ("project_name") must not be silently dropped. Strict types: `true`
    # is not the priority 1 and "4" is not the number 4 (the model sent something it did not mean).
    model_config = ConfigDict(extra="forbid", strict=True)


# Advertised as plain integers: their bounds are size caps the server enforces (README "Limits"), and the schema of
# every task in add_item's unrolled subtask tree repeats these fields (the tools/list budget is 15,000 characters).
_INTEGER = WithJsonSchema({"type": "integer"})


class DurationIn(_Strict):
    amount: Annotated[int, Field(gt=0, le=10_000), _INTEGER]
    unit: Literal["minute", "day"]


MAX_REMINDERS = 10


# One reminder: at a moment (due), or minutes_before the task's timed due. (A comment, not a docstring: pydantic
# would put a docstring into every tools/list.)
class ReminderIn(_Strict):
    due: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | None = Field(
        default=None, description="e.g. 'tomorrow 9am'"
    )
    minutes_before: Annotated[int, Field(ge=0, le=43_200), _INTEGER] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Self:
        if (self.due is None) == (self.minutes_before is None):
            raise ValueError("give exactly one of due, minutes_before")
        return self


Reminders = Annotated[list[ReminderIn], Field(max_length=MAX_REMINDERS)]


# The fields of a new task wherever it sits in a tree. A comment, not a docstring: pydantic would advertise it.
class NewTaskFields(_Strict):
    content: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_CONTENT_CHARS),
        Field(description="Title"),
    ]
    description: Annotated[str | None, Field(max_length=MAX_DESCRIPTION_CHARS)] = None
    labels: Annotated[list[LabelName], Field(max_length=MAX_LABELS)] | None = None
    priority: Annotated[int, Field(ge=1, le=4, description="4 = most urgent (p1), 1 = normal")] | None = None
    due: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = Field(
        default=None, description="Natural language, e.g. 'tomorrow 9am', 'every monday'"
    )
    due_date: DateStr | None = None
    due_datetime: Annotated[str, StringConstraints(min_length=10, max_length=40)] | None = Field(
        default=None, description="ISO 8601"
    )
    due_lang: DueLang | None = None
    deadline: DateStr | None = None
    duration: DurationIn | None = None
    reminders: Reminders | None = None
    subtasks: Annotated[list[NewSubtask], Field(max_length=MAX_ITEMS_PER_CALL)] | None = None

    @model_validator(mode="after")
    def _one_due_form(self) -> Self:
        given = [name for name in ("due", "due_date", "due_datetime") if getattr(self, name) is not None]
        if len(given) > 1:
            raise ValueError(f"give only one of due, due_date, due_datetime (got {', '.join(given)})")
        return self


# A subtask lives where its parent lives: it has no project, section or parent of its own (Todoist would reject or
# ignore them), so its schema does not offer them. That keeps the unrolled subtask tree of add_item small (issue 22).
class NewSubtask(NewTaskFields):
    pass


class NewItem(NewTaskFields):
    project: Ref | None = Field(default=None, description="Project id or name; default Inbox")
    section: Ref | None = Field(default=None, description="Section id or name")
    parent: TaskId | None = Field(default=None, description="Parent task id")


class NewProject(_Strict):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_NAME_CHARS)]
    parent: Ref | None = Field(default=None, description="Parent project id or name")
    sections: Annotated[list[Ref], Field(max_length=50)] | None = None


Ids = Annotated[list[TaskId], Field(min_length=1, max_length=MAX_ITEMS_PER_CALL)]


class Beside(_Strict):
    before: TaskId | None = None
    after: TaskId | None = None

    @model_validator(mode="after")
    def _one_side(self) -> Self:
        if (self.before is None) == (self.after is None):
            raise ValueError("give exactly one of before, after")
        return self


Position = Literal["top", "bottom"] | Beside


class MoveTarget(_Strict):
    """Exactly one destination (or none with a position: reorder in place); checked here so nothing is planned for
    a conflicting request."""

    to_project: Ref | None = None
    to_section: Ref | None = None
    to_parent: TaskId | None = None
    position: Position | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        given = [name for name in ("to_project", "to_section", "to_parent") if getattr(self, name) is not None]
        if len(given) != 1 and not (not given and self.position is not None):
            found = ", ".join(given) if given else "none"
            raise ValueError(f"give exactly one of to_project, to_section, to_parent (got {found})")
        return self


def count_items(items: Sequence[NewTaskFields]) -> int:
    """Tasks in a tree, subtasks included."""
    return sum(1 + count_items(item.subtasks or []) for item in items)


def tree_depth(items: Sequence[NewTaskFields]) -> int:
    """Levels in a tree: a flat list is depth 1."""
    return max((1 + tree_depth(item.subtasks or []) for item in items), default=0)


Clearable = Literal["due", "deadline", "duration", "description", "labels", "reminders"]


class ItemChanges(_Strict):
    """Fields to change on one task; anything left out stays as it is."""

    id: TaskId
    content: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_CONTENT_CHARS)] | None
    ) = None
    description: Annotated[str | None, Field(max_length=MAX_DESCRIPTION_CHARS)] = None
    labels: Annotated[list[LabelName], Field(max_length=MAX_LABELS)] | None = None
    priority: Annotated[int, Field(ge=1, le=4, description="4 = most urgent (p1)")] | None = None
    due: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = Field(
        default=None, description="Natural language; replaces any recurrence"
    )
    due_date: DateStr | None = Field(default=None, description="New date; a recurring task keeps recurring")
    due_datetime: Annotated[str, StringConstraints(min_length=10, max_length=40)] | None = None
    due_lang: DueLang | None = None
    deadline: DateStr | None = None
    duration: DurationIn | None = None
    reminders: Reminders | None = Field(default=None, description="Added; with clear ['reminders'] they replace")
    clear: list[Clearable] | None = Field(default=None, description="Fields to empty")

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        given = [name for name in ("due", "due_date", "due_datetime") if getattr(self, name) is not None]
        if len(given) > 1:
            raise ValueError(f"give only one of due, due_date, due_datetime (got {', '.join(given)})")
        for name in self.clear or ():
            if name == "reminders":
                continue  # cleared first, then the given ones are added: a replacement
            if (name == "due" and given) or (name != "due" and getattr(self, name) is not None):
                raise ValueError(f"{name} is both set and cleared")
        return self


# ---------------------------------------------------------------------------------------------------------------------
# comment_items and manage_projects

MAX_COMMENT_CHARS = 15_000
MAX_OPS_PER_CALL = 200
CommentText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_COMMENT_CHARS)]


def _web_url(value: str) -> str:
    # Checked here, not advertised as a schema pattern: the tools/list budget (issue 22).
    if not re.fullmatch(r"https?://\S+", value):
        raise ValueError("must be an http(s) URL without spaces")
    return value


WebUrl = Annotated[str, StringConstraints(max_length=2000), AfterValidator(_web_url)]


class NewComment(_Strict):
    task: TaskId | None = None
    project: Ref | None = None
    content: CommentText
    file_url: WebUrl | None = Field(default=None, description="Attach file by URL")

    @model_validator(mode="after")
    def _one_parent(self) -> Self:
        if (self.task is None) == (self.project is None):
            raise ValueError("give exactly one of task or project")
        return self


class CommentEdit(_Strict):
    id: TaskId
    content: CommentText


# Todoist's color names (reference: DC "Colors", ids 30-49); checked here so a typo fails before anything is sent.
COLORS = (
    "berry_red", "red", "orange", "yellow", "olive_green", "lime_green", "green", "mint_green", "teal", "sky_blue",
    "light_blue", "blue", "grape", "violet", "lavender", "magenta", "salmon", "charcoal", "grey", "taupe",
)  # fmt: skip


def _known_color(value: str) -> str:
    if value not in COLORS:
        raise ValueError(f"unknown color '{value}'; one of: {', '.join(COLORS)}")
    return value


Color = Annotated[str, AfterValidator(_known_color)]
OpName = Literal["add", "update", "move", "reorder", "archive", "unarchive", "delete"]
OpKind = Literal["project", "section", "label", "filter"]
_DETAILS = frozenset({"name", "color", "is_favorite", "view_style", "description"})
# (op, kind) -> (fields it may carry, fields it needs). reorder takes exactly one of order/before/after.
_POSITION = frozenset({"order", "before", "after"})
OP_FIELDS: dict[tuple[str, str], tuple[frozenset[str], frozenset[str]]] = {
    ("add", "project"): (_DETAILS | {"parent"}, frozenset({"name"})),
    ("update", "project"): (_DETAILS | {"id"}, frozenset({"id"})),
    ("move", "project"): (frozenset({"id", "parent"}), frozenset({"id", "parent"})),
    ("add", "section"): (frozenset({"name", "project"}), frozenset({"name", "project"})),
    ("update", "section"): (frozenset({"id", "name", "project"}), frozenset({"id", "name"})),
    ("move", "section"): (frozenset({"id", "project"}), frozenset({"id", "project"})),
    ("add", "label"): (frozenset({"name", "color", "is_favorite"}), frozenset({"name"})),
    ("update", "label"): (frozenset({"id", "name", "color", "is_favorite"}), frozenset({"id"})),
    ("delete", "label"): (frozenset({"id"}), frozenset({"id"})),
    # Saved filters (reference §2.8): a name for a query in the filter language find_items reads.
    ("add", "filter"): (frozenset({"name", "query", "color", "is_favorite"}), frozenset({"name", "query"})),
    ("update", "filter"): (frozenset({"id", "name", "query", "color", "is_favorite"}), frozenset({"id"})),
    ("delete", "filter"): (frozenset({"id"}), frozenset({"id"})),
}
for _kind in ("project", "section", "label", "filter"):
    OP_FIELDS[("reorder", _kind)] = (_POSITION | {"id", "project"}, frozenset({"id"}))
for _op in ("archive", "unarchive", "delete"):
    for _kind in ("project", "section"):
        OP_FIELDS[(_op, _kind)] = (frozenset({"id", "project"}), frozenset({"id"}))


# One change to a project, section, label or saved filter; which fields apply depends on op and kind (checked here).
# A comment, not a docstring: a docstring would be advertised in the schema.
class ProjectOp(_Strict):
    op: OpName
    kind: OpKind
    id: Ref | None = Field(default=None, description="Target id or name")
    name: Ref | None = None
    project: Ref | None = Field(default=None, description="Of a section; move: to")
    parent: Ref | None = Field(default=None, description="move: null = root")
    color: Color | None = Field(default=None, description="e.g. red, blue")
    is_favorite: bool | None = None
    view_style: Literal["list", "board", "calendar"] | None = None
    description: Annotated[str, Field(max_length=1024)] | None = None
    query: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1024)] | None = None
    order: Annotated[int, Field(ge=1, description="Position, 1 = first")] | None = None
    before: Ref | None = Field(default=None, description="Sibling")
    after: Ref | None = None

    @model_validator(mode="after")
    def _fits_op(self) -> Self:
        rule = OP_FIELDS.get((self.op, self.kind))
        if rule is None:
            raise ValueError(f"op: {self.op} does not apply to a {self.kind}")
        allowed, required = rule
        given = {name for name in self.model_fields_set if name not in ("op", "kind")}
        # A null is "not given", but for move, where parent null means the root. (Strict clients, OpenAI's, send
        # every field, null when unused: a null parent on a project add must not count as given.)
        given = {name for name in given if getattr(self, name) is not None or (name == "parent" and self.op == "move")}
        for name in sorted(given - allowed):
            raise ValueError(f"{name}: not used by {self.kind} {self.op}")
        for name in sorted(required - given):
            raise ValueError(f"{name}: required for {self.kind} {self.op}")
        if self.op == "reorder" and len(given & _POSITION) != 1:
            raise ValueError("reorder: give exactly one of order, before, after")
        if self.op == "update" and not given - {"id", "project"}:
            raise ValueError(f"update: give a field to change ({', '.join(sorted(allowed - {'id', 'project'}))})")
        return self
