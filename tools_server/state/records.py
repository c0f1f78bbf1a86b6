"""The one codec for everything a store keeps between calls: query_changes views and the task snapshots they share,
undo records, pending resend batches, removals counted for confirmation, and the `call` file's mirror.

Every record is a msgspec Struct tagged with its kind (``record``) and its ``format`` version, encoded as JSON and
decoded only into the types declared here: decoding cannot run code, whatever the bytes say. Commands are kept in
their wire form and read back through the command registry (``type`` picks the model), as a backend would read them.

Domain objects (``UndoRecord``, ``PendingWrite``, ``Plan``, ``Mirror`` ...) are converted by a loop over their own
dataclass fields, and an import-time check requires every field to have its stored twin: a field added to a domain
type cannot be left out of what the stores keep (the memory, Redis and file stores all go through this module).

A record is sealed with an HMAC-SHA256 whose key needs both the server's secret and the account's token-derived
secret (``account_key``), bound to the slot it is stored under (``write:u_...``, ``pending:w_...``), so neither
write access to the store plus another Todoist account, nor moving a record to another slot, makes a record that
opens. The seal is checked before the body is decoded.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import weakref
import zlib
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar, get_args

import msgspec
from pydantic import TypeAdapter, ValidationError

from tools_server.cursors import ObjectType, SeenObjects
from tools_server.plans import Image, LocalError, PendingWrite, Plan, Step, UndoRecord, WriteKind
from tools_server.sync.commands import (
    Collaborator,
    CollaboratorState,
    Command,
    Filter,
    Item,
    Label,
    Note,
    Project,
    Reminder,
    Section,
    SyncCommand,
    commands_json,
)
from tools_server.sync.mirror import GoneReason, Mirror
from tools_server.sync.responses import SyncError, User
from tools_server.sync.send import NotConfirmed, Outcome, Status

# The version of every stored record. 1 was the era before this codec (Redis records in Python's own serialisation
# format, the `call` file copied field by field); a record of another format is refused, never guessed at.
FORMAT = 2
# First byte of a record as a byte string (Redis): this format, and the one the earlier version wrote.
BLOB_HEADER = b"\x02"
EARLIER_HEADER = b"\x01"
MAC_SIZE = 32
# A record larger than this once decompressed is refused unread (a task is about 300 bytes of JSON).
MAX_BODY_BYTES = 512 * 1024 * 1024
_KEY_LABEL = b"tools-server records v2\x00"

Why = Literal["earlier", "seal", "format", "unreadable"]
_WHY_TEXT: dict[Why, str] = {
    "earlier": "it was kept by an earlier version of tools-server, whose records this version never decodes",
    "seal": "its seal does not check (written with another server secret, or not by this server)",
    "format": "it is in a record format this version does not read",
    "unreadable": "it cannot be decoded",
}


class Refused(Exception):
    """A record that is not opened: why, in words a message can quote."""

    def __init__(self, why: Why) -> None:
        super().__init__(_WHY_TEXT[why])
        self.why: Why = why


# ---------------------------------------------------------------------------------------------------------------------
# Stored forms


class StoredRecord(msgspec.Struct, tag_field="record", kw_only=True, forbid_unknown_fields=True):
    """Base of every top-level record: its kind (the tag) and the format it was written in."""

    format: int = FORMAT


class _Header(msgspec.Struct):
    """What any record says about itself, read when the full decode fails, to tell another format from damage."""

    format: int = 0


_COMMANDS: TypeAdapter[list[Command]] = TypeAdapter(list[Command])


def _commands_raw(commands: list[Command]) -> msgspec.Raw:
    # The wire form (unset fields left out, explicit nulls kept): what the registry reads back into the same command.
    return msgspec.Raw(commands_json(commands))


def _commands_of(raw: msgspec.Raw) -> list[Command]:
    # Through the registry: ``type`` picks the command model; an unknown type or a bad argument refuses the record.
    return _COMMANDS.validate_json(bytes(raw))


class _ProjectImage(msgspec.Struct, tag_field="of", tag="project", forbid_unknown_fields=True):
    value: Project


class _SectionImage(msgspec.Struct, tag_field="of", tag="section", forbid_unknown_fields=True):
    value: Section


class _LabelImage(msgspec.Struct, tag_field="of", tag="label", forbid_unknown_fields=True):
    value: Label


class _CommentImage(msgspec.Struct, tag_field="of", tag="comment", forbid_unknown_fields=True):
    value: Note


class _FilterImage(msgspec.Struct, tag_field="of", tag="filter", forbid_unknown_fields=True):
    value: Filter


# An object image is one of these untagged structs; stored, it says which.
ImageRecord = _ProjectImage | _SectionImage | _LabelImage | _CommentImage | _FilterImage
_IMAGE_WRAPPERS: dict[type[Any], Callable[[Any], ImageRecord]] = {
    Project: _ProjectImage,
    Section: _SectionImage,
    Label: _LabelImage,
    Note: _CommentImage,
    Filter: _FilterImage,
}


def _image_record(image: Image | None) -> ImageRecord | None:
    return None if image is None else _IMAGE_WRAPPERS[type(image)](image)


def _image(record: ImageRecord | None) -> Image | None:
    return None if record is None else record.value


class SeenRecord(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """What a view saw of comments, projects, sections and labels, one table per ``ObjectType`` (None: never seen)."""

    project: dict[str, Project] | None = None
    section: dict[str, Section] | None = None
    label: dict[str, Label] | None = None
    comment: dict[str, Note] | None = None


_OBJECT_TYPES: tuple[ObjectType, ...] = get_args(ObjectType)


def seen_record(objects: SeenObjects) -> SeenRecord:
    return SeenRecord(**{kind: dict(table) for kind, table in objects.seen.items()})


def seen_objects(record: SeenRecord) -> SeenObjects:
    tables: dict[ObjectType, dict[str, Any]] = {}
    for kind in _OBJECT_TYPES:
        table: dict[str, Any] | None = getattr(record, kind)
        if table is not None:
            tables[kind] = table
    return SeenObjects(seen=tables)


class ViewRecord(StoredRecord, tag="view"):
    """A query_changes view as a shared store keeps it (``state/views.py``): the snapshot it sits on, and what it
    saw since on top of it (None: seen gone since the snapshot)."""

    snapshot: str | None  # the slot name of its snapshot; None: ``own`` is all it saw
    own: dict[str, Item | None]
    size: int
    objects: SeenRecord


class ViewChangeRecord(StoredRecord, tag="view_change"):
    """What a view saw since its last record (the file store): the tasks it saw anew (None: seen gone), those back to
    its snapshot's state, its size after, and its other objects when they changed (None: as before)."""

    own: dict[str, Item | None]
    back: list[str]
    size: int
    objects: SeenRecord | None = None


class SnapshotRecord(StoredRecord, tag="snapshot"):
    """The tasks of one mirror version, shared by the views that saw it; never changed once stored."""

    items: dict[str, Item]


class RemovalRecord(StoredRecord, tag="removal"):
    """Tasks removed without confirmation at ``at`` (wall-clock seconds): counted against the next removal."""

    at: float
    count: int


class UndoStored(StoredRecord, tag="undo", kw_only=True):
    kind: WriteKind
    before: dict[str, Item | None]
    after: dict[str, Item | None]
    done: list[str]
    created: list[str]
    created_all: set[str]
    fields: dict[str, set[str]]
    projects_created: int
    sent: msgspec.Raw
    mapping: dict[str, str]
    objects: dict[str, ImageRecord | None]
    reminders_added: list[str]
    reminders_removed: list[Reminder]
    # Added after format 2 was first written: a record kept before has none (undo then has nothing to compare with).
    objects_after: dict[str, ImageRecord | None] = {}
    reminders_after: dict[str, Reminder] = {}
    orders: dict[str, int]
    handle: str | None


class LastWriteRecord(StoredRecord, tag="last_write"):
    """The account's last write (the file store): the handle it is kept under, or the record itself when it has none
    (nothing it did can be reversed); so a write with a handle is stored once, not twice."""

    handle: str | None = None
    write: UndoStored | None = None


class StepRecord(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """A plan step; its commands by uuid (each command of a batch is stored once, in ``PendingStored``)."""

    index: int
    label: str
    command: str | None = None
    error: LocalError | None = None
    parent_index: int | None = None
    extras: list[str] = []
    target: str | None = None
    shared: str | None = None
    missing: str | None = None


class PlanRecord(msgspec.Struct, forbid_unknown_fields=True):
    steps: list[StepRecord]
    notes: list[str]
    noun: str
    after: list[str]


class FailedRecord(msgspec.Struct, tag_field="status", tag="failed", forbid_unknown_fields=True):
    error: dict[str, Any]  # Todoist's error object, read back by its pydantic model


class UnconfirmedRecord(msgspec.Struct, tag_field="status", tag="unconfirmed", forbid_unknown_fields=True):
    tag: Literal["UNCONFIRMED", "NOT_SENT", "TOKEN_REJECTED"]
    message: str
    retryable: bool


class OutcomeRecord(msgspec.Struct, forbid_unknown_fields=True):
    statuses: dict[str, Literal["ok"] | FailedRecord | UnconfirmedRecord]
    temp_id_mapping: dict[str, str]
    requests: int
    retry_after: float | None


class PendingStored(StoredRecord, tag="pending"):
    verb: str
    # PlanRecords (``projects`` may be null), encoded straight from the plans and read back by PLAN_DECODER: a batch
    # is sealed again between every request of its send, and converting its steps in Python cost more than sending.
    plan: msgspec.Raw
    projects: msgspec.Raw
    commands: msgspec.Raw  # the write's commands in order, wire forms
    others: msgspec.Raw  # commands its plans name that are not among them (none, as the pipeline builds writes)
    outcome: OutcomeRecord
    recurrence: bool
    batch: str


class PendingOutcomeStored(StoredRecord, tag="pending_outcome"):
    """What a kept batch has learnt so far, apart from the batch (the file store): between the requests of a long
    write only this is written again, not its commands and plans (a 1000-task add's batch is 330 kB)."""

    outcome: OutcomeRecord


class MirrorRecord(StoredRecord, tag="mirror"):
    """The `call` file's mirror of the account with the sync token that goes with it."""

    items: dict[str, Item]
    projects: dict[str, Project]
    sections: dict[str, Section]
    labels: dict[str, Label]
    notes: dict[str, Note]
    archived_projects: dict[str, Project]
    archived_sections: dict[str, Section]
    user: dict[str, Any] | None  # the user object, read back by its pydantic model
    reminders: dict[str, Reminder]
    inbox_project_id: str | None
    timezone: str | None
    start_day: int
    date_format: int
    lang: str | None
    gone: dict[str, tuple[GoneReason, Item]]
    synced: bool
    sync_token: str
    # Absent from mirrors kept before saved filters were mirrored: such a mirror is read as none (a full sync),
    # since no incremental sync would ever bring the filters it lacks.
    filters: dict[str, Filter] | None = None
    collaborators: dict[str, Collaborator] = msgspec.field(default_factory=dict[str, Collaborator])
    # Absent from mirrors kept before project memberships were mirrored: read as none, like ``filters``.
    collaborator_states: dict[str, CollaboratorState] | None = None


# ---------------------------------------------------------------------------------------------------------------------
# Domain <-> stored, field by field of the domain type (never a list of names kept by hand)

_D = TypeVar("_D")
_S = TypeVar("_S", bound=msgspec.Struct)
Convert = Mapping[str, Callable[[Any], Any]]


def _names(domain: type[Any], transient: frozenset[str]) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(domain) if f.init and f.name not in transient)


def check_twins(domain: type[Any], stored: type[msgspec.Struct], *, transient: frozenset[str] = frozenset(),
                 extra: frozenset[str] = frozenset()) -> tuple[str, ...]:  # fmt: skip
    """The domain type's kept fields, after checking that the stored form declares exactly those (plus ``extra``):
    a field added to one and not the other fails here, at import, not after an upgrade loses it."""
    names = _names(domain, transient)
    declared = set(stored.__struct_fields__) - {"format"} - extra
    if set(names) != declared:
        raise TypeError(
            f"{stored.__name__} must store exactly the fields of {domain.__name__}: "
            f"missing {sorted(set(names) - declared)}, unknown {sorted(declared - set(names))}"
        )
    return names


def _to_stored(stored: type[_S], names: tuple[str, ...], value: object, convert: Convert, **extra: Any) -> _S:
    fields = {n: convert[n](getattr(value, n)) if n in convert else getattr(value, n) for n in names}
    return stored(**fields, **extra)


def _from_stored(domain: type[_D], names: tuple[str, ...], record: msgspec.Struct, convert: Convert) -> _D:
    return domain(**{n: convert[n](getattr(record, n)) if n in convert else getattr(record, n) for n in names})


_UNDO_FIELDS = check_twins(UndoRecord, UndoStored)
_PENDING_FIELDS = check_twins(PendingWrite, PendingStored, extra=frozenset({"others"}))
_PLAN_FIELDS = check_twins(Plan, PlanRecord)
_STEP_FIELDS = check_twins(Step, StepRecord)
_OUTCOME_FIELDS = check_twins(Outcome, OutcomeRecord)
_UNCONFIRMED_FIELDS = check_twins(NotConfirmed, UnconfirmedRecord)
# The change log and the weakly held snapshot describe this process's mirror versions: a restored mirror starts anew.
_MIRROR_FIELDS = check_twins(
    Mirror,
    MirrorRecord,
    transient=frozenset({"version", "_log", "_log_size", "_log_floor", "_snapshot"}),
    extra=frozenset({"sync_token"}),
)
if set(SeenRecord.__struct_fields__) != set(_OBJECT_TYPES):
    raise TypeError("SeenRecord must have one table per ObjectType")


def _images_record(images: dict[str, Image | None]) -> dict[str, ImageRecord | None]:
    return {object_id: _image_record(image) for object_id, image in images.items()}


def _images(records: dict[str, ImageRecord | None]) -> dict[str, Image | None]:
    return {object_id: _image(record) for object_id, record in records.items()}


def _undo_stored(record: UndoRecord) -> UndoStored:
    images = {"objects": _images_record, "objects_after": _images_record}
    return _to_stored(UndoStored, _UNDO_FIELDS, record, {"sent": _commands_raw, **images})


def _undo(stored: UndoStored) -> UndoRecord:
    images = {"objects": _images, "objects_after": _images}
    return _from_stored(UndoRecord, _UNDO_FIELDS, stored, {"sent": _commands_of, **images})


def _status_record(status: Status) -> Literal["ok"] | FailedRecord | UnconfirmedRecord:
    if isinstance(status, SyncError):
        return FailedRecord(status.model_dump(mode="json"))
    if isinstance(status, NotConfirmed):
        return _to_stored(UnconfirmedRecord, _UNCONFIRMED_FIELDS, status, {})
    return status


def _status(record: Literal["ok"] | FailedRecord | UnconfirmedRecord) -> Status:
    if isinstance(record, FailedRecord):
        return SyncError.model_validate(record.error)
    if isinstance(record, UnconfirmedRecord):
        return _from_stored(NotConfirmed, _UNCONFIRMED_FIELDS, record, {})
    return record


def _plan_commands(plan: Plan) -> list[Command]:
    found: list[Command] = []
    for step in plan.steps:
        if step.command is not None:
            found.append(step.command)
        found.extend(step.extras)
    found.extend(plan.after)
    return found


def _by_uuid(value: object) -> str:
    # A command in a plan is stored as its uuid: the batch stores each command once, in full.
    if isinstance(value, SyncCommand):
        return value.uuid
    raise NotImplementedError(f"a plan holds a {type(value).__name__}, which the records codec does not store")


# Plans are dataclasses msgspec encodes itself (their field names are StepRecord's and PlanRecord's, as check_twins
# makes sure): about five times faster than building the records in Python.
_PLAN_ENCODER = msgspec.json.Encoder(enc_hook=_by_uuid)
_PLAN_DECODER = msgspec.json.Decoder(PlanRecord | None)


def _plan_raw(plan: Plan | None) -> msgspec.Raw:
    return msgspec.Raw(_PLAN_ENCODER.encode(plan))


def _plan(raw: msgspec.Raw, by_uuid: Mapping[str, Command]) -> Plan | None:
    record = _PLAN_DECODER.decode(raw)
    if record is None:
        return None

    def command(uuid: str | None) -> Command | None:
        return None if uuid is None else by_uuid[uuid]

    def commands(uuids: list[str]) -> tuple[Command, ...]:
        return tuple(by_uuid[u] for u in uuids)

    def steps(steps: list[StepRecord]) -> tuple[Step, ...]:
        return tuple(_from_stored(Step, _STEP_FIELDS, s, {"command": command, "extras": commands}) for s in steps)

    return _from_stored(Plan, _PLAN_FIELDS, record, {"steps": steps, "notes": tuple[str, ...], "after": commands})


def _statuses_record(statuses: dict[str, Status]) -> dict[str, Literal["ok"] | FailedRecord | UnconfirmedRecord]:
    return {uuid: _status_record(status) for uuid, status in statuses.items()}


def _statuses(records: dict[str, Literal["ok"] | FailedRecord | UnconfirmedRecord]) -> dict[str, Status]:
    return {uuid: _status(record) for uuid, record in records.items()}


def _outcome_record(outcome: Outcome) -> OutcomeRecord:
    return _to_stored(OutcomeRecord, _OUTCOME_FIELDS, outcome, {"statuses": _statuses_record})


def _outcome(record: OutcomeRecord) -> Outcome:
    return _from_stored(Outcome, _OUTCOME_FIELDS, record, {"statuses": _statuses})


@dataclass(frozen=True)
class HeldParts:
    """Which commands and plans a held write had when this was taken: the pipeline replaces none of them while it
    sends, and a store must not depend on that, so what was encoded or written of them is reused only while
    ``still`` holds."""

    write: weakref.ref[PendingWrite]
    shape: tuple[int, int, int, int]  # ids of its commands, plan and projects, and how many commands

    @classmethod
    def of(cls, write: PendingWrite, gone: Callable[[weakref.ref[PendingWrite]], None] | None = None) -> HeldParts:
        return cls(weakref.ref(write, gone), _shape(write))

    def still(self, write: PendingWrite) -> bool:
        return self.write() is write and self.shape == _shape(write)


def _shape(write: PendingWrite) -> tuple[int, int, int, int]:
    return id(write.commands), id(write.plan), id(write.projects), len(write.commands)


# What a held write never changes (its commands and plans), encoded once: a write is sealed again between every
# request of its send, and encoding 1000 commands and their plan each time cost about 3 ms a request. Kept while the
# write lives (the weak reference drops the entry with it).
_STATIC: dict[int, tuple[HeldParts, dict[str, msgspec.Raw]]] = {}


def _static_parts(write: PendingWrite) -> dict[str, msgspec.Raw]:
    key = id(write)
    kept = _STATIC.get(key)
    if kept is not None and kept[0].still(write):
        return kept[1]
    # Each command once: a step and the write's list share it, and so do they once read back.
    known = {c.uuid for c in write.commands}
    others: list[Command] = []
    for plan in (write.plan, write.projects):
        for command in _plan_commands(plan) if plan is not None else ():
            if command.uuid not in known:
                known.add(command.uuid)
                others.append(command)
    parts = {
        "plan": _plan_raw(write.plan),
        "projects": _plan_raw(write.projects),
        "commands": _commands_raw(write.commands),
        "others": _commands_raw(others),
    }

    def forget(_gone: weakref.ref[PendingWrite]) -> None:
        _STATIC.pop(key, None)

    _STATIC[key] = (HeldParts.of(write, forget), parts)
    return parts


def _pending_stored(write: PendingWrite) -> PendingStored:
    parts = _static_parts(write)
    convert: Convert = {
        "plan": lambda _plan: parts["plan"],
        "projects": lambda _plan: parts["projects"],
        "commands": lambda _commands: parts["commands"],
        "outcome": _outcome_record,
    }
    return _to_stored(PendingStored, _PENDING_FIELDS, write, convert, others=parts["others"])


def _pending(stored: PendingStored) -> PendingWrite:
    commands = _commands_of(stored.commands)
    by_uuid = {c.uuid: c for c in (*commands, *_commands_of(stored.others))}

    def plan(raw: msgspec.Raw) -> Plan:
        found = _plan(raw, by_uuid)
        if found is None:
            raise KeyError("plan")  # every batch has a plan
        return found

    def projects(raw: msgspec.Raw) -> Plan | None:
        return _plan(raw, by_uuid)

    def decoded(_raw: msgspec.Raw) -> list[Command]:
        return commands

    convert: Convert = {"plan": plan, "projects": projects, "commands": decoded, "outcome": _outcome}
    return _from_stored(PendingWrite, _PENDING_FIELDS, stored, convert)


def _mirror_stored(value: tuple[Mirror, str]) -> MirrorRecord:
    mirror, token = value
    convert: Convert = {"gone": dict[str, tuple[GoneReason, Item]], "user": _user_record}
    return _to_stored(MirrorRecord, _MIRROR_FIELDS, mirror, convert, sync_token=token)


def _mirror(record: MirrorRecord) -> tuple[Mirror, str]:
    if record.filters is None or record.collaborator_states is None:
        return Mirror(), "*"
    convert: Convert = {"gone": OrderedDict[str, tuple[GoneReason, Item]], "user": _user}
    return _from_stored(Mirror, _MIRROR_FIELDS, record, convert), record.sync_token


def _user_record(user: User | None) -> dict[str, Any] | None:
    return None if user is None else user.model_dump(mode="json")


def _user(record: dict[str, Any] | None) -> User | None:
    return None if record is None else User.model_validate(record)


# ---------------------------------------------------------------------------------------------------------------------
# Codecs: one per kind of thing kept

_T = TypeVar("_T")
_R = TypeVar("_R", bound=StoredRecord)


@dataclass(frozen=True)
class Codec(Generic[_T, _R]):
    """How one kind of value is kept: its stored form, and the conversions both ways."""

    stored: type[_R]
    to_stored: Callable[[_T], _R]
    from_stored: Callable[[_R], _T]
    decoder: msgspec.json.Decoder[_R] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "decoder", msgspec.json.Decoder(self.stored))

    def encode(self, value: _T) -> bytes:
        return msgspec.json.encode(self.to_stored(value))

    def decode(self, body: bytes) -> _T:
        """The value ``body`` holds; Refused when it is of another format or not a record of this kind."""
        try:
            record = self.decoder.decode(body)
        except (msgspec.DecodeError, msgspec.ValidationError):
            try:
                other = msgspec.json.decode(body, type=_Header).format
            except (msgspec.DecodeError, msgspec.ValidationError):
                other = FORMAT
            raise Refused("format" if other != FORMAT else "unreadable") from None
        if record.format != FORMAT:
            raise Refused("format")
        try:
            return self.from_stored(record)
        # A command the registry refuses, a plan that is no PlanRecord, a step naming no stored command.
        except (ValidationError, msgspec.ValidationError, msgspec.DecodeError, KeyError):
            raise Refused("unreadable") from None


def _same(value: _T) -> _T:
    return value


UNDO: Codec[UndoRecord, UndoStored] = Codec(UndoStored, _undo_stored, _undo)
PENDING: Codec[PendingWrite, PendingStored] = Codec(PendingStored, _pending_stored, _pending)
PENDING_OUTCOME: Codec[Outcome, PendingOutcomeStored] = Codec(
    PendingOutcomeStored,
    lambda outcome: PendingOutcomeStored(outcome=_outcome_record(outcome)),
    lambda record: _outcome(record.outcome),
)
VIEW: Codec[ViewRecord, ViewRecord] = Codec(ViewRecord, _same, _same)
VIEW_CHANGE: Codec[ViewChangeRecord, ViewChangeRecord] = Codec(ViewChangeRecord, _same, _same)
SNAPSHOT: Codec[Mapping[str, Item], SnapshotRecord] = Codec(
    SnapshotRecord, lambda items: SnapshotRecord(items=dict(items)), lambda record: record.items
)
REMOVAL: Codec[tuple[float, int], RemovalRecord] = Codec(
    RemovalRecord, lambda removal: RemovalRecord(at=removal[0], count=removal[1]), lambda r: (r.at, r.count)
)
MIRROR: Codec[tuple[Mirror, str], MirrorRecord] = Codec(MirrorRecord, _mirror_stored, _mirror)


def _last_write_stored(last: str | UndoRecord) -> LastWriteRecord:
    return LastWriteRecord(handle=last) if isinstance(last, str) else LastWriteRecord(write=_undo_stored(last))


def _last_write(record: LastWriteRecord) -> str | UndoRecord:
    if record.handle is not None:
        return record.handle
    if record.write is None:
        raise KeyError("write")  # read as unreadable
    return _undo(record.write)


LAST_WRITE: Codec[str | UndoRecord, LastWriteRecord] = Codec(LastWriteRecord, _last_write_stored, _last_write)


# ---------------------------------------------------------------------------------------------------------------------
# Seals


def account_key(server_secret: bytes, token_secret: bytes) -> bytes:
    """The key of one account's seals: it takes the server's secret (never in the store) and the secret derived from
    the account's token (never stored anywhere), so neither alone can make a record that opens."""
    return hmac.new(server_secret, _KEY_LABEL + token_secret, hashlib.sha256).digest()


@dataclass(frozen=True, slots=True)
class Sealed:
    """A record's JSON body and the seal over it and its slot."""

    mac: bytes
    body: bytes


class Sealer:
    """One account's seals, for records under named slots (``write:u_...``): a record opens only in its own slot."""

    __slots__ = ("_key",)

    def __init__(self, server_secret: bytes, token_secret: bytes) -> None:
        self._key = account_key(server_secret, token_secret)

    def _mac(self, slot: str, body: bytes) -> bytes:
        return hmac.new(self._key, slot.encode() + b"\x00" + body, hashlib.sha256).digest()

    def seal(self, slot: str, codec: Codec[_T, Any], value: _T) -> Sealed:
        body = codec.encode(value)
        return Sealed(self._mac(slot, body), body)

    def open(self, slot: str, codec: Codec[_T, Any], sealed: Sealed) -> _T:
        """The value sealed under ``slot``; Refused (unread) when the seal does not check."""
        if not hmac.compare_digest(sealed.mac, self._mac(slot, sealed.body)):
            raise Refused("seal")
        return codec.decode(sealed.body)


def to_blob(sealed: Sealed) -> bytes:
    """A sealed record as one byte string (Redis): header, seal, compressed body (tasks compress about 15 to 1)."""
    return BLOB_HEADER + sealed.mac + zlib.compress(sealed.body, 1)


def from_blob(blob: bytes) -> Sealed:
    """The sealed record a byte string holds, still to be opened; Refused for the earlier format (never decoded) or
    one that is no record of this format."""
    header = blob[:1]
    if header == EARLIER_HEADER:
        raise Refused("earlier")
    if header != BLOB_HEADER or len(blob) < 1 + MAC_SIZE:
        raise Refused("unreadable")
    inflate = zlib.decompressobj()
    try:
        body = inflate.decompress(blob[1 + MAC_SIZE :], MAX_BODY_BYTES)
    except zlib.error:
        raise Refused("unreadable") from None
    if inflate.unconsumed_tail:
        raise Refused("unreadable")
    return Sealed(blob[1 : 1 + MAC_SIZE], body)


def blob_mac(blob: bytes) -> bytes:
    """The seal of a record stored by ``to_blob``: equal seals, equal records (a replica's cached view is current)."""
    return blob[1 : 1 + MAC_SIZE]
