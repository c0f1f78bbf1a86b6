"""What a Sync command type does beyond its arguments, as values its declaration carries (``SyncCommand.facts``).

sync/ sits below plans/ and cursors/, so these are data, not code: cursors/ reads which ids a command touches, what it
cascades to and whether its tasks count as the session's own writes; plans/ reads its undo recipe and runs it. A new
command type states its facts with the values here; only a new kind of cascade or of undo needs code above.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# How a command's changes count as the session's own writes in the cursors it opened:
# "tasks": the tasks it names and their subtasks; "objects": the objects it touches and the tasks it cascades to;
# "none": nothing query_changes would report changes.
OwnWrite = Literal["tasks", "objects", "none"]
# What a cascade does to the open tasks in the target.
TaskEffect = Literal["removes", "archives", "completes", "moves", "relabels"]


@dataclass(frozen=True)
class Cascade:
    """The open tasks in the command's target change along with it. They are found through the target type's
    declaration: its ``tasks_by`` field, and below its ``nested_by`` (sub-projects go with their parent)."""

    effect: TaskEffect


@dataclass(frozen=True)
class NoUndo:
    """Not reversed: undo counts what was not (as ``done`` tasks in a task write, "2 deleted task(s)"; as ``noun``s
    in a write of other objects, "2 deletion(s)") and says ``why``."""

    why: str
    done: str
    noun: str


@dataclass(frozen=True)
class DeleteAdded:
    """Undone by deleting what it added with the ``by`` command, only while nothing was put in it since (a task in it,
    by the type's ``tasks_by``)."""

    by: str


@dataclass(frozen=True)
class RestoreFields:
    """Undone by a command of its own type that sets the fields it set back to their before-image values."""


@dataclass(frozen=True)
class MoveBack:
    """Undone by moving it back to its before-image's place: the first of ``to`` set there (else the last one, as
    null), then its old order put back by ``order_by`` (whose own recipe is a ``ReorderBack``)."""

    to: tuple[str, ...]
    order_by: str


@dataclass(frozen=True)
class ReorderBack:
    """Undone by putting back the before-images' ``order`` for the objects in its ``entries`` argument: a list of
    ``{id, <order>}``, or with ``keyed`` a mapping id -> order."""

    entries: str
    order: str
    keyed: bool = False


@dataclass(frozen=True)
class Inverse:
    """Undone by the ``by`` command on the same target. What it cascaded to comes back with it: nested objects put
    back under their parents by ``nested_by`` (whose own recipe is a ``MoveBack``), tasks it completed reopened.
    ``recurring_by``: on a recurring task it moved the due to the next occurrence instead, and this command puts the
    due back."""

    by: str
    nested_by: str | None = None
    recurring_by: str | None = None


@dataclass(frozen=True)
class ReAdd:
    """Undone by adding it again from its before-image with the ``by`` command (a new object: Todoist has no
    undelete)."""

    by: str


@dataclass(frozen=True)
class Unchanged:
    """What undo checks before it reverses a command, so that it never overwrites or deletes what someone else changed
    since: ``fields`` of each object the command touched (or made), compared between the object as the write left it
    and the object now (``SET``: the fields the command set); a difference, or the object gone, leaves it as it is.
    ``holds``: what the inverse would take along, as (resource type, field naming the object) pairs; it is sent only
    while nothing lives there but what the write left (tasks open or completed, nested objects, comments)."""

    fields: tuple[str, ...] | Literal["set"]
    holds: tuple[tuple[str, str], ...] = ()


SET: Literal["set"] = "set"
Undo = NoUndo | DeleteAdded | RestoreFields | MoveBack | ReorderBack | Inverse | ReAdd
NO_UNDELETE = NoUndo("Todoist has no undelete", done="deleted", noun="deletion")
# Touches: the arguments naming the existing objects a command acts on. Each holds an id, a list of {id, ...} entries
# or a mapping keyed by ids.
ID = ("id",)
NOTHING: tuple[str, ...] = ()


@dataclass(frozen=True)
class Facts:
    """Every fact is stated, none defaulted: a declaration that forgets one does not build."""

    on: str  # the resource type (sync.resource_types) of what it acts on
    touches: tuple[str, ...]
    cascades_to: Cascade | None  # None: nothing else changes with it
    own_write: OwnWrite
    undo: Undo
    # What undo checks first (None only with NoUndo: nothing is reverted, so nothing can be overwritten).
    unchanged: Unchanged | None
