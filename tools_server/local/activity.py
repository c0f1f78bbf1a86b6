"""The activity log (reference §4 ``GET /api/v1/activities``; Doist's SDK ``getActivityLogs``, ``ActivityEvent``):
one event recorded per successful write command, and the paged read of them.

An event is ``{id, object_type (item|note|project|section), object_id, event_type, event_date (UTC),
parent_project_id, parent_item_id, initiator_id, extra_data}``. ``extra_data`` carries what the documented examples
carry: the object's ``content`` (tasks, comments) or ``name`` (projects, sections), and on an update the previous
value (``last_content``, ``last_name``, ``last_description``) and due dates (``due_date``, ``last_due_date``) that
changed. ``initiator_id`` is the account that made the change in a shared project (of the project itself, or of what
is in it) and null elsewhere, as Todoist's docs say. Each account reads the events of the projects it sees.

The read answers ``{"results": [event], "next_cursor": str | null}``, newest first; ``object_event_types`` is a JSON
array of ``"type:event"`` strings where either side may be empty (``"item:completed"``, ``"note:"``, ``":deleted"``);
``date_from``/``date_to`` are inclusive days (YYYY-MM-DD) in the user's timezone; ``limit`` <= 100, default 50;
``include_child_objects`` with ``object_id`` adds the events of its subtasks and comments (or, for a project, of
everything in it); ``initiator_id`` keeps one person's events, ``initiator_id_null`` those with (false) or without
(true) one. The annotation flags (``annotate_notes``,
``annotate_parents``, ``include_parent_object``, ``ensure_last_state``) are accepted and add nothing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tools_server.local.errors import request_invalid
from tools_server.local.moments import known_zone, timestamp
from tools_server.local.tx import Obj, Tx, visible_json

ACTIVITIES_PATH = "/api/v1/activities"
DEFAULT_LIMIT = 50
MAX_LIMIT = 100

SCHEMA = """
CREATE TABLE IF NOT EXISTS activity (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    parent_project_id TEXT,
    parent_item_id TEXT,
    data TEXT NOT NULL,
    initiator_id TEXT
);
CREATE INDEX IF NOT EXISTS activity_object ON activity (object_id);
CREATE INDEX IF NOT EXISTS activity_project ON activity (parent_project_id);
"""

# Command type -> (stored kinds of its object, activity object type, event type). Commands not listed (reorders,
# labels, filters, reminders, settings) write nothing Todoist's activity log shows.
EVENTS: Mapping[str, tuple[tuple[str, ...], str, str]] = {
    "item_add": (("item",), "item", "added"),
    "item_update": (("item",), "item", "updated"),
    "item_move": (("item",), "item", "updated"),
    "item_close": (("item",), "item", "completed"),
    "item_complete": (("item",), "item", "completed"),
    "item_update_date_complete": (("item",), "item", "completed"),
    "item_uncomplete": (("item",), "item", "uncompleted"),
    "item_delete": (("item",), "item", "deleted"),
    "note_add": (("note", "project_note"), "note", "added"),
    "note_update": (("note", "project_note"), "note", "updated"),
    "note_delete": (("note", "project_note"), "note", "deleted"),
    "project_add": (("project",), "project", "added"),
    "project_update": (("project",), "project", "updated"),
    "project_move": (("project",), "project", "updated"),
    "project_archive": (("project",), "project", "archived"),
    "project_unarchive": (("project",), "project", "unarchived"),
    "project_delete": (("project",), "project", "deleted"),
    "section_add": (("section",), "section", "added"),
    "section_update": (("section",), "section", "updated"),
    "section_move": (("section",), "section", "updated"),
    "section_archive": (("section",), "section", "archived"),
    "section_unarchive": (("section",), "section", "unarchived"),
    "section_delete": (("section",), "section", "deleted"),
}


# ---------------------------------------------------------------------------------------------------------------------
# Recording


def add_initiator_column(db: sqlite3.Connection) -> None:
    """A log written before accounts could share: its events have no initiator (none was shared then)."""
    if "initiator_id" not in {str(row[1]) for row in db.execute("PRAGMA table_info(activity)")}:
        db.execute("ALTER TABLE activity ADD COLUMN initiator_id TEXT")


def before(tx: Tx, command_type: str, args: Mapping[str, Any]) -> Obj | None:
    """The object a command is about to change, as stored before it runs (None for an add or an unknown id)."""
    spec = EVENTS.get(command_type)
    target = args.get("id")
    if spec is None or not isinstance(target, str):
        return None
    real = tx.temp_ids.get(target, target)
    for kind in spec[0]:
        found = tx.get(kind, real)
        if found is not None:
            return found
    return None


def record(tx: Tx, command_type: str, args: Mapping[str, Any], created: str | None, old: Obj | None) -> None:
    """Log the event of a command that succeeded (written with the request's others by ``write_events``)."""
    spec = EVENTS.get(command_type)
    if spec is None:
        return
    kinds, object_type, event_type = spec
    object_id = created if created is not None else (old or {}).get("id")
    if not isinstance(object_id, str):
        return
    new: Obj | None = None
    for kind in kinds:
        new = tx.written(kind, object_id) or tx.get(kind, object_id)
        if new is not None:
            break
    if new is None:
        return
    project, parent_item = _parents(tx, object_type, new)
    extra = _extra(object_type, event_type, new, old)
    shared = bool(new.get("shared")) if object_type == "project" else tx.shared(project) if project else False
    initiator = tx.user_id if shared else None  # who did it matters where others see it
    tx.events.append((tx.stamp, object_type, object_id, event_type, project, parent_item, json.dumps(extra), initiator))


def write_events(tx: Tx) -> None:
    """The request's events, in the order its commands ran."""
    tx.db.executemany(
        "INSERT INTO activity (at, object_type, object_id, event_type, parent_project_id, parent_item_id, data,"
        " initiator_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        tx.events,
    )


def _parents(tx: Tx, object_type: str, obj: Obj) -> tuple[str | None, str | None]:
    if object_type == "item":
        return obj.get("project_id"), obj.get("parent_id")
    if object_type == "note":
        item_id = obj.get("item_id")
        if isinstance(item_id, str):
            item = tx.get("item", item_id)
            return (item or {}).get("project_id"), item_id
        return obj.get("project_id"), None
    if object_type == "section":
        return obj.get("project_id"), None
    return obj.get("parent_id"), None  # a project's parent project, if any


def _due_date(obj: Obj | None) -> str | None:
    due = (obj or {}).get("due")
    return str(due.get("date")) if isinstance(due, dict) and due.get("date") else None  # pyright: ignore[reportUnknownMemberType, reportUnknownArgumentType]


def _extra(object_type: str, event_type: str, new: Obj, old: Obj | None) -> dict[str, Any]:
    field = "name" if object_type in ("project", "section") else "content"
    extra: dict[str, Any] = {field: new.get(field, "")}
    if object_type == "item" and _due_date(new):
        extra["due_date"] = _due_date(new)
    if event_type != "updated" or old is None:
        return extra
    if old.get(field) != new.get(field):
        extra[f"last_{field}"] = old.get(field, "")
    if object_type == "item":
        if old.get("description") != new.get("description"):
            extra["description"], extra["last_description"] = new.get("description", ""), old.get("description", "")
        if _due_date(old) != _due_date(new):
            extra["last_due_date"] = _due_date(old)
        if old.get("project_id") != new.get("project_id"):
            extra["last_project_id"] = old.get("project_id")
    return extra


# ---------------------------------------------------------------------------------------------------------------------
# The read


@dataclass(frozen=True)
class ActivityQuery:
    pairs: tuple[tuple[str, str], ...]  # (object type or "", event type or "")
    object_id: str | None
    parent_project_id: str | None
    parent_item_id: str | None
    initiator_id: str | None
    date_from: date | None
    date_to: date | None
    limit: int
    after: int | None  # id of the last event of the previous page
    initiator_null: bool | None = None  # True: only events without an initiator; False: only those with one
    with_children: bool = False  # with object_id: also the events whose parent task or project it is

    def digest(self) -> str:
        bound = [self.pairs, self.object_id, self.parent_project_id, self.parent_item_id, self.initiator_id,
                 str(self.date_from), str(self.date_to), self.initiator_null, self.with_children]  # fmt: skip
        return hashlib.sha256(json.dumps(bound).encode()).hexdigest()[:16]


# The SDK's modern object names, mapped to the API's (as its normalizeObjectTypeForApi does before sending).
_API_TYPES = {"task": "item", "comment": "note"}


def parse_activity_query(params: Mapping[str, str]) -> ActivityQuery:
    """Query parameters -> an ActivityQuery, or RequestError 400 naming the bad parameter."""
    pairs = _pairs(params)
    query = ActivityQuery(
        pairs, params.get("object_id") or None, params.get("parent_project_id") or None,
        params.get("parent_item_id") or None, params.get("initiator_id") or None,
        _day(params, "date_from"), _day(params, "date_to"), _limit(params.get("limit")), None,
        _flag(params, "initiator_id_null"), bool(_flag(params, "include_child_objects")),
    )  # fmt: skip
    if query.date_from and query.date_to and query.date_to < query.date_from:
        raise request_invalid("date_to", "must not be before date_from")
    cursor = params.get("cursor")
    if not cursor:
        return query
    return replace(query, after=_decode_cursor(cursor, query.digest()))


def _pairs(params: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    raw = params.get("object_event_types")
    texts: list[str] = []
    if raw:
        try:
            decoded: Any = json.loads(raw)
        except ValueError:
            decoded = raw  # one bare "type:event" string
        values: list[Any] = decoded if isinstance(decoded, list) else [decoded]  # pyright: ignore[reportUnknownVariableType]
        for value in values:
            if not isinstance(value, str) or ":" not in value:
                raise request_invalid("object_event_types", f"{value!r} is not 'object_type:event_type'")
            texts.append(value)
    # The older single filters (object_type, event_type) read as one pair.
    if params.get("object_type") or params.get("event_type"):
        texts.append(f"{params.get('object_type', '')}:{params.get('event_type', '')}")
    found: list[tuple[str, str]] = []
    for text in texts:
        kind, _, event = text.partition(":")
        found.append((_API_TYPES.get(kind, kind), event))
    return tuple(found)


def _flag(params: Mapping[str, str], name: str) -> bool | None:
    value = params.get(name, "").strip().lower()
    if value in ("", "null"):
        return None
    if value in ("true", "1"):
        return True
    if value in ("false", "0"):
        return False
    raise request_invalid(name, f"{value!r} is not a boolean (true or false)")


def _day(params: Mapping[str, str], name: str) -> date | None:
    value = params.get(name)
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise request_invalid(name, f"{value!r} is not a date such as 2026-11-20") from None


def _limit(value: str | None) -> int:
    if not value:
        return DEFAULT_LIMIT
    try:
        limit = int(value)
    except ValueError:
        raise request_invalid("limit", "not an integer", expected="Input should be a valid integer") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise request_invalid("limit", f"between 1 and {MAX_LIMIT}")
    return limit


def _decode_cursor(cursor: str, digest: str) -> int:
    try:
        raw: Any = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if isinstance(raw, dict) and raw.get("q") == digest and isinstance(raw.get("id"), int):  # pyright: ignore[reportUnknownMemberType]
            return int(raw["id"])  # pyright: ignore[reportUnknownArgumentType]
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise request_invalid("cursor", "not a cursor of this query (the filters must stay the same between pages)")


def _encode_cursor(digest: str, last: int) -> str:
    raw = json.dumps({"q": digest, "id": last}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def activity_reader(query: ActivityQuery) -> Callable[[sqlite3.Connection, datetime, dict[str, str]], dict[str, Any]]:
    def read(db: sqlite3.Connection, now: datetime, meta: dict[str, str]) -> dict[str, Any]:
        del now
        sql = (
            "SELECT id, at, object_type, object_id, event_type, parent_project_id, parent_item_id, data, initiator_id"
            " FROM activity"
        )
        # The events of the projects the account sees (of a project itself, or of what is in it).
        where: list[str] = [
            "(parent_project_id IN (SELECT value FROM json_each(?1)) OR object_id IN (SELECT value FROM json_each(?1)))"
        ]
        args: list[Any] = [visible_json(db, meta["user_id"])]
        own = query.object_id
        if own is not None and query.with_children:
            where.append("(object_id = ? OR parent_item_id = ? OR parent_project_id = ?)")
            args += [own, own, own]
            own = None
        if query.initiator_null is not None:
            where.append("initiator_id IS NULL" if query.initiator_null else "initiator_id IS NOT NULL")
        for column, wanted in (("object_id", own), ("parent_project_id", query.parent_project_id),
                               ("parent_item_id", query.parent_item_id),
                               ("initiator_id", query.initiator_id)):  # fmt: skip
            if wanted is not None:
                where.append(f"{column} = ?")
                args.append(wanted)
        if query.pairs:
            either: list[str] = []
            for kind, event in query.pairs:
                either.append("((? = '' OR object_type = ?) AND (? = '' OR event_type = ?))")
                args += [kind, kind, event, event]
            where.append("(" + " OR ".join(either) + ")")
        zone = known_zone(meta.get("timezone") or "UTC") or ZoneInfo("UTC")
        if query.date_from is not None:
            where.append("at >= ?")
            args.append(timestamp(datetime.combine(query.date_from, time(), zone).astimezone(UTC)))
        if query.date_to is not None:
            where.append("at < ?")
            args.append(timestamp(datetime.combine(query.date_to + timedelta(days=1), time(), zone).astimezone(UTC)))
        if query.after is not None:
            where.append("id < ?")
            args.append(query.after)
        sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id DESC LIMIT ?"
        args.append(query.limit + 1)
        rows = db.execute(sql, args).fetchall()
        page = [_event(row) for row in rows[: query.limit]]
        cursor = _encode_cursor(query.digest(), rows[query.limit - 1][0]) if len(rows) > query.limit else None
        return {"results": page, "next_cursor": cursor}

    return read


def _event(row: tuple[Any, ...]) -> dict[str, Any]:
    event_id, at, object_type, object_id, event_type, project, parent_item, data, initiator = row
    return {
        "id": str(event_id),
        "object_type": object_type,
        "object_id": object_id,
        "event_type": event_type,
        # Todoist's form of event_date: seconds, UTC.
        "event_date": str(at)[:19] + "Z",
        "parent_project_id": project,
        "parent_item_id": parent_item,
        "initiator_id": initiator,
        "extra_data": json.loads(data),
    }
