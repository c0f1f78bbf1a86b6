"""The durable local store (stdio and `tools-server call`): each account's cursors, pending resend batches, undo
``write`` handles, its last write, recent removals and (for `call`) its mirror, in one SQLite file next to the local
store, so they outlive the process: a host that restarts its server, or starts one per tool call (LangChain's
``MultiServerMCPClient``), finds them again; a write cut by a killed process is finished by the next one's
``resend_writes`` with the same uuids.

SQLite rather than a locked JSON file: a stdio server and `call` processes may use the file at once, and a pending
batch's outcome is written again between the Sync requests of a long write. SQLite gives each of those one small
transaction that survives a killed process (WAL), lets readers and writers of other processes in without a lock of
ours (busy timeout), and rewrites one row, not the whole file. The account's write lock, which must be held across
network requests, is an ``fcntl.flock`` on a lock file of its own: the kernel frees it when its holder dies, so a
killed process never leaves an account locked.

Every row is a record of the one codec (``state/records.py``), sealed as the in-process store and Redis seal theirs,
with a key that needs both the account's token and a random key kept beside the file (``<file>.key``, owner-only):
someone who can write the state file but not read the key cannot make a process read anything into its session.
Rows expire as Redis keys do (the TTLs of ``state/store.py``) and are capped per account as there.

The store this replaced was a JSON file (``<db>.call-state.json``) saved after each `call`: its records (same seals,
same key) are moved into this one on first use; a file of the version before that is not read, and said so once.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import math
import os
import secrets
import sqlite3
from collections import OrderedDict
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import anyio
import msgspec

from tools_server.clock import SYSTEM_CLOCK, Clock
from tools_server.cursors import SeenItems, View
from tools_server.plans import PendingWrite, UndoRecord, check_room
from tools_server.state.records import (
    FORMAT,
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
    HeldParts,
    Refused,
    Sealed,
    Sealer,
    SeenRecord,
    ViewChangeRecord,
)
from tools_server.state.store import (
    MAX_SNAPSHOTS,
    MAX_VIEWS_PER_ACCOUNT,
    MAX_WRITE_HANDLES,
    PENDING_SECONDS,
    REMOVAL_SECONDS,
    VIEW_SECONDS,
    WRITE_SECONDS,
    Releaser,
    StateRefusal,
    Unresumable,
    WriteLockBusy,
    named_refusals,
    new_batch_id,
    new_removal_id,
    new_write_handle,
    open_batches,
    write_refused,
)
from tools_server.state.views import Snapshots, applied, change, joined, split
from tools_server.sync.commands import Item
from tools_server.sync.mirror import Mirror

logger = logging.getLogger(__name__)

KEY_BYTES = 32
MIRROR_SECONDS = PENDING_SECONDS  # `call`'s mirror: a later call syncs incrementally from it
CARRIED_CURSORS = 8
_CACHED_VIEWS = 8  # decoded views kept per account in this process, checked against the row's seal before use
_BUSY_MS = 10_000  # another process's transaction is short (one row); waiting this long means something is wrong
# "last_write" (a second copy of the last undo record) is no longer written: rows of it expire unread.
_TTL = {
    **{
        "view": VIEW_SECONDS,
        "view_change": VIEW_SECONDS,
        "snap": VIEW_SECONDS,
        "pending": PENDING_SECONDS,
        "pending_outcome": PENDING_SECONDS,
        "write": WRITE_SECONDS,
    },
    **{"removal": REMOVAL_SECONDS, "last_write": WRITE_SECONDS, "last": WRITE_SECONDS, "mirror": MIRROR_SECONDS},
}
# Expired rows of a kind are deleted at most this often per process: the DELETE reads every row of the kind, bodies
# included, and ran on every put (0.6 ms of a 100-task write). Reads skip expired rows whenever they are deleted.
_EXPIRY_SWEEP_SECONDS = 60.0
# Written before the request they are kept for goes, never deferred to the flush after it.
_BEFORE_REQUESTS = frozenset({"pending", "pending_outcome"})
_CAPS = {"view": MAX_VIEWS_PER_ACCOUNT, "snap": MAX_SNAPSHOTS, "write": MAX_WRITE_HANDLES}
_TOUCHED_KEPT = 256
# A view's changes kept after its record before the record is written whole again with them: no more bytes than the
# record (so rewrites come at doubling sizes: O(what changed) per save, amortized), and at most this many rows for a
# process to read back. At 16, a session writing 100 tasks a call rewrote its growing view every 16 calls, sooner
# than the bytes asked for (0.5 ms of main-thread CPU a call over 40 calls, 7.0 -> 6.5 ms at 64).
_MAX_VIEW_CHANGES = 64
# The rows' keys and bookkeeping in one table, their bodies in another: touching a row (its TTL, its place) rewrites
# only its small row, where a body in the same row was rewritten whole with it (a cursor's view of several MB on every
# write that cursor saw). ``record`` is a rowid table with its key in an index: the store's first layout was WITHOUT
# ROWID, where a key search that meets a row too large for its page reads all of it (with a 30k-task account's 15 MB
# snapshot, every other row's read or write cost 7-35 ms). Files of either earlier layout (a body in each row) are
# rebuilt in this one when opened. A body goes with its row (triggers), however the row goes.
_LAYOUT = (
    """CREATE TABLE IF NOT EXISTS record (
    account TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    expires REAL NOT NULL,
    ord INTEGER NOT NULL,
    mac BLOB NOT NULL,
    body_id INTEGER NOT NULL,
    UNIQUE (account, kind, name)
)""",
    "CREATE INDEX IF NOT EXISTS record_order ON record (account, kind, ord)",
    "CREATE TABLE IF NOT EXISTS body (data BLOB NOT NULL)",
    "CREATE TRIGGER IF NOT EXISTS record_body_replaced AFTER UPDATE OF body_id ON record "
    "WHEN OLD.body_id IS NOT NEW.body_id BEGIN DELETE FROM body WHERE rowid = OLD.body_id; END",
    "CREATE TRIGGER IF NOT EXISTS record_gone AFTER DELETE ON record BEGIN DELETE FROM body WHERE rowid = OLD.body_id; "
    "END",
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)",
    "INSERT OR IGNORE INTO meta VALUES ('format', 2), ('order', 0)",
)
# A row with its body, read in one statement.
_ROWS = "SELECT {} FROM record JOIN body ON body.rowid = record.body_id WHERE account = ? AND kind = ? "


def _store(
    db: sqlite3.Connection, row: tuple[str, str, str, float, int, bytes, bytes], *, keep_order: bool = False
) -> None:
    """Insert ``row`` (account, kind, name, expires, ord, mac, body), or replace the row under its key (its order
    too, unless ``keep_order``)."""
    body_id = db.execute("INSERT INTO body (data) VALUES (?)", (row[-1],)).lastrowid
    db.execute(
        "INSERT INTO record (account, kind, name, expires, ord, mac, body_id) VALUES (?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (account, kind, name) DO UPDATE SET mac = excluded.mac, body_id = excluded.body_id, "
        "expires = excluded.expires" + ("" if keep_order else ", ord = excluded.ord"),
        (*row[:-1], body_id),
    )


_T = TypeVar("_T")
_Step = Callable[[sqlite3.Connection], None]


def state_path(db: Path) -> Path:
    return db.with_name(db.name + ".state.sqlite")


def key_path(state: Path) -> Path:
    return state.with_name(state.name + ".key")


def _json_path(state: Path) -> Path:
    """The JSON file the version before kept (``<db>.call-state.json``), and its key beside it."""
    return state.with_name(state.name.removesuffix(".state.sqlite") + ".call-state.json")


def server_key(state: Path) -> bytes:
    """The file's half of every seal: read from ``<state>.key``, or made (random, owner-only) when there is none.

    Written under another name and linked into place, so two processes starting at once agree on one key. The key of
    the JSON file this store replaced is taken over, so the records moved from it still open."""
    path = key_path(state)
    if not path.exists():
        # FileNotFoundError: there was none; FileExistsError: another process took it over first.
        with contextlib.suppress(FileNotFoundError, FileExistsError):
            os.link(key_path(_json_path(state)), path)
    try:
        key = path.read_bytes()
        if len(key) == KEY_BYTES:
            return key
        logger.warning("state: %s is not a key this version made; a new one replaces it", path)
        path.unlink()
    except FileNotFoundError:
        pass
    # With a Todoist token nothing else makes the data directory (no local store is opened): a fresh machine has none.
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(f"{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_bytes(KEY_BYTES))
        with contextlib.suppress(FileExistsError):  # another process made one first: use that
            os.link(temporary, path)
    finally:
        temporary.unlink()
    return path.read_bytes()


class _Entry(msgspec.Struct, forbid_unknown_fields=True):
    mac: str  # hex
    body: msgspec.Raw


class _JsonFile(msgspec.Struct):
    """The JSON store this one replaced: ``{"format": 2, "accounts": {fingerprint: {slot: entry}}}``."""

    format: int
    accounts: dict[str, dict[str, _Entry]]


EARLIER_NOTE = (
    "the `call` state ({path}) was written by an earlier version of tools-server and is not read: a cursor from "
    "before the upgrade answers with a fresh overview, and undo cannot reverse a write made before it (it held no "
    "resend batches). It has been removed."
)


class FileState:
    """The durable local store over one SQLite file (see the module's docstring). ``notes``: what opening it found to
    say once (an earlier version's file not read)."""

    def __init__(self, path: Path, *, clock: Clock = SYSTEM_CLOCK) -> None:
        self.path = path
        self.clock = clock
        self.notes: list[str] = []
        self._secret = server_key(path)
        self._db = sqlite3.connect(path, isolation_level=None, timeout=_BUSY_MS / 1000, check_same_thread=False)
        try:
            os.chmod(path, 0o600)
            self._db.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode: a commit survives the process being killed (it is in the OS before commit returns);
            # only a power cut may lose the last ones, which is what a pending batch must outlive here.
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._lay_out()
            self._import_json()
            self._purge()
        except BaseException:
            self._db.close()
            raise
        self._accounts: OrderedDict[str, FileAccount] = OrderedDict()

    def close(self) -> None:
        self._db.close()

    def account(self, fingerprint: str, secret: bytes) -> FileAccount:
        account = self._accounts.get(fingerprint)
        if account is None:
            account = self._accounts[fingerprint] = FileAccount(self, fingerprint, Sealer(self._secret, secret))
            while len(self._accounts) > 64:
                self._accounts.popitem(last=False)
        self._accounts.move_to_end(fingerprint)
        return account

    # -- rows -----------------------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Generator[sqlite3.Connection]:
        """One write transaction, taken at once (IMMEDIATE), so a read-then-write inside it sees no other writer."""
        with _answered(self.path):
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def read(self, sql: str, parameters: tuple[object, ...]) -> list[Any]:
        with _answered(self.path):
            return self._db.execute(sql, parameters).fetchall()

    def now(self) -> float:
        return self.clock.now().timestamp()

    def next_order(self, db: sqlite3.Connection) -> int:
        """A number larger than any row got before, in any process: the rows' order (two writes in one clock tick
        would not have one)."""
        row = db.execute("UPDATE meta SET value = value + 1 WHERE key = 'order' RETURNING value").fetchone()
        return int(row[0])

    def _purge(self) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM record WHERE expires <= ?", (self.now(),))

    def _lay_out(self) -> None:
        """The tables, made once; a file of an earlier layout (see ``_LAYOUT``) rebuilt in this one, every row kept."""
        with self.transaction() as db:
            found = db.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'record'").fetchone()
            earlier = found is not None and "body_id" not in str(found[0])
            if earlier:
                db.execute("ALTER TABLE record RENAME TO record_earlier")
                db.execute("DROP INDEX IF EXISTS record_order")
            for statement in _LAYOUT:
                db.execute(statement)
            if earlier:
                rows = db.execute("SELECT account, kind, name, expires, ord, mac, body FROM record_earlier").fetchall()
                for row in rows:
                    _store(db, row)
                db.execute("DROP TABLE record_earlier")

    def _import_json(self) -> None:
        """Move the records of the JSON file the version before kept into this store (same seals, same key), once."""
        earlier = _json_path(self.path)
        try:
            raw = earlier.read_bytes()
        except OSError:
            return
        try:
            data = msgspec.json.decode(raw, type=_JsonFile)
        except (msgspec.DecodeError, msgspec.ValidationError):
            data = None
        if data is None or data.format != FORMAT:
            self.notes.append(EARLIER_NOTE.format(path=earlier))
            logger.warning("state: %s", self.notes[-1])
        else:
            now = self.now()
            with self.transaction() as db:
                for fingerprint, entries in data.accounts.items():
                    for slot, entry in entries.items():
                        kind, _, name = slot.partition(":")
                        if kind not in _TTL:
                            continue
                        taken = db.execute(
                            "SELECT 1 FROM record WHERE account = ? AND kind = ? AND name = ?",
                            (fingerprint, kind, name),
                        ).fetchone()
                        if taken is None:  # what this store holds already is newer
                            mac, body = bytes.fromhex(entry.mac), bytes(entry.body)
                            _store(db, (fingerprint, kind, name, now + _TTL[kind], self.next_order(db), mac, body))
        earlier.unlink(missing_ok=True)


class StateFileUnwritable(StateRefusal):
    """The state file refused a read or a write (a full or read-only disk, a damaged file): the call stops before
    its next request, and what an interrupted write left unconfirmed is said in its text."""


@contextlib.contextmanager
def _answered(path: Path) -> Generator[None]:
    try:
        yield
    except sqlite3.Error as exc:
        logger.warning("state: %s: %s", path, exc)
        raise StateFileUnwritable(f"the state file {path} cannot be used ({exc})") from exc


def _slot(kind: str, name: str) -> str:
    return f"{kind}:{name}" if name else kind


def _change_names(cursor: str) -> tuple[str, str]:
    """Bounds of the names of a cursor's changes (``<cursor>:<random>``), exclusive: ';' follows ':'."""
    return cursor + ":", cursor + ";"


@dataclass(eq=False)
class _Kept:
    """A view as this process last saved or read it: the live object, the seals of its rows then (its record, its
    newest change), and what its next change is written against."""

    view: View
    seen: SeenItems | None  # whose changes() were asked when kept; another object now: the view moved, write it whole
    snapshot: str | None  # the name of its snapshot's row
    seals: tuple[bytes | None, bytes | None]
    objects: SeenRecord
    changes: int  # its changes kept after its record
    change_bytes: int
    record_bytes: int


class FileAccount:
    """One account's rows in the file (``account`` = its token's fingerprint)."""

    def __init__(self, state: FileState, fingerprint: str, sealer: Sealer) -> None:
        self._state = state
        self._account = fingerprint
        self._sealer = sealer
        self._views: OrderedDict[str, _Kept] = OrderedDict()  # cursor -> its view as this process last kept it
        self._touched: dict[tuple[str, str], float] = {}  # (kind, name) -> when this process last touched it
        self._swept: dict[str, float] = {}  # kind -> when this process last deleted its expired rows
        self._snapshots = Snapshots()
        self._batches: dict[str, HeldParts] = {}  # batch -> the write whose commands and plans this process wrote
        # Between defer_writes and flush: the row writes waiting for one transaction, and the rows they write.
        self._deferred: list[_Step] | None = None
        self._deferred_rows: set[tuple[str, str]] = set()

    # -- rows of this account -------------------------------------------------------------------------------------

    def _put(
        self,
        kind: str,
        name: str,
        codec: Codec[_T, Any],
        value: _T,
        *,
        keep_order: bool = False,
        replacing: tuple[str, str] | None = None,
    ) -> Sealed:
        """Store ``value`` under ``kind:name`` (its TTL starts over); past the kind's cap the oldest go. Returns it
        sealed. ``keep_order``: an update keeps its place (a pending batch stays where it was in the queue).
        ``replacing``: a row (kind, name) that this one makes stale, deleted in the same transaction."""
        sealed = self._sealer.seal(_slot(kind, name), codec, value)  # now: the value may change before a flush
        state = self._state

        def put(db: sqlite3.Connection) -> None:
            now = state.now()
            row = (self._account, kind, name, now + _TTL[kind], state.next_order(db), sealed.mac, sealed.body)
            _store(db, row, keep_order=keep_order)
            # Expired rows of the kind go as new ones come (now and then): a long-running server's file stays bounded.
            if now - self._swept.get(kind, -math.inf) >= _EXPIRY_SWEEP_SECONDS:
                self._swept[kind] = now
                db.execute(
                    "DELETE FROM record WHERE account = ? AND kind = ? AND expires <= ?", (self._account, kind, now)
                )
            cap = _CAPS.get(kind)
            if cap is not None:
                db.execute(
                    "DELETE FROM record WHERE account = ? AND kind = ? AND name IN (SELECT name FROM record WHERE "
                    "account = ? AND kind = ? ORDER BY ord DESC LIMIT -1 OFFSET ?)",
                    (self._account, kind, self._account, kind, cap),
                )
            if replacing is not None:
                self._deleting(*replacing)(db)

        # A pending batch is written before its request goes: it never waits for a flush.
        self._write(kind, name, put, durable=kind in _BEFORE_REQUESTS)
        return sealed

    def _write(self, kind: str, name: str, step: _Step, *, durable: bool = False) -> None:
        """Run ``step`` in a transaction now, with the deferred ones before it; or defer it (see ``defer_writes``)."""
        if self._deferred is not None and not durable:
            self._deferred.append(step)
            self._deferred_rows.add((kind, name))
            return
        self._flush(step)

    def _written(self, kind: str, name: str | None = None, *, cursor: str | None = None) -> None:
        """Before reading ``kind:name`` (every row of ``kind`` when no name; a cursor's changes when ``cursor``):
        write what is deferred for it. Only for it: a write with several cursors open reads each one's rows after
        saving the one before, and those saves stay in the one transaction."""
        if not self._deferred:
            return
        for k, n in self._deferred_rows:
            if k == kind and (n == name if name is not None else cursor is None or n.partition(":")[0] == cursor):
                self._flush()
                return

    def _flush(self, *then: _Step) -> None:
        """The deferred steps, then ``then``, in one transaction; a failed one leaves the deferred ones to retry."""
        steps = [*(self._deferred or ()), *then]
        if not steps:
            return
        with self._state.transaction() as db:
            for step in steps:
                step(db)
        if self._deferred:
            self._deferred.clear()
            self._deferred_rows.clear()

    def _touch(self, kind: str, name: str, *, always: bool = False) -> None:
        """``kind:name`` was used again: its TTL starts over and it is the last of its kind to go.

        Unless ``always``, at most once per eighth of its TTL from this process: touching a row rewrites it, and a
        snapshot is every task (1.2 ms a write at 3k tasks, growing with them, when each write touched it). A
        snapshot may so expire up to an eighth of its TTL before an idle view of it. A view's record is small: it is
        touched with every change kept after it, so the newest cursors stay the ones carried to the next process."""
        state = self._state
        now = state.now()
        if not always and now - self._touched.get((kind, name), -math.inf) < _TTL[kind] / 8:
            return
        if len(self._touched) >= _TOUCHED_KEPT:  # a long session makes new snapshots: forget the stale entries
            self._touched = {key: at for key, at in self._touched.items() if now - at < _TTL[key[0]] / 8}
        self._touched[(kind, name)] = now

        def touch(db: sqlite3.Connection) -> None:
            db.execute(
                "UPDATE record SET expires = ?, ord = ? WHERE account = ? AND kind = ? AND name = ?",
                (state.now() + _TTL[kind], state.next_order(db), self._account, kind, name),
            )

        self._write(kind, name, touch)

    def _row(self, kind: str, name: str) -> Sealed | None:
        self._written(kind, name)
        rows = self._state.read(
            _ROWS.format("mac, data") + "AND name = ? AND expires > ?",
            (self._account, kind, name, self._state.now()),
        )
        return Sealed(bytes(rows[0][0]), bytes(rows[0][1])) if rows else None

    def _rows(self, kind: str) -> list[tuple[str, Sealed]]:
        """This account's live rows of ``kind``, oldest first."""
        self._written(kind)
        rows = self._state.read(
            _ROWS.format("name, mac, data") + "AND expires > ? ORDER BY ord",
            (self._account, kind, self._state.now()),
        )
        return [(str(name), Sealed(bytes(mac), bytes(body))) for name, mac, body in rows]

    def _delete(self, kind: str, name: str) -> None:
        # A pending batch deleted late is at worst sent again by a resend after a crash, which runs nothing twice.
        self._write(kind, name, self._deleting(kind, name))

    def _deleting(self, kind: str, name: str) -> _Step:
        def delete(db: sqlite3.Connection) -> None:
            db.execute("DELETE FROM record WHERE account = ? AND kind = ? AND name = ?", (self._account, kind, name))

        return delete

    def _read(self, kind: str, name: str, codec: Codec[_T, Any]) -> _T | None:
        """The record under ``kind:name``; None when there is none or it does not open (logged)."""
        sealed = self._row(kind, name)
        if sealed is None:
            return None
        try:
            return self._sealer.open(_slot(kind, name), codec, sealed)
        except Refused as exc:
            logger.warning("state: a record (%s) was not read: %s", kind, exc)
            return None

    # -- the contract (state/store.py) ----------------------------------------------------------------------------

    async def load_view(self, cursor: str) -> View | None:
        kept = self._views.get(cursor)
        if kept is not None and self._seals(cursor) == kept.seals:
            # The seals alone tell that no other process saved it since: its rows (every task the view saw apart
            # from its snapshot) are not read.
            self._views.move_to_end(cursor)
            return kept.view
        sealed = self._row("view", cursor)
        if sealed is None:
            return None
        try:
            record = self._sealer.open("view:" + cursor, VIEW, sealed)
            changes: list[ViewChangeRecord] = []
            newest: bytes | None = None
            change_bytes = 0
            for name, row in self._changes(cursor):
                changes.append(self._sealer.open("view_change:" + name, VIEW_CHANGE, row))
                newest = row.mac
                change_bytes += len(row.body)
        except Refused as exc:
            logger.warning("state: a cursor's view was not read: %s", exc)
            return None  # read as expired: query_changes starts afresh
        snapshot: Mapping[str, Item] | None = None
        if record.snapshot is not None:
            snapshot = self._snapshots.get(record.snapshot)
            if snapshot is None:
                snapshot = self._read("snap", record.snapshot, SNAPSHOT)
                if snapshot is None:
                    return None  # its snapshot expired or was evicted: so has the cursor
                self._snapshots.add(record.snapshot, snapshot)
        whole = applied(record, changes)
        view = joined(whole, snapshot)
        view.rebases = False
        assert isinstance(view.seen, SeenItems)
        view.seen.changes()  # from here, what it sees anew is recorded for the next save
        seals = (sealed.mac, newest)
        kept = _Kept(
            view, view.seen, record.snapshot, seals, whole.objects, len(changes), change_bytes, len(sealed.body)
        )
        self._keep(cursor, kept)
        return view

    async def save_view(self, cursor: str, view: View) -> None:
        view.rebases = False  # what it keeps apart from its snapshot is written as it changes (see View.rebases)
        kept = self._views.get(cursor)
        seen = view.seen
        if (
            kept is not None
            and kept.view is view
            and isinstance(seen, SeenItems)
            and seen is kept.seen  # not moved onto another snapshot since: what it saw anew is in seen.changes()
            and kept.changes < _MAX_VIEW_CHANGES
            and kept.change_bytes <= kept.record_bytes
        ):
            step, objects = change(view, seen, kept.objects)
            name = f"{cursor}:{secrets.token_hex(6)}"
            sealed = self._put("view_change", name, VIEW_CHANGE, step)
            self._touch("view", cursor, always=True)  # its TTL and place follow its changes', its snapshot's its own
            if kept.snapshot is not None:
                self._touch("snap", kept.snapshot)
            kept.seals = (kept.seals[0], sealed.mac)
            kept.objects = objects
            kept.changes += 1
            kept.change_bytes += len(sealed.body)
            self._views.move_to_end(cursor)
            return
        record, new = split(view, self._snapshots)
        if new is not None:
            name, snapshot = new
            self._put("snap", name, SNAPSHOT, snapshot)
            self._touched[("snap", name)] = self._state.now()
        elif record.snapshot is not None:
            self._touch("snap", record.snapshot)
        sealed = self._put("view", cursor, VIEW, record)
        low, high = _change_names(cursor)
        account = self._account

        def forget_changes(db: sqlite3.Connection) -> None:  # they are in the record now
            db.execute(
                "DELETE FROM record WHERE account = ? AND kind = 'view_change' AND name > ? AND name < ?",
                (account, low, high),
            )

        self._write("view_change", cursor, forget_changes)
        tracked = seen if isinstance(seen, SeenItems) else None
        if tracked is not None:
            tracked.changes()  # from here, what it sees anew is recorded for the next save
        kept = _Kept(view, tracked, record.snapshot, (sealed.mac, None), record.objects, 0, 0, len(sealed.body))
        self._keep(cursor, kept)

    def _keep(self, cursor: str, kept: _Kept) -> None:
        self._views[cursor] = kept
        self._views.move_to_end(cursor)
        while len(self._views) > _CACHED_VIEWS:
            self._views.popitem(last=False)

    def _seals(self, cursor: str) -> tuple[bytes | None, bytes | None]:
        """The seals of a cursor's record and of its newest change (None: none), in one query: it runs on every
        write with the cursor open."""
        low, high = _change_names(cursor)
        self._written("view", cursor)
        self._written("view_change", cursor=cursor)
        rows = self._state.read(
            "SELECT kind, mac FROM record WHERE account = ? AND (kind = 'view' AND name = ? OR kind = 'view_change' "
            "AND name > ? AND name < ?) AND expires > ? ORDER BY ord",
            (self._account, cursor, low, high, self._state.now()),
        )
        record = next((bytes(mac) for kind, mac in rows if kind == "view"), None)
        newest = next((bytes(mac) for kind, mac in reversed(rows) if kind == "view_change"), None)
        return record, newest

    def _changes(self, cursor: str) -> list[tuple[str, Sealed]]:
        """A cursor's changes kept after its record, oldest first."""
        low, high = _change_names(cursor)
        self._written("view_change", cursor=cursor)
        rows = self._state.read(
            _ROWS.format("name, mac, data") + "AND name > ? AND name < ? AND expires > ? ORDER BY ord",
            (self._account, "view_change", low, high, self._state.now()),
        )
        return [(str(name), Sealed(bytes(mac), bytes(body))) for name, mac, body in rows]

    def carried_cursors(self) -> list[str]:
        # A new process of the same client (a restarted stdio server, the next `call`): its writes are not news to
        # the cursors the last ones handed out.
        self._written("view")
        rows = self._state.read(
            "SELECT name FROM record WHERE account = ? AND kind = 'view' AND expires > ? ORDER BY ord DESC LIMIT ?",
            (self._account, self._state.now(), CARRIED_CURSORS),
        )
        return [str(row[0]) for row in reversed(rows)]

    async def pending(self) -> dict[str, PendingWrite]:
        batches = open_batches(self._sealer, self._rows("pending"))[0]
        for batch, sealed in self._rows("pending_outcome"):
            write = batches.get(batch)
            if write is None:
                continue  # its batch is gone (dropped, expired): it goes with its TTL
            try:
                write.outcome = self._sealer.open("pending_outcome:" + batch, PENDING_OUTCOME, sealed)
            except Refused:
                # The batch's own outcome is older: it counts fewer commands confirmed, and a resend of one confirmed
                # already (same uuid) is answered from the backend's record of it, not run again.
                logger.warning(
                    "state: the outcome kept for batch %s was not read; resending from the one before", batch
                )
        return batches

    async def unresumable(self) -> Unresumable:
        return named_refusals(open_batches(self._sealer, self._rows("pending"))[1])

    async def keep_pending(self, write: PendingWrite) -> None:
        new = not write.batch
        if new:
            held = await self.pending()
            if held:
                check_room(held, write)
            write.batch = new_batch_id()
        kept = self._batches.get(write.batch)
        if kept is not None and kept.still(write):
            # Between the requests of a long write only its outcome changes: the batch row stays as written.
            self._put("pending_outcome", write.batch, PENDING_OUTCOME, write.outcome)
            return
        # Whole, with the outcome so far: an outcome kept apart before (by this process or the one that started the
        # batch) is older and goes.
        stale = None if new else ("pending_outcome", write.batch)
        self._put("pending", write.batch, PENDING, write, keep_order=True, replacing=stale)
        self._batches[write.batch] = HeldParts.of(write)

    async def drop_pending(self, batch: str) -> None:
        self._batches.pop(batch, None)
        self._delete("pending", batch)
        self._delete("pending_outcome", batch)

    async def mint_write(self, record: UndoRecord) -> str:
        handle = new_write_handle()
        record.handle = handle
        self._put("write", handle, UNDO, record)
        return handle

    async def find_write(self, handle: str) -> UndoRecord | None:
        sealed = self._row("write", handle)
        if sealed is None:
            return None
        try:
            return self._sealer.open("write:" + handle, UNDO, sealed)
        except Refused as exc:
            raise write_refused(handle, exc) from None

    async def forget_write(self, handle: str) -> None:
        self._delete("write", handle)

    async def last_write(self) -> UndoRecord | None:
        last = self._read("last", "", LAST_WRITE)
        if not isinstance(last, str):
            return last
        try:
            return await self.find_write(last)
        except StateRefusal as exc:
            logger.warning("state: the last write was not read: %s", exc)
            return None

    async def keep_last_write(self, record: UndoRecord | None) -> None:
        if record is None:
            self._delete("last", "")
        else:  # with a handle: the record is kept under it (mint_write), and this names it
            self._put("last", "", LAST_WRITE, record.handle if record.handle is not None else record)

    async def removed_since(self, since: float) -> int:
        total = 0
        for name, sealed in self._rows("removal"):
            try:
                at, count = self._sealer.open("removal:" + name, REMOVAL, sealed)
            except Refused:
                continue  # unreadable: it counts for nothing, and expires
            if at > since:
                total += count
        return total

    async def add_removal(self, at: float, count: int) -> None:
        self._put("removal", new_removal_id(), REMOVAL, (at, count))

    def defer_writes(self) -> None:
        if self._deferred is None:
            self._deferred = []

    async def flush(self) -> None:
        try:
            self._flush()
        finally:
            self._deferred = None
            self._deferred_rows.clear()

    async def spend_request(self, now: float) -> None:
        return None  # one person's machine: Todoist's own limit answers 429, which the client waits out

    async def lock_writes(self, wait: float) -> Releaser:
        path = self._state.path.with_name(f"{self._state.path.name}.{self._account}.lock")
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        locked = False
        try:
            with anyio.move_on_after(max(wait, 0.05)):
                while True:
                    try:
                        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        locked = True
                        break
                    except BlockingIOError:
                        await anyio.sleep(0.05)  # held by another process of this account: its write is running
        finally:
            if not locked:
                os.close(fd)
        if not locked:
            raise WriteLockBusy()

        async def release() -> None:
            os.close(fd)  # closing the only descriptor of the open file releases its lock

        return release

    def oldest_view_version(self) -> int | None:
        return min((kept.view.version for kept in self._views.values()), default=None)

    def mirror_replaced(self) -> None:
        self._views.clear()  # cached views count versions of the mirror that went

    def local_views(self) -> OrderedDict[str, View] | None:
        return None

    async def lost(self) -> str | None:
        return None  # the file outlives the process; a deleted file is a fresh start the user chose

    # -- `tools-server call`'s mirror -----------------------------------------------------------------------------

    def load_mirror(self) -> tuple[Mirror, str] | None:
        return self._read("mirror", "", MIRROR)

    def save_mirror(self, mirror: Mirror, sync_token: str) -> None:
        self._put("mirror", "", MIRROR, (mirror, sync_token))
