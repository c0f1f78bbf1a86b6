"""The command registry: one declaration per Sync command type, and everything derived from the declarations.

A declaration is a ``SyncCommand`` subclass: its ``type`` literal, its args model (the type parameter) and its
``facts`` (sync/facts.py): the resource it acts on, the ids it touches, what it cascades to, whether its tasks count as
the session's own writes, and its undo recipe. The ``Command`` union (validated by ``COMMAND_ADAPTER``),
``COMMAND_KINDS``, ``ARGS_MODELS`` and ``CREATING_COMMANDS`` are derived from them; cursors/ and plans/ read the facts
and never switch on a command's type. Commands go out only in the documented v1 shapes (reference §3, sync/args.py).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Generic, Literal, TypeVar, Union, cast

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

# Argument value types, resources and responses, re-exported for the modules that import them from here.
from tools_server.sync.args import ChildOrder as ChildOrder
from tools_server.sync.args import DeadlineInput as DeadlineInput
from tools_server.sync.args import DueInput as DueInput
from tools_server.sync.args import DueLang as DueLang
from tools_server.sync.args import Duration as Duration
from tools_server.sync.args import (
    FilterAddArgs,
    FilterOrdersArgs,
    FilterUpdateArgs,
    ItemAddArgs,
    ItemCompleteArgs,
    ItemDateCompleteArgs,
    ItemIdArgs,
    ItemMoveArgs,
    ItemReorderArgs,
    ItemUpdateArgs,
    LabelAddArgs,
    LabelDeleteArgs,
    LabelOrdersArgs,
    LabelUpdateArgs,
    NoteAddArgs,
    NoteUpdateArgs,
    ProjectAddArgs,
    ProjectMoveArgs,
    ProjectReorderArgs,
    ProjectUpdateArgs,
    ReminderAddArgs,
    SectionAddArgs,
    SectionMoveArgs,
    SectionReorderArgs,
    SectionUpdateArgs,
    ShareArgs,
)
from tools_server.sync.args import Priority as Priority
from tools_server.sync.facts import (
    ID,
    NO_UNDELETE,
    NOTHING,
    SET,
    Cascade,
    DeleteAdded,
    Facts,
    Inverse,
    MoveBack,
    NoUndo,
    ReAdd,
    ReorderBack,
    RestoreFields,
    Unchanged,
)
from tools_server.sync.resource_types import ITEMS, RESOURCE_TYPES
from tools_server.sync.responses import MIRRORED_RESOURCE_TYPES as MIRRORED_RESOURCE_TYPES
from tools_server.sync.responses import Collaborator as Collaborator
from tools_server.sync.responses import CollaboratorState as CollaboratorState
from tools_server.sync.responses import CommandStatus as CommandStatus
from tools_server.sync.responses import CompletedPage as CompletedPage
from tools_server.sync.responses import CompletedTask as CompletedTask
from tools_server.sync.responses import Deadline as Deadline
from tools_server.sync.responses import Due as Due
from tools_server.sync.responses import Filter as Filter
from tools_server.sync.responses import Item as Item
from tools_server.sync.responses import ItemDuration as ItemDuration
from tools_server.sync.responses import Label as Label
from tools_server.sync.responses import Note as Note
from tools_server.sync.responses import Project as Project
from tools_server.sync.responses import Reminder as Reminder
from tools_server.sync.responses import Section as Section
from tools_server.sync.responses import SyncError as SyncError
from tools_server.sync.responses import SyncResponse as SyncResponse
from tools_server.sync.responses import TzInfo as TzInfo
from tools_server.sync.responses import User as User

# Todoist's documented request limits (reference §5): at most 100 commands and 1 MiB of body per request.
MAX_COMMANDS_PER_REQUEST = 100
MAX_BODY_BYTES = 1024 * 1024

# What undo compares before reverting (``Facts.unchanged``): where a task lives, a task as a cursor sees it, a project's
# own fields, and what lives in a project (its tasks, sub-projects, sections and comments).
_PLACE = ("parent_id", "section_id", "project_id")
_TASK = (*ITEMS.compared, *_PLACE)
_PROJECT = ("name", "color", "parent_id", "is_favorite", "view_style", "description")
_IN_PROJECT = (
    ("items", "project_id"),
    ("projects", "parent_id"),
    ("sections", "project_id"),
    ("project_notes", "project_id"),
)

# ---------------------------------------------------------------------------------------------------------------------
# Commands


def arg_value(args: BaseModel, name: str) -> Any:
    """A field's value, or None when this kind of args has no such field.

    vars(), not getattr(args, name, None): pydantic answers a missing attribute by raising from Python code (about
    2 us), and asking every command for fields only some kinds have cost milliseconds per 1000-command call.
    """
    return vars(args).get(name)


# Covariant: a command of any kind is a SyncCommand[BaseModel], which is what code handling any command sees.
ArgsT = TypeVar("ArgsT", bound=BaseModel, covariant=True)


class SyncCommand(BaseModel, Generic[ArgsT]):
    """One Sync command. Each kind is one subclass below, and that declaration is its whole registry entry: the
    ``type`` literal, the args model (the type parameter), ``facts`` and ``creates_temp_id``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    # True when the command's temp_id names the object it creates (its real id comes back in temp_id_mapping).
    creates_temp_id: ClassVar[bool] = False
    # Declared by every kind, never inherited: a kind without its own facts does not build.
    facts: ClassVar[Facts]
    uuid: Annotated[str, Field(min_length=1)]
    temp_id: str | None = None
    args: ArgsT

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if "type" not in cls.model_fields:
            return  # SyncCommand[SomeArgs], the parametrised base of a kind
        kind = cls.model_fields["type"].default
        if not isinstance(kind, str) or kind in _KINDS:
            raise TypeError(f"{cls.__name__}: a command kind needs a unique 'type' default (got {kind!r})")
        facts = cls.__dict__.get("facts")
        if not isinstance(facts, Facts):
            raise TypeError(f"{cls.__name__}: a command kind declares its facts")
        args = cast(type[BaseModel], cls.model_fields["args"].annotation).model_fields
        if facts.on not in RESOURCE_TYPES or not set(facts.touches) <= set(args):
            raise TypeError(f"{cls.__name__}: facts name an unknown resource type or argument")
        _check_unchanged(cls.__name__, facts, args)
        _KINDS[kind] = cls

    def model_post_init(self, context: Any, /) -> None:
        # The wire form is the model dumped with exclude_unset, so that args keep explicit nulls (they clear fields)
        # and drop unset ones: "type" always belongs to it, a null temp_id never does.
        fields_set = self.__pydantic_fields_set__
        fields_set.add("type")
        if self.temp_id is None:
            fields_set.discard("temp_id")

    def to_wire(self) -> dict[str, Any]:
        """The JSON object Todoist expects (see ``commands_json`` for many at once)."""
        return self.model_dump(mode="json", exclude_unset=True)


_KINDS: dict[str, type[SyncCommand[Any]]] = {}


def _check_unchanged(name: str, facts: Facts, args: Mapping[str, Any]) -> None:
    """A kind that undo reverses declares what undo checks first, in fields its objects have: without it, undo would
    overwrite or delete what someone else changed since."""
    check = facts.unchanged
    if check is None:
        if not isinstance(facts.undo, NoUndo):
            raise TypeError(f"{name}: a command undo reverses declares what undo checks first (unchanged)")
        return
    record = RESOURCE_TYPES[facts.on].record
    fields = [a for a in args if a != "id"] if check.fields == SET else list(check.fields)
    held = [(RESOURCE_TYPES[kind].record if kind in RESOURCE_TYPES else None, f) for kind, f in check.holds]
    if any(f not in record.__struct_fields__ for f in fields) or any(
        r is None or f not in r.__struct_fields__ for r, f in held
    ):
        raise TypeError(f"{name}: unchanged names a field its objects do not have")


# -- tasks ------------------------------------------------------------------------------------------------------------


class ItemAdd(SyncCommand[ItemAddArgs]):
    type: Literal["item_add"] = "item_add"
    creates_temp_id = True
    facts = Facts(
        "items",
        NOTHING,
        cascades_to=None,
        own_write="tasks",
        undo=DeleteAdded("item_delete"),
        unchanged=Unchanged(_TASK, holds=(("items", "parent_id"), ("notes", "item_id"), ("reminders", "item_id"))),
    )


class ItemUpdate(SyncCommand[ItemUpdateArgs]):
    type: Literal["item_update"] = "item_update"
    facts = Facts("items", ID, cascades_to=None, own_write="tasks", undo=RestoreFields(), unchanged=Unchanged(SET))


class ItemMove(SyncCommand[ItemMoveArgs]):
    type: Literal["item_move"] = "item_move"
    # A task goes back under its parent, else into its section, else to its project.
    facts = Facts(
        "items",
        ID,
        cascades_to=Cascade("moves"),
        own_write="tasks",
        undo=MoveBack(("parent_id", "section_id", "project_id"), order_by="item_reorder"),
        unchanged=Unchanged(_PLACE),
    )


class ItemClose(SyncCommand[ItemIdArgs]):
    type: Literal["item_close"] = "item_close"
    facts = Facts(
        "items",
        ID,
        cascades_to=Cascade("completes"),
        own_write="tasks",
        undo=Inverse("item_uncomplete", recurring_by="item_update_date_complete"),
        unchanged=Unchanged(("completed_at", "due")),
    )


class ItemComplete(SyncCommand[ItemCompleteArgs]):
    type: Literal["item_complete"] = "item_complete"
    facts = Facts(
        "items",
        ID,
        cascades_to=Cascade("completes"),
        own_write="tasks",
        undo=Inverse("item_uncomplete"),
        unchanged=Unchanged(("completed_at", "due")),
    )


class ItemUncomplete(SyncCommand[ItemIdArgs]):
    type: Literal["item_uncomplete"] = "item_uncomplete"
    # Reopening restores a task's ancestors, not its subtasks: nothing else changes.
    facts = Facts(
        "items",
        ID,
        cascades_to=None,
        own_write="tasks",
        undo=Inverse("item_complete"),
        unchanged=Unchanged((*_TASK, "completed_at"), holds=(("items", "parent_id"),)),
    )


class ItemDelete(SyncCommand[ItemIdArgs]):
    type: Literal["item_delete"] = "item_delete"
    facts = Facts("items", ID, cascades_to=Cascade("removes"), own_write="tasks", undo=NO_UNDELETE, unchanged=None)


class ItemUpdateDateComplete(SyncCommand[ItemDateCompleteArgs]):
    type: Literal["item_update_date_complete"] = "item_update_date_complete"
    # No write tool sends it: undo does, to put back the due of a recurring task that item_close moved on.
    facts = Facts(
        "items",
        ID,
        cascades_to=None,
        own_write="tasks",
        undo=NoUndo("only undo sends it", done="reset", noun="due reset"),
        unchanged=None,
    )


class ItemReorder(SyncCommand[ItemReorderArgs]):
    type: Literal["item_reorder"] = "item_reorder"
    # A task's child_order is no change query_changes reports, so there is nothing to mark as the session's own.
    facts = Facts(
        "items",
        ("items",),
        cascades_to=None,
        own_write="none",
        undo=ReorderBack("items", order="child_order"),
        unchanged=Unchanged(("child_order", *_PLACE)),
    )


# -- projects ---------------------------------------------------------------------------------------------------------


class ProjectAdd(SyncCommand[ProjectAddArgs]):
    type: Literal["project_add"] = "project_add"
    creates_temp_id = True
    facts = Facts(
        "projects",
        NOTHING,
        cascades_to=None,
        own_write="objects",
        undo=DeleteAdded("project_delete"),
        unchanged=Unchanged(_PROJECT, holds=_IN_PROJECT),
    )


class ProjectUpdate(SyncCommand[ProjectUpdateArgs]):
    type: Literal["project_update"] = "project_update"
    facts = Facts("projects", ID, cascades_to=None, own_write="objects", undo=RestoreFields(), unchanged=Unchanged(SET))


class ProjectMove(SyncCommand[ProjectMoveArgs]):
    type: Literal["project_move"] = "project_move"
    facts = Facts(
        "projects",
        ID,
        cascades_to=None,
        own_write="objects",
        undo=MoveBack(("parent_id",), order_by="project_reorder"),
        unchanged=Unchanged(("parent_id", "child_order")),
    )


class ProjectReorder(SyncCommand[ProjectReorderArgs]):
    type: Literal["project_reorder"] = "project_reorder"
    facts = Facts(
        "projects",
        ("projects",),
        cascades_to=None,
        own_write="objects",
        undo=ReorderBack("projects", order="child_order"),
        unchanged=Unchanged(("parent_id", "child_order")),
    )


class ProjectArchive(SyncCommand[ItemIdArgs]):
    type: Literal["project_archive"] = "project_archive"
    # Its sub-projects and their tasks are archived with it; unarchiving brings each back as a root project.
    facts = Facts(
        "projects",
        ID,
        cascades_to=Cascade("archives"),
        own_write="objects",
        undo=Inverse("project_unarchive", nested_by="project_move"),
        unchanged=Unchanged(("is_archived",)),
    )


class ProjectUnarchive(SyncCommand[ItemIdArgs]):
    type: Literal["project_unarchive"] = "project_unarchive"
    facts = Facts(
        "projects",
        ID,
        cascades_to=None,
        own_write="objects",
        undo=Inverse("project_archive"),
        unchanged=Unchanged(("is_archived",)),
    )


class ProjectDelete(SyncCommand[ItemIdArgs]):
    type: Literal["project_delete"] = "project_delete"
    facts = Facts("projects", ID, cascades_to=Cascade("removes"), own_write="objects", undo=NO_UNDELETE, unchanged=None)


# -- sections ---------------------------------------------------------------------------------------------------------


class SectionAdd(SyncCommand[SectionAddArgs]):
    type: Literal["section_add"] = "section_add"
    creates_temp_id = True
    facts = Facts(
        "sections",
        NOTHING,
        cascades_to=None,
        own_write="objects",
        undo=DeleteAdded("section_delete"),
        unchanged=Unchanged(("name", "project_id"), holds=(("items", "section_id"),)),
    )


class SectionUpdate(SyncCommand[SectionUpdateArgs]):
    type: Literal["section_update"] = "section_update"
    facts = Facts("sections", ID, cascades_to=None, own_write="objects", undo=RestoreFields(), unchanged=Unchanged(SET))


class SectionMove(SyncCommand[SectionMoveArgs]):
    type: Literal["section_move"] = "section_move"
    facts = Facts(
        "sections",
        ID,
        cascades_to=Cascade("moves"),
        own_write="objects",
        undo=MoveBack(("project_id",), order_by="section_reorder"),
        unchanged=Unchanged(("project_id", "section_order")),
    )


class SectionReorder(SyncCommand[SectionReorderArgs]):
    type: Literal["section_reorder"] = "section_reorder"
    facts = Facts(
        "sections",
        ("sections",),
        cascades_to=None,
        own_write="objects",
        undo=ReorderBack("sections", order="section_order"),
        unchanged=Unchanged(("project_id", "section_order")),
    )


class SectionArchive(SyncCommand[ItemIdArgs]):
    type: Literal["section_archive"] = "section_archive"
    # Archiving a section completes its open tasks.
    facts = Facts(
        "sections",
        ID,
        cascades_to=Cascade("completes"),
        own_write="objects",
        undo=Inverse("section_unarchive"),
        unchanged=Unchanged(("is_archived",)),
    )


class SectionUnarchive(SyncCommand[ItemIdArgs]):
    type: Literal["section_unarchive"] = "section_unarchive"
    facts = Facts(
        "sections",
        ID,
        cascades_to=None,
        own_write="objects",
        undo=Inverse("section_archive"),
        unchanged=Unchanged(("is_archived",)),
    )


class SectionDelete(SyncCommand[ItemIdArgs]):
    type: Literal["section_delete"] = "section_delete"
    facts = Facts("sections", ID, cascades_to=Cascade("removes"), own_write="objects", undo=NO_UNDELETE, unchanged=None)


# -- labels -----------------------------------------------------------------------------------------------------------


class LabelAdd(SyncCommand[LabelAddArgs]):
    type: Literal["label_add"] = "label_add"
    creates_temp_id = True
    facts = Facts(
        "labels",
        NOTHING,
        cascades_to=None,
        own_write="objects",
        undo=DeleteAdded("label_delete"),
        unchanged=Unchanged(("name", "color", "is_favorite"), holds=(("items", "labels"),)),
    )


class LabelUpdate(SyncCommand[LabelUpdateArgs]):
    type: Literal["label_update"] = "label_update"
    # A new name is the new name on every task that has the label.
    facts = Facts(
        "labels",
        ID,
        cascades_to=Cascade("relabels"),
        own_write="objects",
        undo=RestoreFields(),
        unchanged=Unchanged(SET),
    )


class LabelDelete(SyncCommand[LabelDeleteArgs]):
    type: Literal["label_delete"] = "label_delete"
    facts = Facts("labels", ID, cascades_to=Cascade("relabels"), own_write="objects", undo=NO_UNDELETE, unchanged=None)


class LabelUpdateOrders(SyncCommand[LabelOrdersArgs]):
    type: Literal["label_update_orders"] = "label_update_orders"
    facts = Facts(
        "labels",
        ("id_order_mapping",),
        cascades_to=None,
        own_write="objects",
        undo=ReorderBack("id_order_mapping", order="item_order", keyed=True),
        unchanged=Unchanged(("item_order",)),
    )


# -- comments ---------------------------------------------------------------------------------------------------------


class NoteAdd(SyncCommand[NoteAddArgs]):
    type: Literal["note_add"] = "note_add"
    creates_temp_id = True
    facts = Facts(
        "notes",
        NOTHING,
        cascades_to=None,
        own_write="objects",
        undo=DeleteAdded("note_delete"),
        unchanged=Unchanged(("content",)),
    )


class NoteUpdate(SyncCommand[NoteUpdateArgs]):
    type: Literal["note_update"] = "note_update"
    facts = Facts("notes", ID, cascades_to=None, own_write="objects", undo=RestoreFields(), unchanged=Unchanged(SET))


class NoteDelete(SyncCommand[ItemIdArgs]):
    type: Literal["note_delete"] = "note_delete"
    facts = Facts("notes", ID, cascades_to=None, own_write="objects", undo=NO_UNDELETE, unchanged=None)


# -- reminders --------------------------------------------------------------------------------------------------------


class ReminderAdd(SyncCommand[ReminderAddArgs]):
    type: Literal["reminder_add"] = "reminder_add"
    creates_temp_id = True
    facts = Facts(
        "reminders",
        NOTHING,
        cascades_to=None,
        own_write="objects",
        undo=DeleteAdded("reminder_delete"),
        # A place's fields too: undo leaves a location reminder someone moved or re-aimed since.
        unchanged=Unchanged(("type", "due", "minute_offset", "name", "loc_lat", "loc_long", "loc_trigger", "radius")),
    )


class ReminderDelete(SyncCommand[ItemIdArgs]):
    type: Literal["reminder_delete"] = "reminder_delete"
    facts = Facts(
        "reminders", ID, cascades_to=None, own_write="objects", undo=ReAdd("reminder_add"), unchanged=Unchanged(())
    )


# -- saved filters ----------------------------------------------------------------------------------------------------


class FilterAdd(SyncCommand[FilterAddArgs]):
    type: Literal["filter_add"] = "filter_add"
    creates_temp_id = True
    facts = Facts(
        "filters",
        NOTHING,
        cascades_to=None,
        own_write="none",
        undo=DeleteAdded("filter_delete"),
        unchanged=Unchanged(("name", "query", "color", "is_favorite")),
    )


class FilterUpdate(SyncCommand[FilterUpdateArgs]):
    type: Literal["filter_update"] = "filter_update"
    facts = Facts("filters", ID, cascades_to=None, own_write="none", undo=RestoreFields(), unchanged=Unchanged(SET))


class FilterDelete(SyncCommand[ItemIdArgs]):
    type: Literal["filter_delete"] = "filter_delete"
    # A saved filter is a name for a query: added again from its image, it is the same filter under a new id.
    facts = Facts("filters", ID, cascades_to=None, own_write="none", undo=ReAdd("filter_add"), unchanged=Unchanged(()))


class FilterUpdateOrders(SyncCommand[FilterOrdersArgs]):
    type: Literal["filter_update_orders"] = "filter_update_orders"
    facts = Facts(
        "filters",
        ("id_order_mapping",),
        cascades_to=None,
        own_write="none",
        undo=ReorderBack("id_order_mapping", order="item_order", keyed=True),
        unchanged=Unchanged(("item_order",)),
    )


# -- sharing ----------------------------------------------------------------------------------------------------------

# Not reversed by undo: unsharing would end an invitation the person may have answered, and sharing again would
# invite someone who was taken off on purpose; the result says so and the model can send the other op.
NO_UNSHARE = NoUndo("sharing is changed by share/unshare, not undo", done="shared", noun="sharing change")


class ShareProject(SyncCommand[ShareArgs]):
    type: Literal["share_project"] = "share_project"
    facts = Facts("projects", ("project_id",), cascades_to=None, own_write="objects", undo=NO_UNSHARE, unchanged=None)


class DeleteCollaborator(SyncCommand[ShareArgs]):
    type: Literal["delete_collaborator"] = "delete_collaborator"
    facts = Facts("projects", ("project_id",), cascades_to=None, own_write="objects", undo=NO_UNSHARE, unchanged=None)


# Derived from the declarations above; declare a new kind above this line.
COMMAND_KINDS: Mapping[str, type[SyncCommand[Any]]] = MappingProxyType(dict(_KINDS))
if TYPE_CHECKING:
    Command = SyncCommand[BaseModel]
else:
    Command = Annotated[Union[tuple(COMMAND_KINDS.values())], Field(discriminator="type")]  # noqa: UP007
COMMAND_ADAPTER: TypeAdapter[Command] = TypeAdapter(Command)
_COMMAND_LIST_ADAPTER: TypeAdapter[list[Command]] = TypeAdapter(list[Command])
# type -> args model, for a backend that must report which argument of a known command type is wrong.
ARGS_MODELS: Mapping[str, type[BaseModel]] = MappingProxyType(
    {kind: cast(type[BaseModel], cls.model_fields["args"].annotation) for kind, cls in COMMAND_KINDS.items()}
)
# Commands whose temp_id names the object they create.
CREATING_COMMANDS = frozenset(kind for kind, cls in COMMAND_KINDS.items() if cls.creates_temp_id)


def _check_recipes() -> None:
    """Every command a recipe names is declared, and is of the kind the recipe relies on."""
    for kind, cls in COMMAND_KINDS.items():
        undo = cls.facts.undo
        named = {
            getattr(undo, name) for name in ("by", "order_by", "nested_by", "recurring_by") if getattr(undo, name, None)
        }
        if not named <= set(COMMAND_KINDS):
            raise TypeError(f"{kind}: its undo names an undeclared command ({sorted(named - set(COMMAND_KINDS))})")
        if isinstance(undo, MoveBack) and not isinstance(COMMAND_KINDS[undo.order_by].facts.undo, ReorderBack):
            raise TypeError(f"{kind}: order_by {undo.order_by} does not reorder")
        nested = undo.nested_by if isinstance(undo, Inverse) else None
        if nested is not None and not isinstance(COMMAND_KINDS[nested].facts.undo, MoveBack):
            raise TypeError(f"{kind}: nested_by {nested} does not move")
        if isinstance(undo, DeleteAdded) and not cls.creates_temp_id:
            raise TypeError(f"{kind}: only a command that creates can be undone by deleting what it added")


_check_recipes()


def command(kind: str, uuid: str, args: dict[str, Any], temp_id: str | None = None) -> Command:
    """A command of a declared ``kind`` built from plain arguments (the keys given are the keys sent)."""
    return COMMAND_KINDS[kind](uuid=uuid, temp_id=temp_id, args=ARGS_MODELS[kind].model_validate(args))


def facts_of(command: Command) -> Facts:
    return type(command).facts


def target_of(command: Command) -> str | None:
    """The one existing object a command acts on: every such command names it ``id`` (reference §3)."""
    value = arg_value(command.args, "id")
    return None if value is None else str(value)


def touched_ids(command: Command) -> list[str]:
    """The ids of the existing objects a command acts on, read from the arguments its ``touches`` names."""
    return [object_id for name in type(command).facts.touches for object_id in ids_in(command, name)]


def ids_in(command: Command, name: str) -> list[str]:
    """The ids an argument names: an id, a list of ``{id, ...}`` entries, or a mapping keyed by ids."""
    value = arg_value(command.args, name)
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [str(key) for key in cast(dict[Any, Any], value)]
    if isinstance(value, list):
        return [str(entry.id) for entry in cast(list[Any], value)]
    return []


def kind_of(cls: type[SyncCommand[Any]]) -> str:
    """A declared command class's ``type``."""
    kind: str = cls.model_fields["type"].default
    return kind


# The commands serialised last, and their JSON, by runs of up to a request's worth: a write's batch is kept
# (state/records.py) just before its first request is encoded, and holds the same commands in the same order as its
# requests, so a request finds its run here (0.2 ms a time per 100). A batch of 1000 is serialised as ten runs of 100,
# which its requests, chunked the same way, find again (it was serialised whole, then again request by request: 1.8
# ms of a 1000-task add). Commands and their args are frozen, so the same objects always serialise the same; a run is
# found by the identity of its commands, which it keeps alive while it is here. Only the event loop's thread encodes
# commands (the embedded store's worker threads never do), so the table needs no lock.
_RUNS_KEPT = 16
_serialised: OrderedDict[tuple[int, ...], tuple[tuple[Command, ...], bytes]] = OrderedDict()


def commands_json(commands: Sequence[Command]) -> bytes:
    """The commands' wire forms as one compact UTF-8 JSON array, serialised by pydantic-core in one pass per run of
    up to 100 (about twice as fast as dumping each command to a dict and encoding those)."""
    if len(commands) <= MAX_COMMANDS_PER_REQUEST:
        return _run_json(commands)
    runs = [_run_json(commands[at : at + MAX_COMMANDS_PER_REQUEST])
            for at in range(0, len(commands), MAX_COMMANDS_PER_REQUEST)]  # fmt: skip
    return b"[" + b",".join(run[1:-1] for run in runs) + b"]"


def _run_json(commands: Sequence[Command]) -> bytes:
    if not commands:
        return b"[]"  # an empty list (a batch's commands no plan names apart) would push out the runs worth keeping
    key = tuple(map(id, commands))
    kept = _serialised.get(key)
    if kept is not None:
        _serialised.move_to_end(key)
        return kept[1]
    encoded = _COMMAND_LIST_ADAPTER.dump_json(list(commands), exclude_unset=True)
    _serialised[key] = (tuple(commands), encoded)
    if len(_serialised) > _RUNS_KEPT:
        _serialised.popitem(last=False)
    return encoded
