"""The local backend's own reading of Sync command arguments (fidelity reference §3 and §9), independent of the client.

Unknown keys are ignored, as Todoist ignores them; documented and SDK spellings are all accepted (``date_completed``
and ``completed_at``; ``view_style`` list/board/calendar/table); values Todoist refuses are refused with
INVALID_ARGUMENT_VALUE naming the argument (see ``handlers.parse_args``).
"""

from __future__ import annotations

import os
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

# Todoist's request limits (reference §6): at most 100 commands and 1 MiB of body per request.
MAX_COMMANDS_PER_REQUEST = 100
MAX_BODY_BYTES = 1024 * 1024

# Two undocumented due shapes this repository's client once sent: a datetime as ``due.datetime`` (the documented
# input puts it in ``due.date``) and ``"lang": null`` (the SDK's input type is a string). Todoist documents neither,
# so both are refused with INVALID_ARGUMENT_VALUE naming ``due.datetime`` / ``due.lang``.
# ``SyncStore(accept_client_due_shapes=True)`` or TOOLS_SERVER_LOCAL_LENIENT_DUES=1 accepts them (old clients).
ACCEPT_CLIENT_DUE_SHAPES = os.environ.get("TOOLS_SERVER_LOCAL_LENIENT_DUES") == "1"

Priority = Annotated[int, Field(ge=1, le=4)]
# Todoist's due-date languages (DC "Due dates").
DueLang = Literal["en", "da", "pl", "zh", "ko", "de", "pt", "ja", "it", "fr", "sv", "ru", "es", "nl", "fi", "nb", "tw"]


class Args(BaseModel):
    """The base of every command's arguments: unknown keys are ignored, as Todoist ignores them."""

    model_config = ConfigDict(extra="ignore")


class DurationArg(Args):
    """Both fields required; a positive whole number of minutes or days (docs: "positive integer")."""

    amount: Annotated[int, Field(gt=0)]
    unit: Literal["minute", "day"]


class DueArg(Args):
    """A due as a command sends it: ``{string[, lang][, timezone]}``, ``{date[, timezone]}`` or a whole due object.

    ``datetime`` is not a documented input key; it is read only so the handler can name it when refusing it.
    """

    string: str | None = None
    date: str | None = None
    datetime: str | None = None
    timezone: str | None = None
    lang: DueLang | None = None
    is_recurring: bool | None = None


class DeadlineArg(Args):
    date: Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$")]
    lang: str | None = None


class Due(BaseModel):
    """A due as this backend returns it (reference §2.2): ``timezone`` only on fixed dues, ``lang`` never null."""

    date: str
    timezone: str | None = None
    string: str = ""
    lang: str = "en"
    is_recurring: bool = False


class ItemAddArgs(Args):
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
    due: DueArg | None = None
    deadline: DeadlineArg | None = None
    duration: DurationArg | None = None
    assigned_by_uid: str | None = None
    responsible_uid: str | None = None
    auto_reminder: bool | None = None
    auto_parse_labels: bool | None = None


class ItemUpdateArgs(Args):
    """Fields left out are untouched; fields sent as null are cleared (``model_fields_set`` tells them apart)."""

    id: str
    content: Annotated[str, Field(min_length=1)] | None = None
    description: str | None = None
    due: DueArg | None = None
    deadline: DeadlineArg | None = None
    priority: Priority | None = None
    is_collapsed: bool | None = None
    labels: list[str] | None = None
    assigned_by_uid: str | None = None
    responsible_uid: str | None = None
    day_order: int | None = None
    duration: DurationArg | None = None


class ItemMoveArgs(Args):
    """Exactly one destination; the handler counts the keys sent, since ``null`` is a destination too (SDK union)."""

    id: str
    project_id: str | None = None
    section_id: str | None = None
    parent_id: str | None = None


class ItemIdArgs(Args):
    """item_close (not in the SDK's typed map, sent untyped), item_uncomplete, item_delete."""

    id: str


class ItemCompleteArgs(Args):
    id: str
    # The docs say date_completed, the SDK says completed_at (reference §3); both are accepted.
    date_completed: str | None = None
    completed_at: str | None = None
    force_history: bool | None = None
    from_undo: bool | None = None


class ProjectAddArgs(Args):
    name: Annotated[str, Field(min_length=1)]
    color: str | None = None
    parent_id: str | None = None
    child_order: int | None = None
    default_order: int | None = None
    is_favorite: bool | None = None
    view_style: Literal["list", "board", "calendar", "table"] | None = None
    description: Annotated[str, Field(max_length=1024)] | None = None


class SectionAddArgs(Args):
    name: Annotated[str, Field(min_length=1)]
    project_id: str
    section_order: int | None = None
