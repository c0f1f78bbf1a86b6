"""The resource types this server mirrors, declared once: ``RESOURCE_TYPES``.

Each declaration says what one Sync resource type is to this server: the record its objects are read into, the
mirror table that keeps them, what the text calls one, which of its fields a query_changes cursor compares, and how
tasks refer to it. The request's resource list, the response reader, the mirror's merges, the cursors' tables and
undo's image finder are derived from these declarations; a new mirrored type is one entry here (and, being typed
storage, its list in ``SyncResponse`` and its table in ``Mirror``, both checked against this at import).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Generic, Literal, TypeVar

from tools_server.sync.lenient import Record
from tools_server.sync.resources import (
    Collaborator,
    CollaboratorState,
    Filter,
    Item,
    Label,
    Note,
    Project,
    Reminder,
    Section,
)

R = TypeVar("R", bound=Record)
# What query_changes calls a changed object that is not a task (its "of").
ObjectType = Literal["project", "section", "label", "comment"]


@dataclass(frozen=True, eq=False)
class ResourceType(Generic[R]):
    """One mirrored resource type. Every record's id field is ``id`` (the documented v1 objects all have one)."""

    name: str  # the Sync resource type, which is also its key in a response
    record: type[R]
    table: str  # the ``Mirror`` attribute that keeps the active ones
    word: str  # what a result's text calls one
    compared: tuple[str, ...]  # the fields whose change a cursor reports (a new updated_at alone is no news)
    cursor: ObjectType | None = None  # reported among query_changes' object changes; None: not there
    archive: str | None = None  # the ``Mirror`` attribute keeping archived ones (full syncs leave them out)
    # In a table shared with another type, which records are this type's: a full sync of one replaces only those.
    owns: Callable[[R], bool] | None = None
    tasks_by: str | None = None  # the task field that puts a task in one (with by_name: holds its name)
    by_name: bool = False
    nested_by: str | None = None  # the field naming a parent of the same type (what it holds goes with it)

    @property
    def singular(self) -> str:
        """The type's name for one object, as logs spell it ("project note")."""
        return self.name.removesuffix("s").replace("_", " ")

    def with_nested(self, ids: set[str], objects: Iterable[Any]) -> set[str]:
        """``ids`` and, among ``objects``, the ids of those nested below them at any depth."""
        found = set(ids)
        parent = self.nested_by
        if parent is not None:
            pool = list(objects)
            while more := {o.id for o in pool if getattr(o, parent) in found} - found:
                found |= more
        return found

    def holds(self, task: Item, keys: set[str]) -> bool:
        """Whether ``task`` is in one of the objects ``keys`` names: their ids, or their folded names (``by_name``).
        Only for a type with ``tasks_by``."""
        value = getattr(task, str(self.tasks_by))
        return any(name.casefold() in keys for name in value) if self.by_name else value in keys


def _declare(*kinds: ResourceType[Any]) -> Mapping[str, ResourceType[Any]]:
    return MappingProxyType({kind.name: kind for kind in kinds})


ITEMS = ResourceType(
    "items",
    Item,
    table="items",
    word="task",
    compared=("content", "description", "priority", "labels", "due", "deadline", "duration"),
    nested_by="parent_id",
)
PROJECTS = ResourceType(
    "projects",
    Project,
    table="projects",
    word="project",
    compared=("name", "color", "parent_id", "is_favorite", "view_style", "description", "child_order"),
    cursor="project",
    archive="archived_projects",
    tasks_by="project_id",
    nested_by="parent_id",
)
SECTIONS = ResourceType(
    "sections",
    Section,
    table="sections",
    word="section",
    compared=("name", "project_id", "section_order"),
    cursor="section",
    archive="archived_sections",
    tasks_by="section_id",
)
LABELS = ResourceType(
    "labels",
    Label,
    table="labels",
    word="label",
    compared=("name", "color", "is_favorite", "item_order"),
    cursor="label",
    tasks_by="labels",
    by_name=True,
)
# Task and project comments share one table: a note names either its task (item_id) or its project.
NOTES = ResourceType(
    "notes",
    Note,
    table="notes",
    word="comment",
    compared=("content",),
    cursor="comment",
    owns=lambda note: note.item_id is not None,
)
PROJECT_NOTES = ResourceType(
    "project_notes",
    Note,
    table="notes",
    word="comment",
    compared=("content",),
    cursor="comment",
    owns=lambda note: note.item_id is None,
)
# Time and location reminders share one table (one id space, as in Todoist); each list is read and replaced apart.
REMINDERS = ResourceType(
    "reminders", Reminder, table="reminders", word="reminder", compared=(), owns=lambda r: r.type != "location"
)
REMINDERS_LOCATION = ResourceType(
    "reminders_location",
    Reminder,
    table="reminders",
    word="reminder",
    compared=(),
    owns=lambda r: r.type == "location",
)
# Saved filters hold no tasks and are not among query_changes' object changes: find_items runs them by name.
FILTERS = ResourceType("filters", Filter, table="filters", word="saved filter", compared=())

# The people of the user's shared projects: names for the tasks assigned to them.
COLLABORATORS = ResourceType("collaborators", Collaborator, table="collaborators", word="collaborator", compared=())
# Who is a member of which shared project: the people a task there can be assigned to.
COLLABORATOR_STATES = ResourceType(
    "collaborator_states", CollaboratorState, table="collaborator_states", word="collaborator", compared=()
)

RESOURCE_TYPES = _declare(
    ITEMS,
    PROJECTS,
    SECTIONS,
    LABELS,
    NOTES,
    PROJECT_NOTES,
    REMINDERS,
    REMINDERS_LOCATION,
    FILTERS,
    COLLABORATORS,
    COLLABORATOR_STATES,
)
# What every Sync request asks for: the declared lists, and the user (one object of settings, not a table).
MIRRORED_RESOURCE_TYPES = (*RESOURCE_TYPES, "user")
