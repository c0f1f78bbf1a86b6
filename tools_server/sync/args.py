"""The arguments of the Sync commands, in their documented v1 shapes (reference §3).

Arguments are dumped with ``exclude_unset``, so only the documented keys a planner sets are ever sent; fields left
unset are untouched, fields set to null are cleared. Unknown keys are ignored, as Todoist does (e.g. REST-only
``assignee_id`` in a Sync command). A due goes out as ``string`` or ``date`` (a datetime goes in ``date``), with
``timezone``/``lang`` only when given.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


ViewStyle = Literal["list", "board", "calendar"]

Priority = Annotated[int, Field(ge=1, le=4)]
DueLang = Literal["en", "da", "pl", "zh", "ko", "de", "pt", "ja", "it", "fr", "sv", "ru", "es", "nl", "fi", "nb", "tw"]


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
    type: Literal["relative", "absolute", "location"]
    due: DueInput | None = None
    minute_offset: Annotated[int, Field(ge=0)] | None = None
    # type "location" (reference §2.7): coordinates are strings.
    name: str | None = None
    loc_lat: str | None = None
    loc_long: str | None = None
    loc_trigger: Literal["on_enter", "on_leave"] | None = None
    radius: int | None = None


class ShareArgs(_Lenient):
    """share_project / delete_collaborator: the project and the person, by email (reference §3)."""

    project_id: str
    email: str


class SectionAddArgs(_Lenient):
    name: Annotated[str, Field(min_length=1)]
    project_id: str
    section_order: int | None = None


class ProjectUpdateArgs(_Lenient):
    id: str
    name: Annotated[str, Field(min_length=1)] | None = None
    color: str | None = None
    is_collapsed: bool | None = None
    is_favorite: bool | None = None
    view_style: ViewStyle | None = None
    description: str | None = None


class ProjectMoveArgs(_Lenient):
    """``parent_id`` null (sent explicitly) moves the project to the root."""

    id: str
    parent_id: str | None = None


class ChildOrder(_Lenient):
    id: str
    child_order: int


class ItemReorderArgs(_Lenient):
    items: Annotated[list[ChildOrder], Field(min_length=1)]


class ProjectReorderArgs(_Lenient):
    projects: Annotated[list[ChildOrder], Field(min_length=1)]


class SectionUpdateArgs(_Lenient):
    id: str
    name: Annotated[str, Field(min_length=1)] | None = None
    is_collapsed: bool | None = None


class SectionMoveArgs(_Lenient):
    id: str
    project_id: str


class SectionOrder(_Lenient):
    id: str
    section_order: int


class SectionReorderArgs(_Lenient):
    sections: Annotated[list[SectionOrder], Field(min_length=1)]


class LabelAddArgs(_Lenient):
    name: Annotated[str, Field(min_length=1)]
    color: str | None = None
    item_order: int | None = None
    is_favorite: bool | None = None


class LabelUpdateArgs(_Lenient):
    id: str
    name: Annotated[str, Field(min_length=1)] | None = None
    color: str | None = None
    item_order: int | None = None
    is_favorite: bool | None = None


class LabelDeleteArgs(_Lenient):
    id: str
    cascade: Literal["all", "none"] | None = None


class LabelOrdersArgs(_Lenient):
    id_order_mapping: dict[str, int]


# filter_update_orders takes the same documented mapping (reference §3).
FilterOrdersArgs = LabelOrdersArgs


class FilterAddArgs(_Lenient):
    name: Annotated[str, Field(min_length=1)]
    query: Annotated[str, Field(min_length=1)]
    color: str | None = None
    item_order: int | None = None
    is_favorite: bool | None = None


class FilterUpdateArgs(_Lenient):
    id: str
    name: Annotated[str, Field(min_length=1)] | None = None
    query: Annotated[str, Field(min_length=1)] | None = None
    color: str | None = None
    item_order: int | None = None
    is_favorite: bool | None = None


class FileAttachment(_Lenient):
    """A file on a comment: one uploaded, or "any external resource" by its URL (DS 14, File Attachments)."""

    file_url: str
    file_name: str | None = None
    file_type: str | None = None  # the MIME type Todoist renders the preview by
    file_size: int | None = None
    resource_type: str | None = None  # an upload's answer says "file" or "image"; Todoist infers it otherwise


class NoteAddArgs(_Lenient):
    """Exactly one of ``item_id`` (a task comment) or ``project_id`` (a project comment)."""

    content: Annotated[str, Field(min_length=1)]
    item_id: str | None = None
    project_id: str | None = None
    file_attachment: FileAttachment | None = None


class NoteUpdateArgs(_Lenient):
    id: str
    content: Annotated[str, Field(min_length=1)]
