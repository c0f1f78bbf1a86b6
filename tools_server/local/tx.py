"""The store's tables, and object access inside one request's transaction: read, write (stamping the request's
change sequence), and find children and positions.

Every object is one JSON document in ``objects``; the columns beside it (kind, active, project/section/parent, ord)
and the indexes exist only so the queries of the commands (children, last position), of syncs (changes since a
sequence) and of the REST reads (completed tasks) use an index.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable
from datetime import datetime
from typing import Any, cast

from tools_server.clock import epoch_ms
from tools_server.local.errors import invalid_temp_id, not_found
from tools_server.local.moments import timestamp
from tools_server.local.resources import Obj, complete

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS objects (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    seq INTEGER NOT NULL,
    active INTEGER NOT NULL,
    project_id TEXT,
    section_id TEXT,
    parent_id TEXT,
    ord INTEGER NOT NULL DEFAULT 0,
    data TEXT NOT NULL,
    owner TEXT
);
DROP INDEX IF EXISTS objects_seq;
CREATE INDEX IF NOT EXISTS objects_kind_seq ON objects (kind, seq);
CREATE INDEX IF NOT EXISTS objects_kind_active ON objects (kind, active);
CREATE INDEX IF NOT EXISTS objects_parent ON objects (parent_id);
CREATE INDEX IF NOT EXISTS objects_place ON objects (kind, project_id, section_id, parent_id, ord);
-- A rowid table with the uuid in its own index: uuids are random, so each new command lands on a random page of
-- whatever holds them, and an index of uuids alone has half the pages the whole rows had (WITHOUT ROWID, this
-- table's first layout: item_add at 100k tasks 8,300-9,500 commands/s, then 9,500-11,300). See rebuild_commands.
CREATE TABLE IF NOT EXISTS commands (
    uuid TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL,
    temp_id TEXT,
    object_id TEXT,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS commands_at ON commands (at);
-- The accounts besides the first (whose user id and settings are in meta): a token is known by its digest only.
CREATE TABLE IF NOT EXISTS accounts (
    user_id TEXT PRIMARY KEY,
    token_digest TEXT NOT NULL UNIQUE,
    timezone TEXT NOT NULL,
    start_day INTEGER NOT NULL,
    inbox_project_id TEXT NOT NULL
) WITHOUT ROWID;
-- Completed tasks by completion time and by due date, for the REST completed reads (rest.py names them in INDEXED
-- BY); partial, so they stay small.
CREATE INDEX IF NOT EXISTS objects_completed_at ON objects (json_extract(data, '$.completed_at'), id)
    WHERE kind = 'item' AND active = 0;
CREATE INDEX IF NOT EXISTS objects_completed_due ON objects (json_extract(data, '$.due.date'))
    WHERE kind = 'item' AND active = 0;
"""

_COMMAND_COLUMNS = "uuid, status, temp_id, object_id, at"


def rebuild_commands(db: sqlite3.Connection) -> None:
    """Rebuild a store's ``commands`` table of the first layout (WITHOUT ROWID) in this one, keeping every row (the
    uuids of commands already run, which a resend must still find)."""

    def first_layout() -> bool:
        row = db.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'commands'").fetchone()
        return row is not None and "WITHOUT ROWID" in str(row[0]).upper()

    if not first_layout():
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        if first_layout():  # not rebuilt meanwhile by another process opening the store
            db.execute("ALTER TABLE commands RENAME TO commands_first")
            db.execute("DROP INDEX IF EXISTS commands_at")
            db.execute(
                "CREATE TABLE commands (uuid TEXT NOT NULL UNIQUE, status TEXT NOT NULL, temp_id TEXT, "
                "object_id TEXT, at REAL NOT NULL)"
            )
            db.execute(f"INSERT INTO commands ({_COMMAND_COLUMNS}) SELECT {_COMMAND_COLUMNS} FROM commands_first")
            db.execute("DROP TABLE commands_first")
            db.execute("CREATE INDEX commands_at ON commands (at)")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def random_id() -> str:
    """A 16-character opaque id in the shape of Todoist v1 ids (which start with '6').

    Seven characters of milliseconds, then eight random ones: new ids sort after old ones, so inserting them touches
    the end of the id index instead of a random page each (which made every commit rewrite hundreds of pages).
    """
    n = int.from_bytes(os.urandom(6), "big")
    chars: list[str] = []
    for _ in range(8):
        n, r = divmod(n, 62)
        chars.append(_ALPHABET[r])
    t = epoch_ms()
    prefix: list[str] = []
    for _ in range(7):
        t, r = divmod(t, 62)
        prefix.append(_ALPHABET[r])
    return "6" + "".join(reversed(prefix)) + "".join(chars)


def looks_like_real_id(value: str) -> bool:
    """Real ids are 16 alphanumerics (v1) or digits (seed-era v9); anything else that is unknown is a temp id."""
    return value.isdigit() or (len(value) == 16 and value.isascii() and value.isalnum())


# Whose an object is, with several accounts in one store (Todoist's own split): a per-user object has its user's id in
# ``owner``; a project has its creator's there and is seen by them and by its active members; what lives in a project
# has the project in the ``project_id`` column (a task's comments follow their task); the people projects are shared
# with by email alone (``collaborator``) are nobody's.
PER_USER = frozenset({"user", "label", "filter", "reminder", "live_notification"})
IN_PROJECT = frozenset({"item", "section", "project_note", "collaborator_state"})
_OWNED = PER_USER | {"project"}

_VISIBLE_PROJECTS = (
    "SELECT id FROM objects WHERE kind = 'project' AND owner = ?1"
    " UNION SELECT project_id FROM objects WHERE kind = 'collaborator_state' AND active = 1"
    " AND json_extract(data, '$.user_id') = ?1 AND json_extract(data, '$.state') = 'active'"
)


def visible_projects(db: sqlite3.Connection, user_id: str) -> set[str]:
    """The projects the user sees: their own, and those shared with them whose invitation they accepted."""
    return {str(row[0]) for row in db.execute(_VISIBLE_PROJECTS, (user_id,))}


def visible_json(db: sqlite3.Connection, user_id: str) -> str:
    """``visible_projects`` as a JSON array, for ``IN (SELECT value FROM json_each(?))``."""
    return json.dumps(sorted(visible_projects(db, user_id)))


def is_active(kind: str, obj: Obj) -> bool:
    """Whether the object belongs in a full sync."""
    if obj.get("is_deleted"):
        return False
    if kind == "item":
        return not obj.get("checked")
    return not obj.get("is_archived", False)


# at, object_type, object_id, event_type, parent_project_id, parent_item_id, data (JSON), initiator_id
ActivityRow = tuple[str, str, str, str, str | None, str | None, str, str | None]


class Tx:
    """One request: the connection inside BEGIN IMMEDIATE, the request's sequence number, and its temp ids."""

    def __init__(
        self, db: sqlite3.Connection, seq: int, now: datetime, new_id: Callable[[], str], meta: dict[str, str]
    ):
        self.db = db
        self.seq = seq
        self.now = now
        self.stamp = timestamp(now)
        self.new_id = new_id
        self.meta = meta
        self.user_id = meta["user_id"]  # the account the request is made with
        self._projects: set[str] | None = None
        self._shared: dict[str, bool] = {}  # project id -> shared, read once per request while no project changes
        # What the running command wrote, for the activity log that records it right after (a read back was a fifth
        # of an item_add); emptied before each command, so a command rolled back never leaves its objects here.
        self._written: dict[tuple[str, str], Obj] = {}
        self.temp_ids: dict[str, str] = {}
        # The activity log's rows of the commands that succeeded (activity.py), written together when the commands
        # are done: one INSERT per command inside its savepoint was a fifth of an item_add.
        self.events: list[ActivityRow] = []
        self.changed = False
        # See args.ACCEPT_CLIENT_DUE_SHAPES; the store sets it from its own option.
        self.accept_client_due_shapes = True
        # Last position per sibling group, read once per request and then counted here (the request holds the
        # write lock, so no one else can add siblings meanwhile).
        self._orders: dict[tuple[str, str | None, str | None, str | None], int] = {}

    # -- reading ------------------------------------------------------------------------------------------------------

    def get(self, kind: str, object_id: str) -> Obj | None:
        """The object if the request's account can see it (another account's is as unknown as a missing one)."""
        row = self.db.execute(
            "SELECT data, owner, project_id FROM objects WHERE id = ? AND kind = ?", (object_id, kind)
        ).fetchone()
        if row is None:
            return None
        obj: Obj = json.loads(row[0])
        if kind in PER_USER and row[1] is not None and row[1] != self.user_id:
            return None
        if kind == "project" and object_id not in self.projects():
            return None
        if kind in IN_PROJECT and row[2] is not None and row[2] not in self.projects():
            return None
        if kind == "note" and self.get("item", str(obj.get("item_id"))) is None:
            return None
        return obj

    def peek(self, kind: str, object_id: str) -> Obj | None:
        """The object whoever's it is: for the rules that look past the account (an invitation to a project the
        invitee cannot see yet)."""
        row = self.db.execute("SELECT data FROM objects WHERE id = ? AND kind = ?", (object_id, kind)).fetchone()
        return None if row is None else cast(Obj, json.loads(row[0]))

    def projects(self) -> set[str]:
        """The ids of the projects the account sees, read once per request and again after a project or membership
        changes."""
        if self._projects is None:
            self._projects = visible_projects(self.db, self.user_id)
        return self._projects

    def shared(self, project_id: str) -> bool:
        """Whether the project the account sees by this id is shared (False for one it does not see)."""
        known = self._shared.get(project_id)
        if known is None:
            known = self._shared[project_id] = bool((self.get("project", project_id) or {}).get("shared"))
        return known

    def resolve(self, kind: str, argument: str, value: Any) -> Obj:
        """The live (not deleted) object an id-typed argument names, through this request's temp ids."""
        if not isinstance(value, str) or not value:
            raise not_found(kind, argument)
        real = self.temp_ids.get(value, value)
        obj = self.get(kind, real)
        if obj is None or obj.get("is_deleted"):
            if real == value and not looks_like_real_id(value):
                raise invalid_temp_id(argument)
            raise not_found(kind, argument)
        return obj

    def children(self, parent_id: str) -> list[Obj]:
        rows = self.db.execute(
            "SELECT data FROM objects WHERE parent_id = ? AND kind = 'item' ORDER BY ord", (parent_id,)
        ).fetchall()
        found: list[Obj] = [json.loads(r[0]) for r in rows]
        return [c for c in found if not c.get("is_deleted")]

    def descendants(self, parent_id: str) -> list[Obj]:
        found: list[Obj] = []
        stack = [parent_id]
        while stack:
            for child in self.children(stack.pop()):
                found.append(child)
                stack.append(child["id"])
        return found

    def next_order(self, kind: str, project_id: str | None, section_id: str | None, parent_id: str | None) -> int:
        """One past the last position among siblings (live or not: positions are never reused)."""
        key = (kind, project_id, section_id, parent_id)
        last = self._orders.get(key)
        if last is None:
            sql = (
                "SELECT MAX(ord) FROM objects WHERE kind = ? AND project_id IS ? AND section_id IS ? AND parent_id IS ?"
            )
            row = self.db.execute(sql, key).fetchone()
            last = row[0] or 0
        self._orders[key] = last + 1
        return last + 1

    def labels_by_name(self) -> dict[str, Obj]:
        rows = self.db.execute(
            "SELECT data FROM objects WHERE kind = 'label' AND active = 1 AND owner = ?", (self.user_id,)
        ).fetchall()
        labels: list[Obj] = [json.loads(r[0]) for r in rows]
        return {label["name"].casefold(): label for label in labels}

    # -- writing ------------------------------------------------------------------------------------------------------

    def put(self, kind: str, obj: Obj, *, touch: bool = True, owner: str | None = None) -> None:
        """Insert or replace an object, stamped with this request's sequence so incremental syncs return it; the
        object is completed to its full SDK shape first, whichever handler built it. A new per-user object or project
        is the request's account's (or ``owner``'s); a replaced one keeps its owner (a member edits a shared project,
        the owner stays)."""
        complete(kind, obj)
        if touch and "updated_at" in obj:
            obj["updated_at"] = self.stamp
        order = obj.get("child_order", obj.get("section_order", obj.get("item_order", 0)))
        self.db.execute(
            "INSERT INTO objects (id, kind, seq, active, project_id, section_id, parent_id, ord, data, owner)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET kind = excluded.kind,"
            " seq = excluded.seq, active = excluded.active, project_id = excluded.project_id,"
            " section_id = excluded.section_id, parent_id = excluded.parent_id, ord = excluded.ord,"
            " data = excluded.data, owner = coalesce(owner, excluded.owner)",
            (
                obj["id"],
                kind,
                self.seq,
                int(is_active(kind, obj)),
                obj.get("project_id") if kind in IN_PROJECT else None,
                obj.get("section_id") if kind == "item" else None,
                obj.get("parent_id"),
                order or 0,
                json.dumps(obj, separators=(",", ":")),
                (owner or self.user_id) if kind in _OWNED else None,
            ),
        )
        if kind in ("project", "collaborator_state"):
            self._projects = None
            self._shared.clear()
        self._written[kind, obj["id"]] = dict(obj)  # a copy: a handler may change the object it put
        self.changed = True

    def begin_command(self) -> None:
        """The next command of the request: nothing the previous one wrote is taken as written by this one."""
        self._written.clear()

    def written(self, kind: str, object_id: str) -> Obj | None:
        """The object as the running command last wrote it (None when it wrote none)."""
        return self._written.get((kind, object_id))

    def fresh_id(self) -> str:
        while True:
            candidate = self.new_id()
            if self.db.execute("SELECT 1 FROM objects WHERE id = ?", (candidate,)).fetchone() is None:
                return candidate


# A Sync command type's implementation: it runs inside one request's transaction and returns the id of the object it
# created (the store maps the command's temp_id to it), or None.
Handler = Callable[[Tx, dict[str, Any]], str | None]
