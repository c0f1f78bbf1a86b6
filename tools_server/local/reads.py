"""The read half of a Sync request: the resource types this backend answers, in full or since a sequence number.

A full sync returns every live object of a kind (tasks and sections of an archived project excepted: they come back
when it is unarchived); an incremental one every object stamped after the token's sequence, deleted ones included.
Types the backend does not keep are answered with their empty value, so Doist's SDK accepts the response.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from tools_server.local.resources import EMPTY_RESOURCES, INCREMENTAL_ONLY, Obj, empty, user_for_read

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
    for name in names:
        if name == "user":
            user = _objects(db, "user", since)
            if user:
                body["user"] = user_for_read(user[0], meta, now)
        elif name == "day_orders":
            body[name] = day_orders(db, since)
        elif name in LIST_RESOURCES:
            found = _objects(db, LIST_RESOURCES[name], since)
            keep = _OF_TYPE.get(name)
            body[name] = [o for o in found if keep(o)] if keep is not None else found
            if name == "collaborator_states":  # stored under <project>:<user>; Todoist's memberships have no id
                body[name] = [{k: v for k, v in o.items() if k != "id"} for o in found]
        elif since is not None or name not in INCREMENTAL_ONLY:
            body[name] = empty(name)
    return body


def _objects(db: sqlite3.Connection, kind: str, since: int | None) -> list[Obj]:
    if since is None:
        hidden = _HIDDEN_IN_FULL_SYNC if kind in ("item", "section") else ""
        sql, params = f"SELECT data FROM objects WHERE kind = ? AND active = 1{hidden} ORDER BY ord, rowid", (kind,)
    else:
        sql, params = "SELECT data FROM objects WHERE seq > ? AND kind = ? ORDER BY seq, rowid", (since, kind)
    return [json.loads(row[0]) for row in db.execute(sql, params)]


def day_orders(db: sqlite3.Connection, since: int | None) -> dict[str, int]:
    """``{task_id: day_order}`` of open tasks that have one (not -1); an incremental sync gives those changed since."""
    sql = (
        "SELECT id, json_extract(data, '$.day_order') FROM objects WHERE kind = 'item' AND active = 1"
        " AND json_extract(data, '$.day_order') != -1"
    )
    params: tuple[int, ...] = ()
    if since is not None:
        sql += " AND seq > ?"
        params = (since,)
    return {str(row[0]): int(row[1]) for row in db.execute(sql, params)}
