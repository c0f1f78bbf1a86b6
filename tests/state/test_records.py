"""The records codec (issue 20, item 3): every kind of record a store keeps comes back whole through the seal, a
record opens only with both secrets and in its own slot, and nothing in a stored byte string is ever executed."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import os
import pickle
import types
import zlib
from collections import OrderedDict
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal, Union, cast, get_args, get_origin, get_type_hints

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

import tools_server
from tools_server.cursors.seen_resources import SeenObjects
from tools_server.cursors.seen_tasks import SeenItems
from tools_server.cursors.view import View
from tools_server.plans.pending import PendingWrite
from tools_server.plans.plan import LocalError, Plan, Step
from tools_server.plans.undo import UndoRecord
from tools_server.state import records
from tools_server.state.records import (
    LAST_WRITE,
    MIRROR,
    PENDING,
    PENDING_OUTCOME,
    REMOVAL,
    SNAPSHOT,
    UNDO,
    VIEW,
    VIEW_CHANGE,
    Codec,
    Refused,
    Sealed,
    Sealer,
    check_twins,
    from_blob,
    to_blob,
)
from tools_server.state.sessions import token_secret
from tools_server.state.views import Snapshots, applied, change, joined, split
from tools_server.sync.commands import (
    COMMAND_ADAPTER,
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
    SyncError,
    TzInfo,
    User,
)
from tools_server.sync.mirror import Mirror
from tools_server.sync.send import NotConfirmed, Outcome, Status

SERVER = b"server secret of this deployment"
SEALER = Sealer(SERVER, token_secret("alice"))

# ---------------------------------------------------------------------------------------------------------------------
# Real-shaped values: resources from their declared field types, commands through the registry


ids = st.text(alphabet="0123456789abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=10)
texts = st.text(max_size=12)
ints = st.integers(min_value=-(2**53), max_value=2**53)
floats = st.floats(allow_nan=False, allow_infinity=False)
json_values = st.recursive(
    st.none() | st.booleans() | ints | floats | texts,
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(texts, inner, max_size=2),
    max_leaves=4,
)


def of_type(hint: Any) -> st.SearchStrategy[Any]:
    """Any value of a declared field type: every field of a struct is drawn, so a dropped one shows."""
    origin = get_origin(hint)
    if hint is str:
        return texts
    if hint is bool:
        return st.booleans()
    if hint is int:
        return ints
    if hint is float:
        return floats
    if hint is type(None):
        return st.none()
    if hint is Any:
        return json_values
    if origin in (Union, types.UnionType):
        return st.one_of([of_type(a) for a in get_args(hint)])
    if origin is Literal:
        return st.sampled_from(get_args(hint))
    if origin is tuple:
        item = get_args(hint)[0]
        return st.lists(of_type(item), max_size=3).map(tuple)
    if origin is list:
        return st.lists(of_type(get_args(hint)[0]), max_size=3)
    if origin is dict:
        key, value = get_args(hint)
        return st.dictionaries(ids if key is str else of_type(key), of_type(value), max_size=3)
    if isinstance(hint, type) and issubclass(hint, msgspec.Struct):
        hints = get_type_hints(hint)
        return st.builds(hint, **{name: of_type(hints[name]) for name in hint.__struct_fields__})
    raise TypeError(f"no strategy for {hint!r}")


items = of_type(Item)
images = st.one_of(of_type(Project), of_type(Section), of_type(Label), of_type(Note), of_type(Filter))
dues = st.one_of(st.fixed_dictionaries({"string": texts}), st.fixed_dictionaries({"date": st.just("2026-12-03")}))
orders = st.fixed_dictionaries({"id": ids, "child_order": ints})
_ONE_ID = (
    "item_close", "item_uncomplete", "item_delete", "project_archive", "section_delete", "note_delete", "filter_delete"
)  # fmt: skip
# (type, args, makes a temp id): commands of many kinds, with explicit nulls where an update clears a field.
_KINDS: list[tuple[str, st.SearchStrategy[dict[str, Any]], bool]] = [
    (
        "item_add",
        st.fixed_dictionaries(
            {"content": texts.filter(bool)},
            optional={"description": texts, "project_id": ids, "labels": st.lists(texts, max_size=2), "due": dues},
        ),
        True,
    ),
    (
        "item_update",
        st.fixed_dictionaries(
            {"id": ids},
            optional={"content": texts.filter(bool), "due": st.none() | dues, "priority": st.none() | st.just(4)},
        ),
        False,
    ),
    ("item_move", st.fixed_dictionaries({"id": ids, "project_id": ids}), False),
    ("item_complete", st.fixed_dictionaries({"id": ids}, optional={"completed_at": texts}), False),
    ("item_update_date_complete", st.fixed_dictionaries({"id": ids, "due": dues, "is_forward": st.just(0)}), False),
    ("item_reorder", st.fixed_dictionaries({"items": st.lists(orders, min_size=1)}), False),
    ("project_add", st.fixed_dictionaries({"name": texts.filter(bool)}, optional={"parent_id": ids}), True),
    ("project_update", st.fixed_dictionaries({"id": ids}, optional={"color": st.none() | texts}), False),
    ("project_move", st.fixed_dictionaries({"id": ids, "parent_id": st.none() | ids}), False),
    ("section_add", st.fixed_dictionaries({"name": texts.filter(bool), "project_id": ids}), True),
    ("label_update", st.fixed_dictionaries({"id": ids, "name": texts.filter(bool)}), False),
    ("filter_add", st.fixed_dictionaries({"name": texts.filter(bool), "query": texts.filter(bool)}), True),
    ("filter_update_orders", st.fixed_dictionaries({"id_order_mapping": st.dictionaries(ids, ints)}), False),
    ("note_add", st.fixed_dictionaries({"content": texts.filter(bool), "item_id": ids}), True),
    (
        "reminder_add",
        st.fixed_dictionaries({"item_id": ids, "type": st.just("relative"), "minute_offset": st.integers(0, 43200)}),
        True,
    ),
    *[(kind, st.fixed_dictionaries({"id": ids}), False) for kind in _ONE_ID],
]


@st.composite
def commands(draw: st.DrawFn) -> Command:
    kind, args, temp = draw(st.sampled_from(_KINDS))
    wire: dict[str, Any] = {"type": kind, "uuid": str(draw(st.uuids())), "args": draw(args)}
    if temp:
        wire["temp_id"] = str(draw(st.uuids()))
    return COMMAND_ADAPTER.validate_python(wire)


def unique(commands_: list[Command]) -> list[Command]:
    return list({c.uuid: c for c in commands_}.values())


def every_field(domain: type[Any], strategies: Mapping[str, st.SearchStrategy[Any]], *, besides: tuple[str, ...] = ()
                ) -> st.SearchStrategy[Any]:  # fmt: skip
    """``domain`` built with a drawn value for every one of its fields: a field added later fails here until it has
    a strategy, and then fails the round trip until the codec keeps it."""
    names = {f.name for f in dataclasses.fields(domain) if f.init} - set(besides)
    assert set(strategies) == names, f"{domain.__name__}: strategies for {sorted(names)}"
    return st.builds(domain, **strategies)


# Every kind of command status: confirmed, Todoist's error, not confirmed.
statuses = st.one_of(
    st.just("ok"),
    st.builds(
        SyncError,
        error=st.none() | texts,
        error_code=st.none() | ints,
        error_tag=st.none() | texts,
        http_code=st.none() | st.integers(400, 599),
        error_extra=st.dictionaries(texts, json_values, max_size=2),
    ),
    every_field(
        NotConfirmed,
        {
            "tag": st.sampled_from(["UNCONFIRMED", "NOT_SENT", "TOKEN_REJECTED"]),
            "message": texts,
            "retryable": st.booleans(),
        },
    ),
).map(lambda status: cast(Status, status))

undo_records = every_field(
    UndoRecord,
    {
        "kind": st.sampled_from(["add", "complete", "move", "update", "delete", "reopen", "comments", "projects"]),
        "before": st.dictionaries(ids, st.none() | items, max_size=3),
        "after": st.dictionaries(ids, st.none() | items, max_size=3),
        "done": st.lists(ids, max_size=3),
        "created": st.lists(ids, max_size=3),
        "created_all": st.sets(ids, max_size=3),
        "fields": st.dictionaries(ids, st.sets(st.sampled_from(["content", "due", "labels"])), max_size=2),
        "projects_created": st.integers(0, 5),
        "sent": st.lists(commands(), max_size=4).map(unique),
        "mapping": st.dictionaries(ids, ids, max_size=3),
        "objects": st.dictionaries(ids, st.none() | images, max_size=4),
        "objects_after": st.dictionaries(ids, st.none() | images, max_size=4),
        "reminders_added": st.lists(ids, max_size=2),
        "reminders_removed": st.lists(of_type(Reminder), max_size=2),
        "reminders_after": st.dictionaries(ids, of_type(Reminder), max_size=2),
        "orders": st.dictionaries(ids, ints, max_size=2),
        "handle": st.none() | ids,
    },
)


@st.composite
def pending_writes(draw: st.DrawFn) -> PendingWrite:
    pool = unique(draw(st.lists(commands(), min_size=1, max_size=8)))
    sent = draw(st.lists(st.sampled_from(pool), max_size=len(pool)).map(unique))  # plans may name others too

    def plans() -> st.SearchStrategy[Plan]:
        some = st.lists(st.sampled_from(pool), max_size=2).map(unique).map(tuple)
        step = every_field(
            Step,
            {
                "index": st.integers(0, 99),
                "label": texts,
                "command": st.none() | st.sampled_from(pool),
                "error": st.none() | st.builds(LocalError, tag=texts, message=texts),
                "parent_index": st.none() | st.integers(0, 99),
                "extras": some,
                "target": st.none() | ids,
                "shared": st.none() | ids,
                "missing": st.none() | texts,
            },
        )
        fields = {"steps": st.lists(step, max_size=3).map(tuple), "notes": st.lists(texts, max_size=2).map(tuple)}
        return every_field(Plan, {**fields, "noun": st.sampled_from(["task", "change"]), "after": some})

    outcome = every_field(
        Outcome,
        {
            "statuses": st.dictionaries(st.sampled_from([c.uuid for c in pool]), statuses, max_size=len(pool)),
            "temp_id_mapping": st.dictionaries(ids, ids, max_size=2),
            "requests": st.integers(0, 20),
            "retry_after": st.none() | floats,
        },
    )
    strategies = {
        "verb": texts,
        "plan": plans(),
        "projects": st.none() | plans(),
        "commands": st.just(sent),
        "outcome": outcome,
        "recurrence": st.booleans(),
        "batch": ids,
    }
    return draw(every_field(PendingWrite, strategies))


_TRANSIENT = ("version", "_log", "_log_size", "_log_floor", "_snapshot")
users = st.builds(
    User,
    id=ids,
    inbox_project_id=st.none() | ids,
    tz_info=st.none() | st.builds(TzInfo, timezone=st.none() | texts, hours=st.none() | st.integers(-12, 12)),
    start_day=st.none() | st.integers(1, 7),
    lang=st.none() | texts,
    full_name=st.none() | texts,
)
mirrors = every_field(
    Mirror,
    {
        "items": st.dictionaries(ids, items, max_size=3),
        "projects": st.dictionaries(ids, of_type(Project), max_size=2),
        "sections": st.dictionaries(ids, of_type(Section), max_size=2),
        "labels": st.dictionaries(ids, of_type(Label), max_size=2),
        "notes": st.dictionaries(ids, of_type(Note), max_size=2),
        "archived_projects": st.dictionaries(ids, of_type(Project), max_size=2),
        "archived_sections": st.dictionaries(ids, of_type(Section), max_size=2),
        "user": st.none() | users,
        "reminders": st.dictionaries(ids, of_type(Reminder), max_size=2),
        "filters": st.dictionaries(ids, of_type(Filter), max_size=2),
        "collaborators": st.dictionaries(ids, of_type(Collaborator), max_size=2),
        "collaborator_states": st.dictionaries(ids, of_type(CollaboratorState), max_size=2),
        "inbox_project_id": st.none() | ids,
        "timezone": st.none() | texts,
        "start_day": st.integers(1, 7),
        "date_format": st.integers(0, 1),
        "lang": st.none() | texts,
        "gone": st.dictionaries(ids, st.tuples(st.sampled_from(["completed", "deleted"]), items), max_size=3).map(
            OrderedDict[str, tuple[Any, Item]]
        ),
        "synced": st.booleans(),
    },
    besides=_TRANSIENT,
)


@st.composite
def views(draw: st.DrawFn) -> View:
    snapshot = draw(st.dictionaries(ids, items, max_size=4))
    seen = SeenItems(snapshot)
    for item_id in draw(st.lists(st.sampled_from(sorted(snapshot)), max_size=2)) if snapshot else ():
        seen.drop(item_id)  # seen gone since the snapshot
    for item_id, item in draw(st.dictionaries(ids, items, max_size=2)).items():
        seen.put(item_id, item)
    tables = {
        "project": st.dictionaries(ids, of_type(Project), max_size=2),
        "section": st.dictionaries(ids, of_type(Section), max_size=2),
        "label": st.dictionaries(ids, of_type(Label), max_size=2),
        "comment": st.dictionaries(ids, of_type(Note), max_size=2),
    }
    chosen = draw(st.sets(st.sampled_from(sorted(tables))))
    objects = SeenObjects(seen=cast(Any, {kind: draw(tables[kind]) for kind in chosen}))
    return View(seen=seen, version=-1, objects=objects)


def plain(value: Any) -> Any:
    """A value as comparable data, commands by their wire form (which keeps what an update set to null)."""
    if isinstance(value, SyncCommand):
        command = cast(SyncCommand[BaseModel], value)
        return (type(command).__name__, command.to_wire())
    if isinstance(value, BaseModel):
        return (type(value).__name__, value.model_dump(mode="json"))
    if isinstance(value, msgspec.Struct):
        return (type(value).__name__, {n: plain(getattr(value, n)) for n in value.__struct_fields__})
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        names = [f.name for f in dataclasses.fields(value) if f.name not in _TRANSIENT]
        return (type(value).__name__, {n: plain(getattr(value, n)) for n in names})
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in cast(Mapping[Any, Any], value).items()}
    if isinstance(value, list | tuple):
        sequence = cast(list[Any], value)
        return (type(sequence).__name__, [plain(v) for v in sequence])
    if isinstance(value, set | frozenset):
        return frozenset(plain(v) for v in cast(set[Any], value))
    return value


def through_the_stores(slot: str, codec: Codec[Any, Any], value: Any) -> Any:
    """``value`` sealed and read back as Redis keeps it (one compressed byte string) and as the in-process store and
    the `call` file keep it (seal and JSON body apart); both must agree."""
    sealed = SEALER.seal(slot, codec, value)
    from_redis = SEALER.open(slot, codec, from_blob(to_blob(sealed)))
    assert plain(SEALER.open(slot, codec, sealed)) == plain(from_redis)
    return from_redis


# ---------------------------------------------------------------------------------------------------------------------
# Round trips

_ROUND_TRIPS: dict[str, Codec[Any, Any]] = {}


def round_trip(codec: Codec[Any, Any]) -> Callable[[Callable[..., None]], Callable[..., None]]:
    def register(test: Callable[..., None]) -> Callable[..., None]:
        _ROUND_TRIPS[test.__name__] = codec
        return test

    return register


@round_trip(UNDO)
@settings(max_examples=25, deadline=None)
@given(undo_records)
def test_an_undo_record_comes_back_with_every_field(record: UndoRecord) -> None:
    back = through_the_stores("write:u_1", UNDO, record)
    assert plain(back) == plain(record)
    assert [type(c) for c in back.sent] == [type(c) for c in record.sent]


@round_trip(LAST_WRITE)
@settings(max_examples=8, deadline=None)
@given(st.one_of(st.text(min_size=1, max_size=12), undo_records))
def test_the_last_write_comes_back_as_its_handle_or_its_whole_record(last: str | UndoRecord) -> None:
    back = through_the_stores("last", LAST_WRITE, last)
    if isinstance(last, str):
        assert back == last
    else:
        assert isinstance(back, UndoRecord) and plain(back) == plain(last)


@round_trip(PENDING)
@settings(max_examples=25, deadline=None)
@given(pending_writes())
def test_a_pending_batch_comes_back_with_its_plans_commands_and_outcome(write: PendingWrite) -> None:
    back = through_the_stores("pending:w_1", PENDING, write)
    assert plain(back) == plain(write)
    assert [c.uuid for c in back.unconfirmed()] == [c.uuid for c in write.unconfirmed()]
    # Each command is one object again, as it was: a step's command is the write's command of that uuid.
    by_uuid = {c.uuid: c for c in back.commands}
    for step in back.plan.steps:
        if step.command is not None and step.command.uuid in by_uuid:
            assert step.command is by_uuid[step.command.uuid]


@round_trip(PENDING_OUTCOME)
@settings(max_examples=10, deadline=None)
@given(pending_writes())
def test_a_batch_outcome_kept_apart_comes_back_with_its_statuses_mapping_and_wait(write: PendingWrite) -> None:
    back = through_the_stores("pending_outcome:w_1", PENDING_OUTCOME, write.outcome)
    assert plain(back) == plain(write.outcome)


@round_trip(MIRROR)
@settings(max_examples=20, deadline=None)
@given(mirrors, texts)
def test_a_mirror_comes_back_with_its_sync_token_user_and_gone_tasks(mirror: Mirror, token: str) -> None:
    back: Mirror
    back, back_token = through_the_stores("mirror", MIRROR, (mirror, token))
    assert plain(back) == plain(mirror) and back_token == token
    assert type(back.gone) is OrderedDict and list(back.gone) == list(mirror.gone)


@pytest.mark.parametrize("absent", ["filters", "collaborator_states"])
def test_a_mirror_kept_before_saved_filters_were_mirrored_is_read_as_none_so_the_next_sync_is_full(absent: str) -> None:
    """Likewise one kept before project memberships were mirrored: no incremental sync would bring them."""
    mirror = Mirror(synced=True, labels={"L1": Label(id="L1", name="home")})
    body = msgspec.json.decode(MIRROR.encode((mirror, "token-1")))
    del body[absent]  # as this server's earlier versions wrote it
    back, token = MIRROR.decode(msgspec.json.encode(body))
    assert (back.synced, back.labels, token) == (False, {}, "*")
    kept, kept_token = MIRROR.decode(MIRROR.encode((mirror, "token-1")))
    assert (kept.synced, set(kept.labels), kept_token) == (True, {"L1"}, "token-1")


@round_trip(VIEW)
@settings(max_examples=25, deadline=None)
@given(views())
def test_a_view_comes_back_through_its_record_and_shared_snapshot(view: View) -> None:
    record, new = split(view, Snapshots())
    back_record = through_the_stores("view:c_1", VIEW, record)
    assert plain(back_record) == plain(record)
    snapshot = None
    if new is not None:
        snapshot = through_the_stores("snap:" + new[0], SNAPSHOT, new[1])
        assert snapshot == dict(new[1])
    back = joined(back_record, snapshot)
    assert dict(back.seen) == dict(view.seen) and len(back.seen) == len(view.seen)
    assert back.objects.seen == view.objects.seen


@round_trip(VIEW_CHANGE)
@settings(max_examples=15, deadline=None)
@given(views(), st.lists(st.tuples(ids, st.one_of(st.none(), items)), max_size=6), st.booleans())
def test_a_view_comes_back_from_its_record_and_what_it_saw_since(
    view: View, sightings: list[tuple[str, Item | None]], objects_changed: bool
) -> None:
    """The file store writes a view's record once, then what it saw since: the two read back are the view now."""
    seen = view.seen
    assert isinstance(seen, SeenItems)
    record, new = split(view, Snapshots())
    seen.changes()  # from here what it sees is recorded, as the store asks after writing the record
    for item_id, item in sightings:
        if item is None:
            seen.drop(item_id)
        else:
            seen.put(item_id, item)
    if objects_changed:
        view.objects.seen["label"] = {"L9": Label(id="L9", name="new")}
    step, _ = change(view, seen, record.objects)
    assert (step.objects is not None) == (
        objects_changed and record.objects.label != {"L9": Label(id="L9", name="new")}
    )
    back_step = through_the_stores("view_change:c_1:x", VIEW_CHANGE, step)
    assert plain(back_step) == plain(step)
    back = joined(applied(record, [back_step]), new[1] if new is not None else None)
    assert dict(back.seen) == dict(view.seen) and len(back.seen) == len(view.seen)
    assert back.objects.seen == {k: v for k, v in view.objects.seen.items() if v is not None}


@round_trip(SNAPSHOT)
@settings(max_examples=30, deadline=None)
@given(st.dictionaries(ids, items, max_size=5))
def test_a_task_snapshot_comes_back_task_for_task(snapshot: dict[str, Item]) -> None:
    assert through_the_stores("snap:s_1", SNAPSHOT, snapshot) == snapshot


@round_trip(REMOVAL)
@settings(max_examples=30, deadline=None)
@given(floats, st.integers(0, 10_000))
def test_a_removal_comes_back_with_its_time_and_count(at: float, count: int) -> None:
    assert through_the_stores("removal:r1", REMOVAL, (at, count)) == (at, count)


def test_every_kind_of_record_has_a_round_trip_test() -> None:
    codecs = {name for name, value in vars(records).items() if isinstance(value, Codec)}
    tested = {name for name, value in vars(records).items() if any(value is c for c in _ROUND_TRIPS.values())}
    assert codecs == tested, sorted(codecs - tested)


def test_a_domain_field_without_a_stored_twin_is_refused_at_import() -> None:
    @dataclasses.dataclass
    class Grown(UndoRecord):
        labels_added: list[str] = dataclasses.field(default_factory=list[str])

    with pytest.raises(TypeError, match="labels_added"):
        check_twins(Grown, records.UndoStored)


# ---------------------------------------------------------------------------------------------------------------------
# Seals


def test_a_record_opens_only_with_both_secrets_and_in_its_own_slot() -> None:
    record = UndoRecord("add", created=["t1"], created_all={"t1"})
    sealed = SEALER.seal("write:u_1", UNDO, record)
    assert SEALER.open("write:u_1", UNDO, sealed).created == ["t1"]
    # Everything a caller can compute (its own token's secret) without the server's secret: refused, and so are
    # another account's records, and this one moved under another handle.
    for other, slot in [
        (Sealer(b"", token_secret("alice")), "write:u_1"),
        (Sealer(b"another deployment's secret", token_secret("alice")), "write:u_1"),
        (Sealer(SERVER, token_secret("bob")), "write:u_1"),
        (SEALER, "write:u_2"),
    ]:
        with pytest.raises(Refused) as refused:
            other.open(slot, UNDO, sealed)
        assert refused.value.why == "seal"


def test_a_record_of_another_kind_or_format_is_refused_not_guessed_at() -> None:
    sealed = SEALER.seal("write:u_1", REMOVAL, (1.0, 2))
    with pytest.raises(Refused) as refused:
        SEALER.open("write:u_1", UNDO, sealed)
    assert refused.value.why == "unreadable"
    later = msgspec.json.encode({"record": "undo", "format": 3, "kind": "add", "labels_added": []})
    with pytest.raises(Refused) as refused:
        UNDO.decode(later)
    assert refused.value.why == "format"
    # A body under a seal that does not check is not decoded at all, whatever it holds.
    with pytest.raises(Refused) as refused:
        SEALER.open("write:u_1", UNDO, Sealed(sealed.mac, b"not even JSON"))
    assert refused.value.why == "seal"


class _Planted:
    """What an attacker would store: unpickling it runs ``os.system``-like code (here: writes a marker file)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Callable[..., Any], tuple[Any, ...]]:
        return (Path.write_text, (self.marker, "ran"))


def test_an_earlier_format_blob_is_refused_unread_and_runs_nothing(tmp_path: Path) -> None:
    marker, probe = tmp_path / "marker", tmp_path / "probe"
    pickle.loads(pickle.dumps(_Planted(probe)))
    assert probe.exists()  # the payload is live: reading it the earlier way runs it
    body = zlib.compress(pickle.dumps(_Planted(marker)), 1)
    # Sealed exactly as the earlier version sealed (the token-derived secret alone): what anyone with a token can do.
    blob = b"\x01" + hmac.new(token_secret("alice"), body, hashlib.sha256).digest() + body
    with pytest.raises(Refused) as refused:
        from_blob(blob)
    assert refused.value.why == "earlier" and "earlier version" in str(refused.value)
    assert not marker.exists()


def test_the_package_never_uses_pickle() -> None:
    root = Path(tools_server.__file__).parent
    users_ = [p for p in root.rglob("*.py") if "pickle" in p.read_text(encoding="utf-8")]
    assert users_ == []


def test_the_state_files_key_is_random_owner_only_and_kept(tmp_path: Path) -> None:
    from tools_server.state.file import key_path, server_key

    state = tmp_path / "tasks.db.state.sqlite"
    key = server_key(state)
    assert len(key) == 32 and server_key(state) == key
    assert os.stat(key_path(state)).st_mode & 0o777 == 0o600
    assert server_key(tmp_path / "other.state.sqlite") != key


def test_a_batch_sealed_again_after_its_commands_changed_keeps_the_new_ones() -> None:
    first = COMMAND_ADAPTER.validate_python({"type": "item_close", "uuid": "a", "args": {"id": "t1"}})
    write = PendingWrite("Completed", Plan((Step(0, "t1", command=first),)), None, [first], Outcome())
    assert [c.uuid for c in SEALER.open("p", PENDING, SEALER.seal("p", PENDING, write)).commands] == ["a"]
    # Encoded parts are reused while a write is sent; a write whose parts changed is encoded anew.
    second = COMMAND_ADAPTER.validate_python({"type": "item_close", "uuid": "b", "args": {"id": "t2"}})
    write.commands.append(second)
    write.plan = Plan((*write.plan.steps, Step(1, "t2", command=second)))
    back = SEALER.open("p", PENDING, SEALER.seal("p", PENDING, write))
    assert [c.uuid for c in back.commands] == ["a", "b"] and [s.label for s in back.plan.steps] == ["t1", "t2"]
