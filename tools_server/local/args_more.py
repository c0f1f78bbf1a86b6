"""Argument models of the Sync commands beyond items/projects/sections add (reference §3), the backend's own rules.

Unknown keys are ignored, as Todoist does; a bad value becomes INVALID_ARGUMENT_VALUE naming the argument (through
``handlers.parse_args``). Booleans Todoist documents as 0/1 (``is_forward``, ``reset_subtasks``) accept both forms.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, StrictBool, StrictInt, StrictStr

from tools_server.local.args import Args, DueArg

Id = Annotated[StrictStr, Field(min_length=1)]
Order = StrictInt


def _zero_one(value: Any) -> Any:
    return bool(value) if type(value) is int and value in (0, 1) else value


Flag = Annotated[StrictBool, BeforeValidator(_zero_one)]

# Todoist's color names (DC "Colors", ids 30-49).
Color = Literal[
    "berry_red", "red", "orange", "yellow", "olive_green", "lime_green", "green", "mint_green", "teal", "sky_blue",
    "light_blue", "blue", "grape", "violet", "lavender", "magenta", "salmon", "charcoal", "grey", "taupe",
]  # fmt: skip


class IdArgs(Args):
    id: Id


# -- items ------------------------------------------------------------------------------------------------------------


class ChildOrder(Args):
    id: Id
    child_order: Order


class ItemReorderArgs(Args):
    items: Annotated[list[ChildOrder], Field(min_length=1)]


class ItemDayOrdersArgs(Args):
    ids_to_orders: dict[str, Order]


class ItemDateCompleteArgs(Args):
    id: Id
    due: DueArg | None = None
    is_forward: Flag = True
    reset_subtasks: Flag = False


# -- projects and sections --------------------------------------------------------------------------------------------


class ProjectUpdateArgs(Args):
    id: Id
    name: StrictStr | None = None
    color: Color | None = None
    is_collapsed: StrictBool | None = None
    is_favorite: StrictBool | None = None
    view_style: Literal["list", "board", "calendar"] | None = None
    description: Annotated[StrictStr, Field(max_length=1024)] | None = None


class ProjectMoveArgs(Args):
    id: Id
    parent_id: Id | None = None


class ProjectReorderArgs(Args):
    projects: Annotated[list[ChildOrder], Field(min_length=1)]


class SectionUpdateArgs(Args):
    id: Id
    name: StrictStr | None = None
    is_collapsed: StrictBool | None = None


class SectionMoveArgs(Args):
    id: Id
    project_id: Id | None = None


class SectionOrder(Args):
    id: Id
    section_order: Order


class SectionReorderArgs(Args):
    sections: Annotated[list[SectionOrder], Field(min_length=1)]


class SectionArchiveArgs(Args):
    id: Id
    archived_at: StrictStr | None = None


# -- labels and filters -----------------------------------------------------------------------------------------------


class LabelAddArgs(Args):
    name: StrictStr
    color: Color | None = None
    item_order: Order | None = None
    is_favorite: StrictBool | None = None


class LabelUpdateArgs(Args):
    id: Id
    name: StrictStr | None = None
    color: Color | None = None
    item_order: Order | None = None
    is_favorite: StrictBool | None = None


class LabelDeleteArgs(Args):
    id: Id
    cascade: Literal["all", "none"] = "all"


class OrderMappingArgs(Args):
    id_order_mapping: dict[str, Order]


class FilterAddArgs(Args):
    name: StrictStr
    query: StrictStr
    color: Color | None = None
    item_order: Order | None = None
    is_favorite: StrictBool | None = None
    description: StrictStr | None = None


class FilterUpdateArgs(Args):
    id: Id
    name: StrictStr | None = None
    query: StrictStr | None = None
    color: Color | None = None
    item_order: Order | None = None
    is_favorite: StrictBool | None = None
    description: StrictStr | None = None


# -- notes and reminders ----------------------------------------------------------------------------------------------


class NoteAddArgs(Args):
    item_id: Id | None = None
    project_id: Id | None = None
    content: StrictStr | None = None
    file_attachment: dict[str, Any] | None = None
    uids_to_notify: list[StrictStr] | None = None


class NoteUpdateArgs(Args):
    id: Id
    content: StrictStr | None = None
    file_attachment: dict[str, Any] | None = None
    uids_to_notify: list[StrictStr] | None = None


ReminderType = Literal["relative", "absolute", "location"]


class ReminderAddArgs(Args):
    item_id: Id
    type: ReminderType
    notify_uid: Id | None = None
    due: DueArg | None = None
    minute_offset: Annotated[StrictInt, Field(ge=0)] | None = None
    is_urgent: StrictBool | None = None


class ReminderUpdateArgs(Args):
    id: Id
    type: ReminderType | None = None
    notify_uid: Id | None = None
    due: DueArg | None = None
    minute_offset: Annotated[StrictInt, Field(ge=0)] | None = None
    is_urgent: StrictBool | None = None
