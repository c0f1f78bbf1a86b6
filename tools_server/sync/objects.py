"""Resource objects as the Sync endpoint returns them, and a response read so that one bad object costs only itself.

Todoist's own SDK fails a whole response on one unexpected value (reference §1). This client must not: a real account
carries values our models never saw (``due.lang: null``, ``duration.unit: "hour"``, numeric ids, new keys). So the
models accept what the docs or the SDK allow (nulls, unknown enum values, numbers for strings, unknown keys), and
``read_response`` reads the envelope first and each resource object on its own: an object that still cannot be read
is skipped with one warning naming its type and id, and everything else in the response is applied.
"""

from __future__ import annotations

import json
import logging
from typing import Annotated, Any, Literal, cast

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, Strict, ValidationError

logger = logging.getLogger(__name__)


class _Lenient(BaseModel):
    # Ids are opaque strings, but user ids look numeric and an older or third-party backend may send them as numbers.
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)


class Due(_Lenient):
    """A due date as Todoist returns it: ``date`` is YYYY-MM-DD (all day), a floating local datetime (no ``Z``), or a
    UTC datetime ending in ``Z`` with the IANA ``timezone`` it is fixed to (reference §2.2)."""

    date: str
    timezone: str | None = None
    string: str = ""
    # The SDK allows null; null means "the user's language", so it must never be sent back as a value or as null.
    lang: str | None = None
    is_recurring: bool = False


class Deadline(_Lenient):
    date: str
    lang: str | None = None


class ItemDuration(_Lenient):
    """A task's duration as read: the docs say a positive integer of ``minute`` or ``day``, the SDK allows any
    positive number, and a unit added later must not make the task unreadable."""

    amount: int | float
    unit: str


class Item(_Lenient):
    id: str
    user_id: str = ""
    project_id: str = ""
    section_id: str | None = None
    parent_id: str | None = None
    content: str = ""
    description: str = ""
    priority: int = 1
    labels: list[str] = Field(default_factory=list[str])
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


class Project(_Lenient):
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


class Section(_Lenient):
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


class Label(_Lenient):
    id: str
    name: str = ""
    color: str = "charcoal"
    item_order: int | None = None  # the docs' Sync name; the docs' own objects and some backends send null
    is_deleted: bool = False
    is_favorite: bool = False


class Note(_Lenient):
    """A comment: on a task (``item_id``, from ``notes``) or on a project (``project_id``, from ``project_notes``)."""

    id: str
    content: str = ""
    item_id: str | None = None
    project_id: str | None = None
    posted_uid: str | None = None
    posted_at: str | None = None
    is_deleted: bool = False
    file_attachment: dict[str, Any] | None = None


class Reminder(_Lenient):
    id: str
    item_id: str = ""
    type: str = "relative"
    due: Due | None = None
    minute_offset: int | None = None
    is_deleted: bool = False


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


class SyncResponse(_Lenient):
    # A sync token is opaque text the backend made: a number there means the body is not a Sync response.
    sync_token: Annotated[str, Strict()]
    full_sync: bool = False
    full_sync_date_utc: str | None = None
    sync_status: dict[str, CommandStatus] = Field(default_factory=dict[str, CommandStatus])
    temp_id_mapping: dict[str, str] = Field(default_factory=dict[str, str])
    items: list[Item] | None = None
    projects: list[Project] | None = None
    sections: list[Section] | None = None
    labels: list[Label] | None = None
    notes: list[Note] | None = None
    project_notes: list[Note] | None = None
    reminders: list[Reminder] | None = None
    user: User | None = None


# The resource types this server reads and mirrors.
MIRRORED_RESOURCE_TYPES = ("items", "projects", "sections", "labels", "notes", "project_notes", "reminders", "user")

_LISTS: dict[str, type[_Lenient]] = {
    "items": Item,
    "projects": Project,
    "sections": Section,
    "labels": Label,
    "notes": Note,
    "project_notes": Note,
    "reminders": Reminder,
}
_SINGULAR = {
    "items": "item",
    "projects": "project",
    "sections": "section",
    "labels": "label",
    "notes": "note",
    "project_notes": "project note",
    "reminders": "reminder",
}


class _Envelope(_Lenient):
    """The response without its resources: what confirms commands and moves the sync token."""

    sync_token: Annotated[str, Strict()]
    full_sync: bool = False
    full_sync_date_utc: str | None = None
    sync_status: dict[str, Any] = Field(default_factory=dict[str, Any])
    temp_id_mapping: dict[str, Any] = Field(default_factory=dict[str, Any])


def read_response(content: bytes | str) -> SyncResponse:
    """The Sync response in ``content``, skipping (with one WARNING each) objects that cannot be read.

    Raises ``ValidationError`` when the envelope itself is unusable (no sync token) and ``ValueError`` when the body
    is not JSON: then nothing in it can be trusted. The whole body is parsed in one pydantic-core pass first; only a
    body with a bad object pays for reading object by object.
    """
    try:
        return SyncResponse.model_validate_json(content)
    except ValidationError:
        pass
    data: object = json.loads(content)
    if not isinstance(data, dict):
        return SyncResponse.model_validate(data)  # raises: a JSON array or scalar is no response
    body: dict[str, Any] = data  # pyright: ignore[reportUnknownVariableType]
    envelope = _Envelope.model_validate(body)
    fields: dict[str, Any] = envelope.model_dump(exclude={"sync_status", "temp_id_mapping"})
    fields["sync_status"] = _statuses(envelope.sync_status)
    fields["temp_id_mapping"] = {
        temp: str(real)
        for temp, real in envelope.temp_id_mapping.items()
        if isinstance(real, str | int) and not isinstance(real, bool)
    }
    for key, model in _LISTS.items():
        raw = body.get(key)
        if isinstance(raw, list):
            entries = cast(list[Any], raw)
            fields[key] = [obj for entry in entries if (obj := _read_one(model, _SINGULAR[key], entry)) is not None]
        elif raw is not None:
            logger.warning("Sync response: %s is not a list; ignored", key)
    user = body.get("user")
    if user is not None:
        fields["user"] = _read_user(user)
    return SyncResponse.model_construct(**fields)


def _read_user(raw: object) -> User | None:
    """The user, without the settings that cannot be read: one odd setting must not cost the timezone."""
    if not isinstance(raw, dict):
        return _read_one(User, "user", raw)
    data = dict(cast(dict[str, Any], raw))
    try:
        return User.model_validate(data)
    except ValidationError as exc:
        bad = sorted({str(error["loc"][0]) for error in exc.errors() if error["loc"]})
    logger.warning("Sync response: user settings %s could not be read; using defaults for them", ", ".join(bad))
    for key in bad:
        data.pop(key, None)
    return _read_one(User, "user", data)


def _read_one(model: type[_Lenient], kind: str, raw: object) -> Any:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        ident: object = cast(dict[str, Any], raw).get("id") if isinstance(raw, dict) else None
        first = exc.errors(include_url=False, include_context=False, include_input=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or kind
        # Type, id and the failing field only: the object's values are the user's data and stay out of logs.
        logger.warning("Sync response: skipped unreadable %s id=%s (%s: %s)", kind, _short(ident), where, first["msg"])
        return None


def _statuses(raw: dict[str, Any]) -> dict[str, CommandStatus]:
    """Each command's status on its own: an unreadable one is left out, so its command stays unconfirmed."""
    statuses: dict[str, CommandStatus] = {}
    for uuid, status in raw.items():
        if status == "ok":
            statuses[uuid] = "ok"
        elif isinstance(status, dict):
            error = _read_one(SyncError, "sync_status", cast(dict[str, Any], status))
            if error is not None:
                statuses[uuid] = error
        else:
            logger.warning("Sync response: unreadable sync_status for command %s; left unconfirmed", _short(uuid))
    return statuses


def _short(value: object) -> str:
    text = repr(value) if not isinstance(value, str) else value
    return text if len(text) <= 64 else text[:63] + "…"


# ---------------------------------------------------------------------------------------------------------------------
# REST reads: GET /api/v1/tasks/completed/by_completion_date | by_due_date (reference §4)


class CompletedTask(_Lenient):
    id: str
    content: str = ""
    project_id: str = ""
    completed_at: str | None = None
    due: Due | None = None


class CompletedPage(_Lenient):
    items: list[CompletedTask] = Field(default_factory=list[CompletedTask])
    next_cursor: str | None = None
