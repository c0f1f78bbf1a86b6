"""Todoist Sync API (v1 dialect) wire types: commands, resources, responses.

Commands are one discriminated union on ``type``, derived from one declaration per kind (``SyncCommand``
subclasses) and validated by the module-level ``COMMAND_ADAPTER``. Commands go out only in the documented v1 shapes
(reference §3): a due is ``string`` or ``date`` (a datetime goes in ``date``), with ``timezone``/``lang`` only when
given. Resources and responses are read leniently, in ``sync/objects.py``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Generic, Literal, TypeVar, Union, cast

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from tools_server.sync.args import (
    ChildOrder as ChildOrder,
)
from tools_server.sync.args import (
    ItemReorderArgs,
    LabelAddArgs,
    LabelDeleteArgs,
    LabelOrdersArgs,
    LabelUpdateArgs,
    NoteAddArgs,
    NoteUpdateArgs,
    ProjectMoveArgs,
    ProjectReorderArgs,
    ProjectUpdateArgs,
    SectionMoveArgs,
    SectionReorderArgs,
    SectionUpdateArgs,
    ViewStyle,
)

# Resources and responses live in sync/objects.py; re-exported for modules that import them from here.
from tools_server.sync.responses import (
    MIRRORED_RESOURCE_TYPES as MIRRORED_RESOURCE_TYPES,
)
from tools_server.sync.responses import CommandStatus as CommandStatus
from tools_server.sync.responses import CompletedPage as CompletedPage
from tools_server.sync.responses import CompletedTask as CompletedTask
from tools_server.sync.responses import Deadline as Deadline
from tools_server.sync.responses import Due as Due
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

Priority = Annotated[int, Field(ge=1, le=4)]
DueLang = Literal["en", "da", "pl", "zh", "ko", "de", "pt", "ja", "it", "fr", "sv", "ru", "es", "nl", "fi", "nb", "tw"]


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


# ---------------------------------------------------------------------------------------------------------------------
# Value objects in command arguments


class Duration(_Lenient):
    amount: Annotated[int, Field(gt=0)]
    unit: Literal["minute", "day"]


class DueInput(_Lenient):
    """A due date as a client sends it: natural language ``string`` or an explicit ``date`` (YYYY-MM-DD, a floating
    ``YYYY-MM-DDTHH:MM:SS`` or a UTC ``...Z``), with ``timezone``/``lang`` set only when given (reference §3).

    ``datetime`` is no documented input key: the local backend still reads it from older clients, this client never
    sets it (``plans.due_input`` builds every due it sends)."""

    string: str | None = None
    date: str | None = None
    datetime: str | None = None
    timezone: str | None = None
    lang: DueLang | None = None
    is_recurring: bool | None = None


class DeadlineInput(_Lenient):
    date: Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$")]


# ---------------------------------------------------------------------------------------------------------------------
# Command arguments. Unknown keys are ignored, as Todoist does (e.g. REST-only ``assignee_id`` in a Sync command).


class ItemAddArgs(_Lenient):
    content: Annotated[str, Field(min_length=1)]
    description: str | None = None
    project_id: str | None = None
    section_id: str | None = None
    parent_id: str | None = None
    child_order: int | None = None
    day_order: int | None = None
    is_collapsed: bool | None = None
    labels: list[str] | None = None
    priority: Priority | None = None
    due: DueInput | None = None
    deadline: DeadlineInput | None = None
    duration: Duration | None = None
    assigned_by_uid: str | None = None
    responsible_uid: str | None = None
    auto_reminder: bool | None = None
    auto_parse_labels: bool | None = None


class ItemUpdateArgs(_Lenient):
    """Fields left unset are untouched; fields set to null are cleared (``model_fields_set`` tells them apart)."""

    id: str
    content: Annotated[str, Field(min_length=1)] | None = None
    description: str | None = None
    due: DueInput | None = None
    deadline: DeadlineInput | None = None
    priority: Priority | None = None
    is_collapsed: bool | None = None
    labels: list[str] | None = None
    assigned_by_uid: str | None = None
    responsible_uid: str | None = None
    day_order: int | None = None
    duration: Duration | None = None


class ItemMoveArgs(_Lenient):
    """Exactly one destination must be set; the backend checks that so the error names the argument."""

    id: str
    project_id: str | None = None
    section_id: str | None = None
    parent_id: str | None = None


class ItemIdArgs(_Lenient):
    id: str


class ItemCompleteArgs(_Lenient):
    id: str
    # The docs say date_completed, the SDK says completed_at (reference §3); both are accepted.
    date_completed: str | None = None
    completed_at: str | None = None


class ItemDateCompleteArgs(_Lenient):
    """Complete (``is_forward`` 1) or undo (0) one occurrence of a recurring task; the SDK sends 1/0 (reference §3)."""

    id: str
    due: DueInput | None = None
    is_forward: Literal[0, 1] | None = None
    reset_subtasks: Literal[0, 1] | None = None


class ProjectAddArgs(_Lenient):
    name: Annotated[str, Field(min_length=1)]
    color: str | None = None
    parent_id: str | None = None
    child_order: int | None = None
    is_favorite: bool | None = None
    view_style: ViewStyle | None = None
    description: str | None = None


class ReminderAddArgs(_Lenient):
    item_id: str
    type: Literal["relative", "absolute"]
    due: DueInput | None = None
    minute_offset: Annotated[int, Field(ge=0)] | None = None


class SectionAddArgs(_Lenient):
    name: Annotated[str, Field(min_length=1)]
    project_id: str
    section_order: int | None = None


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
    ``type`` literal, the args model (the type parameter) and ``creates_temp_id``. The ``Command`` union,
    ``COMMAND_KINDS``, ``ARGS_MODELS`` and ``CREATING_COMMANDS`` are derived from the subclasses declared here."""

    model_config = ConfigDict(extra="forbid")
    # True when the command's temp_id names the object it creates (its real id comes back in temp_id_mapping).
    creates_temp_id: ClassVar[bool] = False
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


class ItemAdd(SyncCommand[ItemAddArgs]):
    creates_temp_id = True
    type: Literal["item_add"] = "item_add"


class ItemUpdate(SyncCommand[ItemUpdateArgs]):
    type: Literal["item_update"] = "item_update"


class ItemMove(SyncCommand[ItemMoveArgs]):
    type: Literal["item_move"] = "item_move"


class ItemClose(SyncCommand[ItemIdArgs]):
    type: Literal["item_close"] = "item_close"


class ItemComplete(SyncCommand[ItemCompleteArgs]):
    type: Literal["item_complete"] = "item_complete"


class ItemUncomplete(SyncCommand[ItemIdArgs]):
    type: Literal["item_uncomplete"] = "item_uncomplete"


class ItemDelete(SyncCommand[ItemIdArgs]):
    type: Literal["item_delete"] = "item_delete"


class ItemUpdateDateComplete(SyncCommand[ItemDateCompleteArgs]):
    type: Literal["item_update_date_complete"] = "item_update_date_complete"


class ProjectAdd(SyncCommand[ProjectAddArgs]):
    creates_temp_id = True
    type: Literal["project_add"] = "project_add"


class SectionAdd(SyncCommand[SectionAddArgs]):
    creates_temp_id = True
    type: Literal["section_add"] = "section_add"


class ProjectUpdate(SyncCommand[ProjectUpdateArgs]):
    type: Literal["project_update"] = "project_update"


class ProjectMove(SyncCommand[ProjectMoveArgs]):
    type: Literal["project_move"] = "project_move"


class ProjectReorder(SyncCommand[ProjectReorderArgs]):
    type: Literal["project_reorder"] = "project_reorder"


class ProjectArchive(SyncCommand[ItemIdArgs]):
    type: Literal["project_archive"] = "project_archive"


class ProjectUnarchive(SyncCommand[ItemIdArgs]):
    type: Literal["project_unarchive"] = "project_unarchive"


class ProjectDelete(SyncCommand[ItemIdArgs]):
    type: Literal["project_delete"] = "project_delete"


class SectionUpdate(SyncCommand[SectionUpdateArgs]):
    type: Literal["section_update"] = "section_update"


class SectionMove(SyncCommand[SectionMoveArgs]):
    type: Literal["section_move"] = "section_move"


class SectionReorder(SyncCommand[SectionReorderArgs]):
    type: Literal["section_reorder"] = "section_reorder"


class SectionArchive(SyncCommand[ItemIdArgs]):
    type: Literal["section_archive"] = "section_archive"


class SectionUnarchive(SyncCommand[ItemIdArgs]):
    type: Literal["section_unarchive"] = "section_unarchive"


class SectionDelete(SyncCommand[ItemIdArgs]):
    type: Literal["section_delete"] = "section_delete"


class LabelAdd(SyncCommand[LabelAddArgs]):
    creates_temp_id = True
    type: Literal["label_add"] = "label_add"


class LabelUpdate(SyncCommand[LabelUpdateArgs]):
    type: Literal["label_update"] = "label_update"


class LabelDelete(SyncCommand[LabelDeleteArgs]):
    type: Literal["label_delete"] = "label_delete"


class LabelUpdateOrders(SyncCommand[LabelOrdersArgs]):
    type: Literal["label_update_orders"] = "label_update_orders"


class NoteAdd(SyncCommand[NoteAddArgs]):
    creates_temp_id = True
    type: Literal["note_add"] = "note_add"


class NoteUpdate(SyncCommand[NoteUpdateArgs]):
    type: Literal["note_update"] = "note_update"


class NoteDelete(SyncCommand[ItemIdArgs]):
    type: Literal["note_delete"] = "note_delete"


class ItemReorder(SyncCommand[ItemReorderArgs]):
    type: Literal["item_reorder"] = "item_reorder"


class ReminderAdd(SyncCommand[ReminderAddArgs]):
    creates_temp_id = True
    type: Literal["reminder_add"] = "reminder_add"


class ReminderDelete(SyncCommand[ItemIdArgs]):
    type: Literal["reminder_delete"] = "reminder_delete"


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


def commands_json(commands: Sequence[Command]) -> bytes:
    """The commands' wire forms as one compact UTF-8 JSON array, serialised in one pass by pydantic-core (about
    twice as fast as dumping each command to a dict and encoding those)."""
    return _COMMAND_LIST_ADAPTER.dump_json(list(commands), exclude_unset=True)
