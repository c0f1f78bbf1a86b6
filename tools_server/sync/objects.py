"""Resource objects as the Sync endpoint returns them, and a response read so that one bad object costs only itself.

Todoist's own SDK fails a whole response on one unexpected value (reference §1). This client must not: a real account
carries values our models never saw (``due.lang: null``, ``duration.unit: "hour"``, numeric ids, new keys). So the
objects accept what the docs or the SDK allow (nulls, unknown enum values, numbers for strings, unknown keys), and
``read_response`` reads the envelope first and each resource object on its own: an object that still cannot be read
is skipped with one warning naming its type and id, and everything else in the response is applied.

The mirrored objects (tasks and the rest) are compact ``Record`` structs decoded straight from the response bytes
(``sync/lenient.py``): an account of 100k tasks is held in about 1 kB a task. The user and errors stay pydantic models.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Annotated, Any, Generic, Literal, TypeVar, cast

import msgspec
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from tools_server.sync.lenient import Record, decoder, describe, read

logger = logging.getLogger(__name__)
_R = TypeVar("_R", bound=Record)


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


class Reminder(Record):
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


@dataclass(slots=True)
class SyncResponse:
    """One Sync response as ``read_response`` read it: the envelope and the resource objects that could be read."""

    sync_token: str
    full_sync: bool = False
    full_sync_date_utc: str | None = None
    sync_status: dict[str, CommandStatus] = field(default_factory=dict[str, CommandStatus])
    temp_id_mapping: dict[str, str] = field(default_factory=dict[str, str])
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


class UnreadableResponse(ValueError):
    """The body is no Sync response (not JSON, or no usable envelope): nothing in it can be trusted. The text names
    where and why, never a value (the body is the user's data)."""


_NULL = msgspec.Raw(b"null")


class _Body(msgspec.Struct, gc=False):
    """The response with each resource list kept as raw JSON text, read object by object below."""

    # A sync token is opaque text the backend made: a number there means the body is not a Sync response.
    sync_token: str
    full_sync: bool = False
    full_sync_date_utc: str | None = None
    sync_status: dict[str, Any] = {}
    temp_id_mapping: dict[str, Any] = {}
    items: msgspec.Raw = _NULL
    projects: msgspec.Raw = _NULL
    sections: msgspec.Raw = _NULL
    labels: msgspec.Raw = _NULL
    notes: msgspec.Raw = _NULL
    project_notes: msgspec.Raw = _NULL
    reminders: msgspec.Raw = _NULL
    user: msgspec.Raw = _NULL


# Lax (``1`` for ``full_sync: true``), but a number is still no sync token.
_BODY = msgspec.json.Decoder(_Body, strict=False)
_RAW_LIST = msgspec.json.Decoder(list[msgspec.Raw])


class _Kind(Generic[_R]):
    """One resource list's record type, its name in warnings, and its strict decoder (built once)."""

    def __init__(self, cls: type[_R], singular: str) -> None:
        self.cls, self.singular, self.strict = cls, singular, decoder(cls)


def read_response(content: bytes | str) -> SyncResponse:
    """The Sync response in ``content``, skipping (with one WARNING each) objects that cannot be read.

    Raises ``UnreadableResponse`` when the body is not JSON or its envelope is unusable (no sync token). Each object
    is decoded from its own slice of the body, straight into its record: no tree of dicts is built first.
    """
    try:
        body = _BODY.decode(content)
    except msgspec.ValidationError as exc:
        where, why = describe(exc)
        raise UnreadableResponse(f"{where or 'body'}: {why}") from None
    except msgspec.DecodeError:
        raise UnreadableResponse("body: not JSON") from None
    return SyncResponse(
        sync_token=body.sync_token,
        full_sync=body.full_sync,
        full_sync_date_utc=body.full_sync_date_utc,
        sync_status=_statuses(body.sync_status),
        temp_id_mapping={
            temp: str(real)
            for temp, real in body.temp_id_mapping.items()
            if isinstance(real, str | int) and not isinstance(real, bool)
        },
        items=_read_list("items", body.items, _ITEMS),
        projects=_read_list("projects", body.projects, _PROJECTS),
        sections=_read_list("sections", body.sections, _SECTIONS),
        labels=_read_list("labels", body.labels, _LABELS),
        notes=_read_list("notes", body.notes, _NOTES),
        project_notes=_read_list("project_notes", body.project_notes, _PROJECT_NOTES),
        reminders=_read_list("reminders", body.reminders, _REMINDERS),
        user=None if body.user == _NULL else _read_user(msgspec.json.decode(body.user)),
    )


_ITEMS = _Kind(Item, "item")
_PROJECTS = _Kind(Project, "project")
_SECTIONS = _Kind(Section, "section")
_LABELS = _Kind(Label, "label")
_NOTES = _Kind(Note, "note")
_PROJECT_NOTES = _Kind(Note, "project note")
_REMINDERS = _Kind(Reminder, "reminder")


def _read_list(key: str, raw: msgspec.Raw, kind: _Kind[_R]) -> list[_R] | None:
    if raw == _NULL:
        return None
    try:
        entries = _RAW_LIST.decode(raw)
    except msgspec.ValidationError:
        logger.warning("Sync response: %s is not a list; ignored", key)
        return None
    read_one, cls, strict = read, kind.cls, kind.strict
    found: list[_R] = []
    for entry in entries:
        try:
            found.append(read_one(cls, strict, entry))
        except msgspec.ValidationError as exc:
            _skip(kind.singular, entry, exc)
    return found


def _skip(kind: str, raw: msgspec.Raw, exc: msgspec.ValidationError) -> None:
    data: object = msgspec.json.decode(raw)
    ident: object = cast(dict[str, Any], data).get("id") if isinstance(data, dict) else None
    where, why = describe(exc)
    # Type, id and the failing field only: the object's values are the user's data and stay out of logs.
    logger.warning("Sync response: skipped unreadable %s id=%s (%s: %s)", kind, _short(ident), where or kind, why)


def _read_user(raw: object) -> User | None:
    """The user, without the settings that cannot be read: one odd setting must not cost the timezone."""
    if not isinstance(raw, dict):
        return _read_model(User, "user", raw)
    data = dict(cast(dict[str, Any], raw))
    try:
        return User.model_validate(data)
    except ValidationError as exc:
        bad = sorted({str(error["loc"][0]) for error in exc.errors() if error["loc"]})
    logger.warning("Sync response: user settings %s could not be read; using defaults for them", ", ".join(bad))
    for key in bad:
        data.pop(key, None)
    return _read_model(User, "user", data)


_M = TypeVar("_M", bound=BaseModel)


def _read_model(model: type[_M], kind: str, raw: object) -> _M | None:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        ident: object = cast(dict[str, Any], raw).get("id") if isinstance(raw, dict) else None
        first = exc.errors(include_url=False, include_context=False, include_input=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or kind
        logger.warning("Sync response: skipped unreadable %s id=%s (%s: %s)", kind, _short(ident), where, first["msg"])
        return None


def _statuses(raw: dict[str, Any]) -> dict[str, CommandStatus]:
    """Each command's status on its own: an unreadable one is left out, so its command stays unconfirmed."""
    statuses: dict[str, CommandStatus] = {}
    for uuid, status in raw.items():
        if status == "ok":
            statuses[uuid] = "ok"
        elif isinstance(status, dict):
            error = _read_model(SyncError, "sync_status", cast(dict[str, Any], status))
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


class CompletedTask(Record):
    id: str
    content: str = ""
    project_id: str = ""
    completed_at: str | None = None
    due: Due | None = None


class CompletedPage(Record):
    items: tuple[CompletedTask, ...] = ()
    next_cursor: str | None = None


_COMPLETED_PAGE = decoder(CompletedPage)


def read_completed_page(content: bytes) -> CompletedPage:
    """One page of completed tasks; ``UnreadableResponse`` (where and why) when it is not one."""
    try:
        return read(CompletedPage, _COMPLETED_PAGE, content)
    except msgspec.ValidationError as exc:
        where, why = describe(exc)
        raise UnreadableResponse(f"{where or 'body'}: {why}") from None
    except msgspec.DecodeError:
        raise UnreadableResponse("body: not JSON") from None
