"""A Sync response read so that one bad object costs only itself, into the types of ``sync/resources.py``.

Todoist's own SDK fails a whole response on one unexpected value (reference §1). This client must not: the records
accept what the docs or the SDK allow, and ``read_response`` reads the envelope first and each object of the declared
resource lists (sync/resource_types.py) on its own: an object that still cannot be read is skipped with one warning
naming its type and id, and everything else in the response is applied. A conventional response is decoded in one
pass straight from its bytes into the records.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, fields
from typing import Any, TypeVar, cast

import msgspec
from pydantic import BaseModel, ValidationError

from tools_server.sync.lenient import Record, decoder, describe, read
from tools_server.sync.resource_types import MIRRORED_RESOURCE_TYPES as MIRRORED_RESOURCE_TYPES
from tools_server.sync.resource_types import RESOURCE_TYPES, ResourceType
from tools_server.sync.resources import ActivityEvent as ActivityEvent
from tools_server.sync.resources import ActivityPage as ActivityPage
from tools_server.sync.resources import ArchivedProjectsPage as ArchivedProjectsPage
from tools_server.sync.resources import Collaborator as Collaborator
from tools_server.sync.resources import CollaboratorState as CollaboratorState
from tools_server.sync.resources import CommandStatus as CommandStatus
from tools_server.sync.resources import CompletedPage as CompletedPage
from tools_server.sync.resources import CompletedTask as CompletedTask
from tools_server.sync.resources import Deadline as Deadline
from tools_server.sync.resources import Due as Due
from tools_server.sync.resources import Filter as Filter
from tools_server.sync.resources import Item as Item
from tools_server.sync.resources import ItemDuration as ItemDuration
from tools_server.sync.resources import Label as Label
from tools_server.sync.resources import Note as Note
from tools_server.sync.resources import ProductivityStats as ProductivityStats
from tools_server.sync.resources import Project as Project
from tools_server.sync.resources import Reminder as Reminder
from tools_server.sync.resources import Section as Section
from tools_server.sync.resources import SyncError as SyncError
from tools_server.sync.resources import TzInfo as TzInfo
from tools_server.sync.resources import Upload as Upload
from tools_server.sync.resources import User as User

logger = logging.getLogger(__name__)
_R = TypeVar("_R", bound=Record)


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
    reminders_location: list[Reminder] | None = None
    filters: list[Filter] | None = None
    collaborators: list[Collaborator] | None = None
    collaborator_states: list[CollaboratorState] | None = None
    user: User | None = None


# The lists are typed storage for readers of a response; the reader fills them from the declarations.
if set(RESOURCE_TYPES) - {f.name for f in fields(SyncResponse)}:
    raise TypeError(f"SyncResponse needs a list for each of {sorted(RESOURCE_TYPES)}")


class UnreadableResponse(ValueError):
    """The body is no Sync response (not JSON, or no usable envelope): nothing in it can be trusted. The text names
    where and why, never a value (the body is the user's data)."""


_NULL = msgspec.Raw(b"null")


class _Envelope(msgspec.Struct, gc=False):
    # A sync token is opaque text the backend made: a number there means the body is not a Sync response.
    sync_token: str
    full_sync: bool = False
    full_sync_date_utc: str | None = None
    sync_status: dict[str, Any] = {}
    temp_id_mapping: dict[str, Any] = {}
    user: msgspec.Raw = _NULL  # a pydantic model, read setting by setting when one is odd


# The envelope and the declared lists: each read in the one pass (what a conventional response costs), or each kept
# as raw JSON text to be read object by object.
_Whole = cast(
    type[_Envelope],
    msgspec.defstruct(
        "_Whole", [(k.name, list[k.record] | None, None) for k in RESOURCE_TYPES.values()], bases=(_Envelope,), gc=False
    ),
)
_Sliced = cast(
    type[_Envelope],
    msgspec.defstruct("_Sliced", [(name, msgspec.Raw, _NULL) for name in RESOURCE_TYPES], bases=(_Envelope,), gc=False),
)
# Lax (``1`` for ``full_sync: true``, ``"4"`` for a priority), but a number is still no sync token.
_WHOLE = msgspec.json.Decoder(_Whole, strict=False)
_SLICED = msgspec.json.Decoder(_Sliced, strict=False)
_RAW_LIST = msgspec.json.Decoder(list[msgspec.Raw])


def read_response(content: bytes | str) -> SyncResponse:
    """The Sync response in ``content``, skipping (with one WARNING each) objects that cannot be read.

    Raises ``UnreadableResponse`` when the body is not JSON or its envelope is unusable (no sync token). The body is
    decoded in one pass straight into records (no tree of dicts is built first); only a body that pass refuses is
    read again, each object from its own slice, so that a bad one costs only itself.
    """
    try:
        whole = _WHOLE.decode(content)
    except msgspec.ValidationError:
        return _read_sliced(content)
    except msgspec.DecodeError:
        raise UnreadableResponse("body: not JSON") from None
    response = _response(whole)
    for name in RESOURCE_TYPES:
        setattr(response, name, getattr(whole, name))
    return response


def _read_sliced(content: bytes | str) -> SyncResponse:
    try:
        body = _SLICED.decode(content)
    except msgspec.ValidationError as exc:
        where, why = describe(exc)
        raise UnreadableResponse(f"{where or 'body'}: {why}") from None
    response = _response(body)
    for kind in RESOURCE_TYPES.values():
        setattr(response, kind.name, _read_list(kind, getattr(body, kind.name)))
    return response


def _response(body: _Envelope) -> SyncResponse:
    """The envelope read: command statuses and temp ids one by one, the user setting by setting."""
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
        user=None if body.user == _NULL else _read_user(msgspec.json.decode(body.user)),
    )


# Each type's strict decoder, built once.
_STRICT: dict[str, msgspec.json.Decoder[Any]] = {kind.name: decoder(kind.record) for kind in RESOURCE_TYPES.values()}


def _read_list(kind: ResourceType[_R], raw: msgspec.Raw) -> list[_R] | None:
    if raw == _NULL:
        return None
    try:
        entries = _RAW_LIST.decode(raw)
    except msgspec.ValidationError:
        logger.warning("Sync response: %s is not a list; ignored", kind.name)
        return None
    read_one, cls, strict = read, kind.record, _STRICT[kind.name]
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


_COMPLETED_PAGE = decoder(CompletedPage)


_ARCHIVED_PAGE = decoder(ArchivedProjectsPage)
_ACTIVITY_PAGE = decoder(ActivityPage)
_PageT = TypeVar("_PageT", CompletedPage, ArchivedProjectsPage, ActivityPage)


def read_completed_page(content: bytes) -> CompletedPage:
    """One page of completed tasks; ``UnreadableResponse`` (where and why) when it is not one."""
    return _read_page(CompletedPage, _COMPLETED_PAGE, content)


def read_archived_page(content: bytes) -> ArchivedProjectsPage:
    """One page of archived projects; ``UnreadableResponse`` (where and why) when it is not one."""
    return _read_page(ArchivedProjectsPage, _ARCHIVED_PAGE, content)


def read_activity_page(content: bytes) -> ActivityPage:
    """One page of activity events; ``UnreadableResponse`` (where and why) when it is not one."""
    return _read_page(ActivityPage, _ACTIVITY_PAGE, content)


def _read_page(cls: type[_PageT], strict: msgspec.json.Decoder[_PageT], content: bytes) -> _PageT:
    try:
        return read(cls, strict, content)
    except msgspec.ValidationError as exc:
        where, why = describe(exc)
        raise UnreadableResponse(f"{where or 'body'}: {why}") from None
    except msgspec.DecodeError:
        raise UnreadableResponse("body: not JSON") from None


_STATS = decoder(ProductivityStats)


def read_stats(content: bytes) -> ProductivityStats:
    """Productivity stats; ``UnreadableResponse`` (where and why) when the body is not them."""
    try:
        return read(ProductivityStats, _STATS, content)
    except msgspec.ValidationError as exc:
        where, why = describe(exc)
        raise UnreadableResponse(f"{where or 'body'}: {why}") from None
    except msgspec.DecodeError:
        raise UnreadableResponse("body: not JSON") from None


_UPLOAD = decoder(Upload)


def read_upload(content: bytes) -> Upload:
    """An upload's answer; ``UnreadableResponse`` (where and why) when the body is not one."""
    try:
        return read(Upload, _UPLOAD, content)
    except msgspec.ValidationError as exc:
        where, why = describe(exc)
        raise UnreadableResponse(f"{where or 'body'}: {why}") from None
    except msgspec.DecodeError:
        raise UnreadableResponse("body: not JSON") from None
