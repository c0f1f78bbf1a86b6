"""Resource objects as the Sync endpoint returns them: what the docs or the SDK allow, and nothing stricter.

Todoist's own SDK fails a whole response on one unexpected value (reference §1). These types accept what a real
account carries (``due.lang: null``, ``duration.unit: "hour"``, numeric ids, unknown keys); ``sync/responses.py`` reads
a response into them so that an object that still cannot be read costs only itself.

The mirrored objects (tasks and the rest) are compact ``Record`` structs (``sync/lenient.py``); the user, errors and
their parts stay pydantic models (one of each per response; their per-field leniency is pydantic's).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from tools_server.sync.lenient import Record


class _Lenient(BaseModel):
    # Ids are opaque strings, but user ids look numeric and an older or third-party backend may send them as numbers.
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)


class Due(Record):
    """A due date as Todoist returns it: ``date`` is YYYY-MM-DD (all day), a floating local datetime (no ``Z``), or a
    UTC datetime ending in ``Z`` with the IANA ``timezone`` it is fixed to (reference §2.2)."""

    date: str
    timezone: str | None = None
    string: str = ""
    # The SDK allows null; null means "the user's language", so it must never be sent back as a value or as null.
    lang: str | None = None
    is_recurring: bool = False


class Deadline(Record):
    date: str
    lang: str | None = None


class ItemDuration(Record):
    """A task's duration as read: the docs say a positive integer of ``minute`` or ``day``, the SDK allows any
    positive number, and a unit added later must not make the task unreadable."""

    amount: int | float
    unit: str


class Item(Record):
    id: str
    user_id: str = ""
    project_id: str = ""
    section_id: str | None = None
    parent_id: str | None = None
    content: str = ""
    description: str = ""
    priority: int = 1
    # A tuple: the empty one is shared, and a tuple of strings is no GC work.
    labels: tuple[str, ...] = ()
    due: Due | None = None
    deadline: Deadline | None = None
    duration: ItemDuration | None = None
    child_order: int = 0
    day_order: int = -1
    is_collapsed: bool = False
    added_by_uid: str | None = None
    assigned_by_uid: str | None = None
    responsible_uid: str | None = None
    checked: bool = False
    is_deleted: bool = False
    added_at: str | None = None
    updated_at: str | None = None
    completed_at: str | None = None


class Project(Record):
    id: str
    name: str = ""
    color: str = "charcoal"
    parent_id: str | None = None
    child_order: int = 0
    is_collapsed: bool = False
    # The Sync docs say ``shared``, the SDK and REST ``is_shared`` (reference §2.3); either may come.
    shared: bool = False
    is_shared: bool = False
    is_deleted: bool = False
    is_archived: bool = False
    is_favorite: bool = False
    view_style: str = "list"
    description: str = ""
    inbox_project: bool = False
    folder_id: str | None = None
    created_at: str | None = None
    updated_at: str | None = None


class Section(Record):
    id: str
    name: str = ""
    project_id: str = ""
    section_order: int = 0
    is_collapsed: bool = False
    user_id: str = ""
    is_deleted: bool = False
    is_archived: bool = False
    archived_at: str | None = None
    added_at: str | None = None
    updated_at: str | None = None


class Label(Record):
    id: str
    name: str = ""
    color: str = "charcoal"
    item_order: int | None = None  # the docs' Sync name; the docs' own objects and some backends send null
    is_deleted: bool = False
    is_favorite: bool = False


class Filter(Record):
    """A saved filter (reference §2.8): a name for a query in Todoist's filter language."""

    id: str
    name: str = ""
    query: str = ""
    color: str = "charcoal"
    item_order: int = 0
    is_deleted: bool = False
    is_favorite: bool = False
    is_frozen: bool = False
    description: str | None = None


class Note(Record):
    """A comment: on a task (``item_id``, from ``notes``) or on a project (``project_id``, from ``project_notes``)."""

    id: str
    content: str = ""
    item_id: str | None = None
    project_id: str | None = None
    posted_uid: str | None = None
    posted_at: str | None = None
    is_deleted: bool = False
    file_attachment: dict[str, Any] | None = None


class Collaborator(Record):
    """A person sharing a project with the user (reference §2.11: ``collaborators``); shown as the assignee of a task
    whose ``responsible_uid`` names them."""

    id: str
    email: str = ""
    full_name: str = ""
    is_deleted: bool = False  # not sent by Todoist; lets a collaborator be merged like every other record


class CollaboratorState(Record):
    """A person's membership of one shared project (reference §2.11: ``collaborator_states``): who may be made
    responsible for its tasks. Todoist gives it no id; the pair of ids is one, so it merges like every record."""

    user_id: str
    project_id: str
    state: str = "active"  # active or invited
    is_deleted: bool = False

    @property
    def id(self) -> str:
        return f"{self.project_id}:{self.user_id}"


class Reminder(Record):
    id: str
    item_id: str = ""
    type: str = "relative"
    due: Due | None = None
    minute_offset: int | None = None
    is_deleted: bool = False
    # type "location" (from ``reminders_location``): the place's name, coordinates as strings (reference §2.7),
    # on_enter | on_leave, the radius in metres.
    name: str | None = None
    loc_lat: str | None = None
    loc_long: str | None = None
    loc_trigger: str | None = None
    radius: int | None = None


class TzInfo(_Lenient):
    timezone: str | None = None
    gmt_string: str | None = None
    hours: int | None = None
    minutes: int | None = None
    is_dst: int | bool | None = None  # the docs and the SDK say 0/1


class User(_Lenient):
    """The account's own settings the client needs: where "today" is, which day starts the week, its language."""

    id: str = ""
    inbox_project_id: str | None = None
    tz_info: TzInfo | None = None
    timezone: str | None = None  # not in the docs or the SDK; read only when ``tz_info`` is missing
    start_day: int | None = None  # 1 = Monday .. 7 = Sunday
    date_format: int | None = None  # 0 = DD-MM-YYYY, 1 = MM-DD-YYYY
    time_format: int | None = None  # 0 = 24h, 1 = 12h
    lang: str | None = None
    full_name: str | None = None

    @property
    def zone_name(self) -> str | None:
        """The user's IANA timezone: ``tz_info.timezone`` (documented), else the legacy top-level ``timezone``."""
        if self.tz_info is not None and self.tz_info.timezone:
            return self.tz_info.timezone
        return self.timezone or None


# ---------------------------------------------------------------------------------------------------------------------
# Errors and responses


def _none_as_empty(value: Any) -> Any:
    return {} if value is None else value


class SyncError(_Lenient):
    """A Todoist error object; any key may be missing (the docs' own examples omit some)."""

    error: str | None = None
    error_code: int | None = None
    error_tag: str | None = None
    http_code: int | None = None
    error_extra: Annotated[dict[str, Any], BeforeValidator(_none_as_empty)] = Field(default_factory=dict[str, Any])

    @property
    def retryable(self) -> bool:
        """429 and 5xx may succeed later; other errors need different input."""
        code = self.http_code
        return code is not None and (code == 429 or code >= 500)


CommandStatus = Literal["ok"] | SyncError


# ---------------------------------------------------------------------------------------------------------------------
# REST reads: GET /api/v1/tasks/completed/by_completion_date | by_due_date (reference §4)


class CompletedTask(Record):
    id: str
    content: str = ""
    project_id: str = ""
    # What a deletion of its parent, section or project takes along.
    parent_id: str | None = None
    section_id: str | None = None
    completed_at: str | None = None
    due: Due | None = None


class CompletedPage(Record):
    items: tuple[CompletedTask, ...] = ()
    next_cursor: str | None = None


class ArchivedProjectsPage(Record):
    """One page of ``GET /api/v1/projects/archived``."""

    results: tuple[Project, ...] = ()
    next_cursor: str | None = None


class ActivityEvent(Record):
    """One event of ``GET /api/v1/activities`` (reference §4; Doist's SDK ``ActivityEventSchema``): ``id`` is a string
    or a number, ``event_date`` UTC; ``extra_data`` holds e.g. ``content``/``name`` and ``last_*`` values."""

    object_type: str
    object_id: str
    event_type: str
    event_date: str
    id: str | int | None = None
    parent_project_id: str | None = None
    parent_item_id: str | None = None
    initiator_id: str | None = None
    extra_data: dict[str, Any] | None = None


class ActivityPage(Record):
    """One page of ``GET /api/v1/activities``."""

    results: tuple[ActivityEvent, ...] = ()
    next_cursor: str | None = None


# ``GET /api/v1/tasks/completed/stats`` (reference §4; Doist's SDK ``ProductivityStatsSchema``): what find_completed
# shows of it. Per-project items, karma history and project colours are not read.


class Streak(Record):
    count: int = 0
    start: str | None = None  # the docs: null when there is no streak; the SDK: a date
    end: str | None = None


class DayCount(Record):
    date: str = ""
    total_completed: int = 0


class WeekCount(Record):
    first: str = msgspec.field(default="", name="from")
    to: str = ""
    total_completed: int = 0


class Goals(Record):
    daily_goal: int = 0
    weekly_goal: int = 0
    ignore_days: tuple[int, ...] = ()
    vacation_mode: int | bool = 0
    karma_disabled: int | bool = 0
    current_daily_streak: Streak | None = None
    last_daily_streak: Streak | None = None
    max_daily_streak: Streak | None = None
    current_weekly_streak: Streak | None = None
    last_weekly_streak: Streak | None = None
    max_weekly_streak: Streak | None = None


class ProductivityStats(Record):
    completed_count: int = 0
    days_items: tuple[DayCount, ...] = ()
    week_items: tuple[WeekCount, ...] = ()
    goals: Goals | None = None
    karma: float = 0
    karma_trend: str = ""


class Upload(Record):
    """The answer of ``POST /api/v1/uploads`` (reference §2.6; Doist's SDK ``uploadFile`` validates it as an
    ``Attachment``): what a comment's ``file_attachment`` then carries. The image fields come for images only."""

    file_url: str
    resource_type: str = "file"
    file_name: str | None = None
    file_size: int | None = None
    file_type: str | None = None
    upload_state: str | None = None
    image: str | None = None
    image_width: int | None = None
    image_height: int | None = None
