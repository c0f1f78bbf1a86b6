"""Tool arguments as the model sends them. Field descriptions are text the model reads: short instructions.

Limits are part of the contract (README "Limits"): they keep one call inside one sane batch and stop runaway input
before anything reaches the backend.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Annotated, Literal, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, WithJsonSchema, model_validator

from tools_server.sync.commands import DueLang

MAX_ITEMS_PER_CALL = 1000
MAX_CONTENT_CHARS = 500
MAX_DESCRIPTION_CHARS = 16_000
MAX_NAME_CHARS = 120
MAX_SUBTASK_DEPTH = 4
MAX_LABELS = 20

_ID_CHARS = re.compile(r"[A-Za-z0-9_-]+")


# The checks below are validators rather than schema patterns: the same rule in every task of add_item's unrolled
# subtask tree would cost tools/list room, and the error names the field and the reason either way.
def _id_text(value: str) -> str:
    """Todoist ids (v1 and legacy numeric) are letters, digits, '-' and '_': a quote, NUL or newline is no id."""
    if not _ID_CHARS.fullmatch(value):
        raise ValueError("not an id: ids have only letters, digits, '-' and '_'")
    return value


def _calendar_date(value: str) -> str:
    if not value.isascii():
        raise ValueError("not a date: write it YYYY-MM-DD with ASCII digits")
    try:
        date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value} is not a calendar date (YYYY-MM-DD)") from None
    return value


def _iso_datetime(value: str) -> str:
    """What dues.datetime_text can send as a documented ``due.date``; anything else was sent for the backend to
    refuse, which made a request out of bad input."""
    problem = "not an ISO 8601 date and time (e.g. 2026-03-01T09:00, or with Z or an offset such as +01:00)"
    if not value.isascii() or not value.isprintable() or value != value.strip():
        raise ValueError(problem)
    try:
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is not None:
            moment.astimezone(UTC)  # a moment that leaves the calendar in UTC (year 1 with +01:00) cannot be sent
    except (ValueError, OverflowError):
        raise ValueError(problem) from None
    return value


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _one_line(value: str) -> str:
    """A name (or an id given as one) never holds a control character: a NUL or a newline is no project's name.
    (Only controls: an emoji's zero-width joiner or a no-break space are ordinary in names.)"""
    if _CONTROL.search(value):
        raise ValueError("names and ids have no control characters (newline, tab, NUL)")
    return value


Ref = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_NAME_CHARS), AfterValidator(_one_line)
]
TaskId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64), AfterValidator(_id_text)]
LabelName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60), AfterValidator(_one_line)
]
DateStr = Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}$"), AfterValidator(_calendar_date)]
# A task's dates: the form said once in words where the field is described; add_item's unrolled subtask copies drop
# descriptions, where a repeated pattern cost tools/list 38 characters a field.
TaskDate = Annotated[DateStr, WithJsonSchema({"type": "string", "description": "YYYY-MM-DD"})]
DateTimeStr = Annotated[str, StringConstraints(min_length=10, max_length=40), AfterValidator(_iso_datetime)]


class _Strict(BaseModel):
    # Unknown keys are errors: a misspelt field ("project_name") must not be silently dropped. Strict types: `true`
    # is not the priority 1 and "4" is not the number 4 (the model sent something it did not mean).
    model_config = ConfigDict(extra="forbid", strict=True)


# Advertised as plain integers: their bounds are size caps the server enforces (README "Limits"), and the schema of
# every task in add_item's unrolled subtask tree repeats these fields (the tools/list budget is 15,000 characters).
_INTEGER = WithJsonSchema({"type": "integer"})
# The range said in words where the field is described: the copies of add_item's unrolled subtask tree drop
# descriptions, where "minimum"/"maximum" cost 28 characters a level.
_PRIORITY = WithJsonSchema({"type": "integer", "description": "1-4; 4 = most urgent (p1)"})
# Todoist's 17 due languages are checked (a wrong code is refused naming the field and the choices) but advertised as
# a two-letter string: the enum, repeated at every level of add_item's unrolled subtask tree, cost 700 characters of
# the tool list a model reads, for a field models rarely set.
DueLangIn = Annotated[DueLang, WithJsonSchema({"type": "string", "maxLength": 2})]


class DurationIn(_Strict):
    amount: Annotated[int, Field(gt=0, le=10_000), _INTEGER]
    unit: Literal["minute", "day"]


MAX_REMINDERS = 10
_MAX_RADIUS_METRES = 50_000


# One reminder: at a moment (due), or minutes_before the task's timed due. (A comment, not a docstring: pydantic
# would put a docstring into every tools/list.)
class TimeReminderIn(_Strict):
    due: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | None = None
    minutes_before: Annotated[int, Field(ge=0, le=43_200), _INTEGER] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Self:
        kinds = [name for name in type(self).model_fields if getattr(self, name) is not None]
        if len(kinds) != 1:
            raise ValueError(f"give exactly one of {', '.join(type(self).model_fields)}")
        return self


def _latitude(value: float) -> float:
    if not -90 <= value <= 90:
        raise ValueError("a latitude is between -90 and 90")
    return value


def _longitude(value: float) -> float:
    if not -180 <= value <= 180:
        raise ValueError("a longitude is between -180 and 180")
    return value


# A location reminder's place (Todoist's reminder_add type "location", reference §2.7): on arriving unless on_leave.
# The coordinates' ranges are checked, not advertised (tools/list budget); numbers here, strings on the wire.
class PlaceIn(_Strict):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_NAME_CHARS)]
    lat: Annotated[float, AfterValidator(_latitude)]
    long: Annotated[float, AfterValidator(_longitude)]
    on_leave: bool = False
    radius: Annotated[int, Field(ge=1, le=_MAX_RADIUS_METRES), _INTEGER] | None = None


# On a top-level task and in update_items only: a place at every level of add_item's unrolled subtask tree would
# cost tools/list room for what a subtask rarely needs.
class ReminderIn(TimeReminderIn):
    place: PlaceIn | None = None


TimeReminders = Annotated[Sequence[TimeReminderIn], Field(max_length=MAX_REMINDERS)]
Reminders = Annotated[Sequence[ReminderIn], Field(max_length=MAX_REMINDERS)]


# The fields of a new task wherever it sits in a tree. A comment, not a docstring: pydantic would advertise it.
class NewTaskFields(_Strict):
    content: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_CONTENT_CHARS),
        Field(description="Title"),
    ]
    description: Annotated[str | None, Field(max_length=MAX_DESCRIPTION_CHARS)] = None
    labels: Annotated[list[LabelName], Field(max_length=MAX_LABELS)] | None = None
    priority: Annotated[int, Field(ge=1, le=4), _PRIORITY] | None = None
    due: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = Field(
        default=None, description="Natural language, e.g. 'tomorrow 9am', 'every monday'"
    )
    due_date: TaskDate | None = None
    due_datetime: DateTimeStr | None = Field(default=None, description="ISO 8601")
    due_lang: DueLangIn | None = None
    deadline: TaskDate | None = None
    duration: DurationIn | None = None
    reminders: TimeReminders | None = None
    subtasks: Annotated[list[NewSubtask], Field(max_length=MAX_ITEMS_PER_CALL)] | None = None

    @model_validator(mode="after")
    def _one_due_form(self) -> Self:
        if (self.due is None) + (self.due_date is None) + (self.due_datetime is None) >= 2:
            return self  # every task of a call is checked: the usual case first, without building the list
        given = [name for name in ("due", "due_date", "due_datetime") if getattr(self, name) is not None]
        if len(given) > 1:
            raise ValueError(f"give only one of due, due_date, due_datetime (got {', '.join(given)})")
        return self


# A subtask lives where its parent lives: it has no project, section or parent of its own (Todoist would reject or
# ignore them), so its schema does not offer them. That keeps the unrolled subtask tree of add_item small (issue 22).
class NewSubtask(NewTaskFields):
    pass


class NewItem(NewTaskFields):
    project: Ref | None = Field(default=None, description="Id or name; default Inbox")
    section: Ref | None = Field(default=None, description="Id or name")
    parent: TaskId | None = Field(default=None, description="Task id")
    # On the top-level task only: the subtask levels repeat every field of NewTaskFields (tools/list budget).
    assignee: Ref | None = Field(default=None, description="Name, email, id or me")
    # A place too, on the top-level task only. A narrower element type of a sequence nobody assigns to after
    # validation: pyright's invariance rule for mutable attributes guards a mutation that does not happen here.
    reminders: Reminders | None = None  # pyright: ignore[reportIncompatibleVariableOverride]


class NewProject(_Strict):
    name: Ref
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


Clearable = Literal["due", "deadline", "duration", "description", "labels", "reminders", "locations", "assignee"]


# Fields left out stay as they are. (A comment, not a docstring: pydantic would advertise it.)
class ItemChanges(_Strict):
    id: TaskId
    content: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_CONTENT_CHARS)] | None
    ) = None
    description: Annotated[str | None, Field(max_length=MAX_DESCRIPTION_CHARS)] = None
    labels: Annotated[list[LabelName], Field(max_length=MAX_LABELS)] | None = Field(
        default=None, description="Replaces all"
    )
    add_labels: Annotated[list[LabelName], Field(max_length=MAX_LABELS)] | None = None
    remove_labels: Annotated[list[LabelName], Field(max_length=MAX_LABELS)] | None = None
    priority: Annotated[int, Field(ge=1, le=4), _PRIORITY] | None = None
    due: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = Field(
        default=None, description="Natural language; replaces any recurrence"
    )
    due_date: TaskDate | None = Field(default=None, description="YYYY-MM-DD; recurring tasks keep recurring")
    due_datetime: DateTimeStr | None = None
    due_lang: DueLangIn | None = None
    deadline: TaskDate | None = None
    duration: DurationIn | None = None
    assignee: Ref | None = None
    reminders: Reminders | None = Field(default=None, description="Added; with clear ['reminders'] they replace")
    remove_reminders: Annotated[list[Ref], Field(max_length=MAX_REMINDERS)] | None = Field(
        default=None, description="Place names or ids"
    )
    clear: list[Clearable] | None = Field(default=None, description="Fields to empty")

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        given = [name for name in ("due", "due_date", "due_datetime") if getattr(self, name) is not None]
        if len(given) > 1:
            raise ValueError(f"give only one of due, due_date, due_datetime (got {', '.join(given)})")
        for name in self.clear or ():
            if name in ("reminders", "locations"):
                continue  # cleared first, then the given ones are added: a replacement
            if (name == "due" and given) or (name != "due" and getattr(self, name) is not None):
                raise ValueError(f"{name} is both set and cleared")
        edits = [name for name in ("add_labels", "remove_labels") if getattr(self, name) is not None]
        if edits and (self.labels is not None or "labels" in (self.clear or ())):
            raise ValueError(f"{edits[0]} edits the labels; labels / clear ['labels'] replace them: give one")
        both = {n.casefold() for n in self.add_labels or ()} & {n.casefold() for n in self.remove_labels or ()}
        if both:
            raise ValueError(f"label '{sorted(both)[0]}' is both in add_labels and remove_labels")
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
LocalPath = Annotated[str, StringConstraints(min_length=1, max_length=4096), AfterValidator(_one_line)]


class NewComment(_Strict):
    task: TaskId | None = None
    project: Ref | None = None
    content: CommentText
    file_url: WebUrl | None = Field(default=None, description="Attach file by URL")
    # Read and uploaded only where the server runs on the user's machine (stdio, `call`); refused over HTTP.
    file_path: LocalPath | None = None

    @model_validator(mode="after")
    def _one_parent(self) -> Self:
        if (self.task is None) == (self.project is None):
            raise ValueError("give exactly one of task or project")
        if self.file_url is not None and self.file_path is not None:
            raise ValueError("give one of file_url, file_path")
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


def _email(value: str) -> str:
    # Checked here, not advertised as a schema pattern: the tools/list budget (issue 22).
    value = value.strip()
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value) or len(value) > 254:
        raise ValueError("must be an email address")
    return value


OpName = Literal["add", "update", "move", "reorder", "archive", "unarchive", "delete", "share", "unshare"]
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
# Sharing (reference §3: share_project, delete_collaborator): the project by id or name, the person by email.
for _op in ("share", "unshare"):
    OP_FIELDS[(_op, "project")] = (frozenset({"id", "email"}), frozenset({"id", "email"}))
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
    email: Annotated[str, AfterValidator(_email)] | None = None

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
