"""The local accounts: the first created on a database's first open (user, Inbox), reconfigured and brought up to the
current object shape on later opens; more accounts (each its own token, user, Inbox, labels...) added when the store is
opened with them. Runs inside the store's opening transaction.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from tools_server.local.moments import known_zone
from tools_server.local.resources import SHAPE_VERSION, Obj, complete
from tools_server.local.tx import PER_USER, Tx

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


@dataclass(frozen=True)
class LocalAccount:
    """An account of the store besides the first (``--token``'s): the bearer token its clients send, its email (how
    others share projects with it) and its name."""

    token: str
    email: str
    full_name: str | None = None

    def __repr__(self) -> str:  # never the token
        return f"LocalAccount(email={self.email!r})"


def token_digest(token: str) -> str:
    """How the store knows an account's token: a digest, so the database holds no token."""
    return hashlib.sha256(token.encode()).hexdigest()


def _new_user_id() -> str:
    return str(10_000_000 + int.from_bytes(os.urandom(4), "big") % 90_000_000)


def _new_user(tx: Tx, start_day: int, person: Obj) -> str:
    """The user of ``tx``'s account and their Inbox; the Inbox's id."""
    inbox_id = tx.fresh_id()
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
    user: Obj = {
        "id": tx.user_id, "inbox_project_id": inbox_id, "joined_at": tx.stamp, "start_day": start_day, **person
    }  # fmt: skip
    tx.put("user", user, touch=False)
    return inbox_id


def create_account(
    db: sqlite3.Connection, now: datetime, new_id: Callable[[], str], timezone: str, start_day: int
) -> None:
    meta = {
        "db_id": os.urandom(6).hex(),
        "seq": "1",
        "user_id": _new_user_id(),
        "timezone": timezone,
        "start_day": str(start_day),
        "shape_version": SHAPE_VERSION,
    }
    meta["inbox_project_id"] = _new_user(Tx(db, 1, now, new_id, meta), start_day, {})
    db.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", meta.items())


def add_accounts(
    db: sqlite3.Connection,
    now: datetime,
    new_id: Callable[[], str],
    accounts: Sequence[LocalAccount],
    timezone: str,
) -> None:
    """Create the accounts the store does not hold yet (by token) and bring the others' email and name up to date; an
    email two accounts would share is refused (people are found by email when a project is shared)."""
    emails = [a.email.casefold() for a in accounts]
    if len(set(emails)) != len(emails):
        raise ValueError("two accounts have the same email")
    meta: dict[str, str] = dict(db.execute("SELECT key, value FROM meta").fetchall())
    seq = int(meta["seq"]) + 1
    changed = False
    for account in accounts:
        if not account.token or "@" not in account.email:
            raise ValueError("an account needs a token and an email")
        digest = token_digest(account.token)
        found = db.execute("SELECT user_id FROM accounts WHERE token_digest = ?", (digest,)).fetchone()
        user_id = str(found[0]) if found is not None else _new_user_id()
        clash = db.execute(
            "SELECT 1 FROM objects WHERE kind = 'user' AND id != ? AND lower(json_extract(data, '$.email')) = ?",
            (user_id, account.email.casefold()),
        ).fetchone()
        if clash is not None:
            raise ValueError(f"another account of this store has the email {account.email}")
        person: Obj = {"email": account.email, "full_name": account.full_name or account.email.split("@", 1)[0]}
        tx = Tx(db, seq, now, new_id, {**meta, "user_id": user_id})
        if found is None:
            inbox_id = _new_user(tx, 1, person)
            db.execute(
                "INSERT INTO accounts (user_id, token_digest, timezone, start_day, inbox_project_id)"
                " VALUES (?, ?, ?, 1, ?)",
                (user_id, digest, timezone, inbox_id),
            )
            changed = True
            continue
        user = tx.get("user", user_id) or {"id": user_id}
        if any(user.get(k) != v for k, v in person.items()):
            tx.put("user", {**user, **person}, touch=False)
            changed = True
    if changed:
        db.execute("UPDATE meta SET value = ? WHERE key = 'seq'", (str(seq),))


def add_owner_column(db: sqlite3.Connection) -> None:
    """A database made before several accounts (or rows written without an owner): every per-user object and project
    is the first account's, and what lives in a project has it in the project_id column (tasks and sections had it
    already). Quick once done: the kind index finds the few rows of those kinds."""
    columns = {str(row[1]) for row in db.execute("PRAGMA table_info(objects)")}
    if "owner" not in columns:
        db.execute("ALTER TABLE objects ADD COLUMN owner TEXT")
    # Partial: tasks, sections and comments (no owner) add nothing to it on every write.
    db.execute("DROP INDEX IF EXISTS objects_owner")
    db.execute("CREATE INDEX IF NOT EXISTS objects_owned ON objects (owner, kind) WHERE owner IS NOT NULL")
    row = db.execute("SELECT value FROM meta WHERE key = 'user_id'").fetchone()
    if row is not None:
        owned = json.dumps(sorted(PER_USER | {"project"}))
        db.execute(
            "UPDATE objects SET owner = ? WHERE kind IN (SELECT value FROM json_each(?)) AND owner IS NULL",
            (row[0], owned),
        )
    db.execute(
        "UPDATE objects SET project_id = json_extract(data, '$.project_id')"
        " WHERE kind IN ('project_note', 'collaborator_state') AND project_id IS NULL"
    )


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
    db.execute("UPDATE objects SET seq = ? WHERE kind = 'user' AND id = ?", (seq + 1, meta["user_id"]))
