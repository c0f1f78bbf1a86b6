"""The local account: created on a database's first open (user, Inbox), reconfigured and brought up to the current
object shape on later opens. Runs inside the store's opening transaction.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable
from datetime import datetime

from tools_server.local.moments import known_zone
from tools_server.local.resources import SHAPE_VERSION, Obj, complete
from tools_server.local.tx import Tx

# Names tzlocal may give for a machine on UTC: shown as Todoist shows it.
_UTC_NAMES = frozenset({"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Etc/Universal", "Universal", "Etc/Zulu", "Zulu"})


def machine_timezone() -> str:
    """The IANA name of this machine's zone (TZ first, then the system's setting), for a new local account: "today"
    is then the user's day without any configuration. UTC when the machine names no zone this Python knows."""
    import tzlocal  # a dependency of dateparser already; imported here since only a new account needs it

    try:
        name = tzlocal.get_localzone_name()
    except (LookupError, ValueError, OSError):  # tzlocal raises ZoneInfoNotFoundError (a KeyError) and ValueError
        return "UTC"
    if not name or name in _UTC_NAMES or known_zone(name) is None:
        return "UTC"
    return name


def check_settings(timezone: str | None, start_day: int | None) -> None:
    """Refuse a configuration Todoist could not hold: an unknown IANA zone, a start day outside 1 (Mon) to 7."""
    if timezone is not None and known_zone(timezone) is None:
        raise ValueError(f"unknown timezone {timezone!r}; expected an IANA name such as Europe/Madrid")
    if start_day is not None and not 1 <= start_day <= 7:
        raise ValueError(f"start_day must be 1 (Monday) to 7 (Sunday), not {start_day}")


def create_account(
    db: sqlite3.Connection, now: datetime, new_id: Callable[[], str], timezone: str, start_day: int
) -> None:
    user_id = str(10_000_000 + int.from_bytes(os.urandom(4), "big") % 90_000_000)
    meta = {
        "db_id": os.urandom(6).hex(),
        "seq": "1",
        "user_id": user_id,
        "timezone": timezone,
        "start_day": str(start_day),
        "shape_version": SHAPE_VERSION,
    }
    tx = Tx(db, 1, now, new_id, meta)
    inbox_id = tx.fresh_id()
    meta["inbox_project_id"] = inbox_id
    inbox: Obj = {
        "id": inbox_id,
        "name": "Inbox",
        "color": "grey",
        "child_order": 0,
        "inbox_project": True,
        "created_at": tx.stamp,
        "updated_at": tx.stamp,
    }
    tx.put("project", inbox)
    user: Obj = {"id": user_id, "inbox_project_id": inbox_id, "joined_at": tx.stamp, "start_day": start_day}
    tx.put("user", user, touch=False)
    db.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", meta.items())


def update_account(db: sqlite3.Connection, meta: dict[str, str], timezone: str | None, start_day: int | None) -> None:
    """Later opens: complete objects written by an older version once; apply a changed timezone / start day."""
    seq = int(meta["seq"])
    if meta.get("shape_version") != SHAPE_VERSION:
        rows = db.execute("SELECT id, kind, data FROM objects").fetchall()
        for object_id, kind, data in rows:
            db.execute(
                "UPDATE objects SET data = ? WHERE id = ?",
                (json.dumps(complete(kind, json.loads(data)), separators=(",", ":")), object_id),
            )
        db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('shape_version', ?)", (SHAPE_VERSION,))
    changes: dict[str, str] = {}
    if timezone is not None and timezone != meta.get("timezone"):
        changes["timezone"] = timezone
    if start_day is not None and str(start_day) != meta.get("start_day"):
        changes["start_day"] = str(start_day)
    if not changes:
        return
    # The user changed: stamp it with a new sequence so incremental syncs deliver it.
    changes["seq"] = str(seq + 1)
    db.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", changes.items())
    db.execute("UPDATE objects SET seq = ? WHERE kind = 'user'", (seq + 1,))
