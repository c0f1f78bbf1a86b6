"""The read half of a Sync request: the resource types this backend answers, in full or since a sequence number.

A full sync returns every live object of a kind (tasks and sections of an archived project excepted: they come back
when it is unarchived); an incremental one every object stamped after the token's sequence, deleted ones included.
Types the backend does not keep are answered with their empty value, so Doist's SDK accepts the response.

Each account reads its own: its per-user objects, the projects it sees (its own and those shared with it) and what
is in them; ``collaborators`` are the other members of those projects (another account as its user shows it, someone
known by email alone as stored).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tools_server.local.resources import EMPTY_RESOURCES, INCREMENTAL_ONLY, Obj, empty, user_for_read
from tools_server.local.tx import IN_PROJECT, PER_USER, visible_json

# Resource types this backend keeps, by the name a request uses -> the kind stored.
LIST_RESOURCES = {
    "items": "item",
    "projects": "project",
    "sections": "section",
    "labels": "label",
    "notes": "note",
    "project_notes": "project_note",
    "reminders": "reminder",
    "reminders_location": "reminder",
    "filters": "filter",
    "live_notifications": "live_notification",
    "collaborators": "collaborator",
    "collaborator_states": "collaborator_state",
}
# Location reminders share the reminders' kind (one id space, one cascade) and are answered under their own type.
_OF_TYPE: dict[str, Callable[[Obj], bool]] = {
    "reminders": lambda reminder: reminder.get("type") != "location",
    "reminders_location": lambda reminder: reminder.get("type") == "location",
}
# Every type Doist's SDK knows (SYNC_RESOURCE_TYPES): the kept ones, the user, and the rest answered empty.
RESOURCE_TYPES = (
    *LIST_RESOURCES,
    "day_orders",
    "user",
    *(name for name in EMPTY_RESOURCES if name not in LIST_RESOURCES and name != "day_orders"),
)

# Tasks and sections of an archived (or deleted) project are not part of a full sync; they come back when it is
# unarchived. Only items and sections have their project in the project_id column.
_HIDDEN_IN_FULL_SYNC = (
    " AND (project_id IS NULL OR project_id NOT IN (SELECT id FROM objects WHERE kind = 'project' AND active = 0))"
)


def read_resources(
    db: sqlite3.Connection, names: Sequence[str], since: int | None, meta: dict[str, str], now: datetime
) -> dict[str, Any]:
    """``{name: value}`` for the requested types (``since`` None: a full sync), in the order requested."""
    body: dict[str, Any] = {}
    scope = _Scope(meta["user_id"], visible_json(db, meta["user_id"]))
    for name in names:
        if name == "user":
            user = _objects(db, "user", since, scope)
            if user:
                body["user"] = user_for_read(user[0], meta, now)
        elif name == "day_orders":
            body[name] = day_orders(db, since, scope)
        elif name == "collaborators":
            body[name] = _collaborators(db, since, scope)
        elif name in LIST_RESOURCES:
            found = _objects(db, LIST_RESOURCES[name], since, scope)
            keep = _OF_TYPE.get(name)
            body[name] = [o for o in found if keep(o)] if keep is not None else found
            if name == "collaborator_states":  # stored under <project>:<user>; Todoist's memberships have no id
                body[name] = [{k: v for k, v in o.items() if k != "id"} for o in found]
        elif since is not None or name not in INCREMENTAL_ONLY:
            body[name] = empty(name)
    return body


@dataclass(frozen=True)
class _Scope:
    user_id: str
    projects: str  # the projects the user sees, as a JSON array (visible_json)


_IN = "(SELECT value FROM json_each(?))"


def _scoped(kind: str, scope: _Scope) -> tuple[str, tuple[str, ...]]:
    """The condition (and its parameter) that keeps an object of ``kind`` to what the account sees."""
    if kind in PER_USER:
        return " AND owner = ?", (scope.user_id,)
    if kind == "project":
        return f" AND id IN {_IN}", (scope.projects,)
    if kind in IN_PROJECT:
        return f" AND project_id IN {_IN}", (scope.projects,)
    if kind == "note":
        tasks = f"SELECT id FROM objects WHERE kind = 'item' AND project_id IN {_IN}"
        return f" AND json_extract(data, '$.item_id') IN ({tasks})", (scope.projects,)
    return "", ()


def _objects(db: sqlite3.Connection, kind: str, since: int | None, scope: _Scope) -> list[Obj]:
    seen, seen_params = _scoped(kind, scope)
    if since is None:
        hidden = _HIDDEN_IN_FULL_SYNC if kind in ("item", "section") else ""
        sql = f"SELECT data FROM objects WHERE kind = ? AND active = 1{hidden}{seen} ORDER BY ord, rowid"
        params: tuple[Any, ...] = (kind, *seen_params)
    else:
        sql = f"SELECT data FROM objects WHERE seq > ? AND kind = ?{seen} ORDER BY seq, rowid"
        params = (since, kind, *seen_params)
    return [json.loads(row[0]) for row in db.execute(sql, params)]


def _collaborators(db: sqlite3.Connection, since: int | None, scope: _Scope) -> list[Obj]:
    """The other members of the account's projects (all of them, or those whose membership changed since)."""
    sql = (
        "SELECT DISTINCT json_extract(data, '$.user_id') FROM objects WHERE kind = 'collaborator_state'"
        f" AND project_id IN {_IN} AND json_extract(data, '$.user_id') != ?"
    )
    params: tuple[Any, ...] = (scope.projects, scope.user_id)
    if since is None:
        sql += " AND active = 1"
    else:
        sql += " AND seq > ?"
        params = (*params, since)
    people: list[Obj] = []
    for (uid,) in db.execute(sql, params).fetchall():
        row = db.execute(
            "SELECT kind, data FROM objects WHERE id = ? AND kind IN ('user', 'collaborator')", (uid,)
        ).fetchone()
        if row is None:
            continue
        person: Obj = json.loads(row[1])
        if row[0] == "user":  # another account: what a collaborator shows of a user
            zone = db.execute("SELECT timezone FROM accounts WHERE user_id = ?", (uid,)).fetchone()
            person = {
                "id": person["id"],
                "email": person.get("email", ""),
                "full_name": person.get("full_name", ""),
                "timezone": zone[0] if zone else _first_zone(db),
                "image_id": person.get("image_id"),
            }
        people.append(person)
    return people


def _first_zone(db: sqlite3.Connection) -> str:
    row = db.execute("SELECT value FROM meta WHERE key = 'timezone'").fetchone()
    return str(row[0]) if row else "UTC"


def day_orders(db: sqlite3.Connection, since: int | None, scope: _Scope) -> dict[str, int]:
    """``{task_id: day_order}`` of open tasks that have one (not -1); an incremental sync gives those changed since."""
    sql = (
        "SELECT id, json_extract(data, '$.day_order') FROM objects WHERE kind = 'item' AND active = 1"
        f" AND json_extract(data, '$.day_order') != -1 AND project_id IN {_IN}"
    )
    params: tuple[Any, ...] = (scope.projects,)
    if since is not None:
        sql += " AND seq > ?"
        params = (*params, since)
    return {str(row[0]): int(row[1]) for row in db.execute(sql, params)}
