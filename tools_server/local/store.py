"""The local Sync engine: one SQLite database that answers Sync requests as Todoist does (reference §9). No HTTP here.

A request runs in one transaction: its commands in order, each inside a savepoint so it succeeds or fails alone, then
the read, then COMMIT, and only then is the response returned (durable before the client hears "ok"). Every change
is stamped with the request's sequence number; a sync token is that number (plus the database's id, so a token from
another database means "start over"), and an incremental sync is "every object stamped after it".

Command uuids are kept with their outcome for ``UUID_RETENTION_DAYS``: a replay returns the stored status and
temp_id mapping and executes nothing, which is what makes client retries safe. Failed outcomes are kept too, so a
retried batch gets the same answer it would have got the first time.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import os
import sqlite3
import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, TypeVar

from tools_server.clock import utc_now
from tools_server.local import activity, uploads
from tools_server.local.account import (
    LocalAccount,
    add_accounts,
    add_owner_column,
    check_settings,
    create_account,
    token_digest,
    update_account,
)
from tools_server.local.args import ACCEPT_CLIENT_DUE_SHAPES, MAX_COMMANDS_PER_REQUEST
from tools_server.local.commands import HANDLERS
from tools_server.local.commands.sharing import resync_since
from tools_server.local.errors import CommandError, RequestError, invalid_argument, limits_reached, request_invalid
from tools_server.local.reads import RESOURCE_TYPES, read_resources
from tools_server.local.tx import SCHEMA, Tx, random_id, rebuild_commands

UUID_RETENTION_DAYS = 30
T = TypeVar("T")


@dataclass(frozen=True)
class RateLimit:
    """Todoist's published budget per token (reference §5): 1000 partial and 100 full syncs per 15 minutes."""

    partial: int = 1000
    full: int = 100
    window_seconds: float = 900.0


@dataclass(frozen=True)
class Reply:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict[str, str])


@dataclass(frozen=True)
class _Request:
    commands: list[dict[str, Any]]
    sync_token: str | None
    resource_types: list[str]


class SyncStore:
    """Thread-safe (one lock per store); several processes may share the file (SQLite locking, WAL)."""

    def __init__(
        self,
        path: str = ":memory:",
        *,
        now: Callable[[], datetime] = utc_now,
        new_id: Callable[[], str] = random_id,
        rate_limit: RateLimit | None = None,
        synchronous: Literal["NORMAL", "FULL"] = "NORMAL",
        user_timezone: str | None = None,
        start_day: int | None = None,
        accept_client_due_shapes: bool = ACCEPT_CLIENT_DUE_SHAPES,
        new_account_timezone: str = "UTC",
        accounts: Sequence[LocalAccount] = (),
    ) -> None:
        """``user_timezone`` (IANA) and ``start_day`` (1 = Monday) configure the first account: on a new database they
        are its settings (default ``new_account_timezone``, Monday), on an existing one they replace the stored ones;
        None keeps them. The console script passes the machine's zone as ``new_account_timezone``.

        ``accounts`` are more accounts in the same store, each known by its token (created on first sight, with
        ``new_account_timezone`` and Monday); a request bearing any other token is the first account's."""
        check_settings(user_timezone, start_day)
        check_settings(new_account_timezone, None)
        self._new_account_timezone = new_account_timezone
        self._now = now
        self._accept_client_due_shapes = accept_client_due_shapes
        self._new_id = new_id
        self._rate_limit = rate_limit
        self._recent: dict[str, deque[tuple[float, bool]]] = {}
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30.0)
        if path != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
        # Either way a request commits before its response exists. With WAL, NORMAL survives any crash of this
        # process (the WAL is written before COMMIT returns) but skips the fsync per commit, which costs more than
        # all the other work of a 100-command batch; FULL (TOOLS_SERVER_DB_SYNC=full) also survives power loss.
        self._db.execute(f"PRAGMA synchronous={synchronous}")
        # 64 MiB of page cache: indexes of a 100k-task account stay in memory, so writes do not slow as it grows.
        self._db.execute("PRAGMA cache_size=-65536")
        self._db.executescript(SCHEMA)
        rebuild_commands(self._db)
        self._db.executescript(activity.SCHEMA)
        self._db.executescript(uploads.SCHEMA)
        activity.add_initiator_column(self._db)
        self._initialise(user_timezone, start_day, accounts)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- public entry points ------------------------------------------------------------------------------------------

    def handle(self, request: Mapping[str, Any], *, token: str = "") -> Reply:
        """One Sync request (already decoded from JSON or form fields) -> status and JSON body."""
        try:
            parsed = _parse_request(request)
            self._check_rate(token, parsed.sync_token in (None, "*") and bool(parsed.resource_types))
            return Reply(200, self._run(parsed, token))
        except RequestError as exc:
            return Reply(exc.status, exc.body, exc.headers)

    def sync(
        self,
        *,
        commands: Sequence[dict[str, Any]] = (),
        sync_token: str | None = None,
        resource_types: Sequence[str] = (),
        token: str = "",
    ) -> dict[str, Any]:
        """Direct access for benchmarks and tests: the response body, or RequestError for a refused request."""
        request: dict[str, Any] = {"commands": list(commands), "resource_types": list(resource_types)}
        if sync_token is not None:
            request["sync_token"] = sync_token
        parsed = _parse_request(request)
        return self._run(parsed, token)

    def read(self, query: Callable[[sqlite3.Connection, datetime, dict[str, str]], T], *, token: str = "") -> T:
        """Run a read-only query (e.g. a REST read) on one consistent snapshot, with the store's clock and the
        settings of the token's account (``account_meta``)."""
        with self._lock:
            self._db.execute("BEGIN")
            try:
                return query(self._db, self._now(), self._account_meta(self._meta(), token))
            finally:
                self._db.execute("ROLLBACK")

    def write(self, change: Callable[[sqlite3.Connection, datetime], T]) -> T:
        """Run a change outside the Sync protocol (an upload) in one transaction, with the store's clock."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                result = change(self._db, self._now())
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
            return result

    # -- internals ----------------------------------------------------------------------------------------------------

    def _initialise(self, timezone: str | None, start_day: int | None, accounts: Sequence[LocalAccount]) -> None:
        """First open: the database id, the user and their Inbox. Later opens: complete old objects, apply the
        settings given, forget uuids past retention. Either: the accounts given besides the first."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                add_owner_column(self._db)
                meta = self._meta()
                if "db_id" not in meta:
                    create_account(
                        self._db, self._now(), self._new_id, timezone or self._new_account_timezone, start_day or 1
                    )
                else:
                    update_account(self._db, meta, timezone, start_day)
                if accounts:
                    add_accounts(self._db, self._now(), self._new_id, accounts, self._new_account_timezone)
                cutoff = self._now().timestamp() - UUID_RETENTION_DAYS * 86400
                self._db.execute("DELETE FROM commands WHERE at < ?", (cutoff,))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def _meta(self) -> dict[str, str]:
        return dict(self._db.execute("SELECT key, value FROM meta").fetchall())

    def _account_meta(self, meta: dict[str, str], token: str) -> dict[str, str]:
        """``meta`` as the token's account sees it: its user id, timezone, week start and Inbox (read per request,
        inside its transaction, so a process that opened the file earlier still tells the accounts apart)."""
        row = self._db.execute(
            "SELECT user_id, timezone, start_day, inbox_project_id FROM accounts WHERE token_digest = ?",
            (token_digest(token),),
        ).fetchone()
        if row is None:
            return meta
        return {**meta, "user_id": row[0], "timezone": row[1], "start_day": str(row[2]), "inbox_project_id": row[3]}

    def _check_rate(self, token: str, full: bool) -> None:
        limit = self._rate_limit
        if limit is None:
            return
        now = self._now().timestamp()
        with self._lock:
            recent = self._recent.setdefault(token, deque())
            while recent and recent[0][0] <= now - limit.window_seconds:
                recent.popleft()
            same_kind = [t for t, was_full in recent if was_full == full]
            if len(same_kind) >= (limit.full if full else limit.partial):
                # The oldest request in the window frees a slot when it leaves it; a zero budget never frees one.
                oldest = same_kind[0] if same_kind else now
                wait = max(1, math.ceil(oldest + limit.window_seconds - now))
                raise limits_reached(wait, os.urandom(8).hex())
            recent.append((now, full))

    def _run(self, request: _Request, token: str) -> dict[str, Any]:
        with self._lock:
            # Writers take the lock up front so two processes cannot interleave; readers get a WAL snapshot.
            self._db.execute("BEGIN IMMEDIATE" if request.commands else "BEGIN")
            try:
                body = self._process(request, token)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return body

    def _process(self, request: _Request, token: str) -> dict[str, Any]:
        meta = self._account_meta(self._meta(), token)
        seq = int(meta["seq"])
        tx = Tx(self._db, seq + 1, self._now(), self._new_id, meta)
        tx.accept_client_due_shapes = self._accept_client_due_shapes
        statuses: dict[str, Any] = {}
        mapping: dict[str, str] = {}
        known = self._known_uuids([c["uuid"] for c in request.commands])
        for command in request.commands:
            self._command(tx, command, statuses, mapping, known)
        activity.write_events(tx)
        if tx.changed:
            seq += 1
            self._db.execute("UPDATE meta SET value = ? WHERE key = 'seq'", (str(seq),))
        body: dict[str, Any] = {}
        if request.commands:
            body["sync_status"] = statuses
            body["temp_id_mapping"] = mapping
        body.update(self._read(request, meta, seq, tx.now))
        return body

    def _known_uuids(self, uuids: list[str]) -> dict[str, tuple[str, str | None, str | None]]:
        """Stored outcomes of the uuids in this request that ran before (one query, not one per command)."""
        if not uuids:
            return {}
        marks = ",".join("?" * len(uuids))
        rows = self._db.execute(f"SELECT uuid, status, temp_id, object_id FROM commands WHERE uuid IN ({marks})", uuids)
        return {row[0]: (row[1], row[2], row[3]) for row in rows}

    def _command(
        self,
        tx: Tx,
        command: dict[str, Any],
        statuses: dict[str, Any],
        mapping: dict[str, str],
        known: dict[str, tuple[str, str | None, str | None]],
    ) -> None:
        uuid: str = command["uuid"]
        stored = known.get(uuid)
        if stored is None and uuid in statuses:
            # The same uuid twice in one request: the second is a replay of the first.
            stored = self._db.execute(
                "SELECT status, temp_id, object_id FROM commands WHERE uuid = ?", (uuid,)
            ).fetchone()
        if stored is not None:
            statuses[uuid] = json.loads(stored[0])
            temp_id_done, object_id = stored[1], stored[2]
            if temp_id_done is not None and object_id is not None:
                mapping[temp_id_done] = tx.temp_ids[temp_id_done] = object_id
            return
        kind = command["type"]
        # Only a creating handler returns an id; a temp_id on any other command (the docs attach some) is ignored.
        temp_id = command.get("temp_id")
        status: Any = "ok"
        created: str | None = None
        self._db.execute("SAVEPOINT command")
        tx.begin_command()
        try:
            handler = HANDLERS.get(kind)
            if handler is None:
                raise invalid_argument("type", f"unknown command type {kind!r}; supported: {', '.join(HANDLERS)}")
            args = command.get("args", {})
            if not isinstance(args, dict):
                raise invalid_argument("args", "must be an object")
            _check_numbers(args)  # pyright: ignore[reportUnknownArgumentType]
            old = activity.before(tx, kind, args)  # pyright: ignore[reportUnknownArgumentType]
            try:
                created = handler(tx, args)  # pyright: ignore[reportUnknownArgumentType]
            except OverflowError:  # a number no check above foresaw, too big for SQLite: this command fails alone
                raise invalid_argument("args", "a number is out of range") from None
            activity.record(tx, kind, args, created, old)  # pyright: ignore[reportUnknownArgumentType]
        except CommandError as exc:
            self._db.execute("ROLLBACK TO command")
            status = exc.body
            created = None
        self._db.execute("RELEASE command")
        if isinstance(temp_id, str) and created is not None:
            mapping[temp_id] = tx.temp_ids[temp_id] = created
        else:
            temp_id = None
        self._db.execute(
            "INSERT INTO commands (uuid, status, temp_id, object_id, at) VALUES (?, ?, ?, ?, ?)",
            (uuid, json.dumps(status), temp_id, created, tx.now.timestamp()),
        )
        statuses[uuid] = status

    def _read(self, request: _Request, meta: dict[str, str], seq: int, now: datetime) -> dict[str, Any]:
        # A sync token is the account's own: another account's token (or the first's) means "start over".
        key = meta["db_id"] if meta["user_id"] == self._meta()["user_id"] else f"{meta['db_id']}.{meta['user_id']}"
        since = _decode_token(request.sync_token, key, seq)
        if since is not None and _joined_or_left(self._db, meta["user_id"], since):
            # Projects came or went whole: a full sync is the one answer that adds or drops all they hold.
            since = None
        body: dict[str, Any] = {"sync_token": _encode_token(key, seq), "full_sync": since is None}
        if since is None:
            body["full_sync_date_utc"] = now.strftime("%Y-%m-%dT%H:%M:%SZ")
        body.update(read_resources(self._db, request.resource_types, since, meta, now))
        return body


def _joined_or_left(db: sqlite3.Connection, user_id: str, since: int) -> bool:
    """Whether the projects the user sees changed after ``since``: their membership of someone else's project
    (invited, joined, removed), or tasks moved between a project they see and one they do not."""
    if resync_since(db, user_id) > since:
        return True
    row = db.execute(
        "SELECT 1 FROM objects WHERE kind = 'collaborator_state' AND seq > ? AND json_extract(data, '$.user_id') = ?"
        " AND project_id NOT IN (SELECT id FROM objects WHERE kind = 'project' AND owner = ?) LIMIT 1",
        (since, user_id, user_id),
    ).fetchone()
    return row is not None


# ---------------------------------------------------------------------------------------------------------------------
# Pure helpers: request validation and sync tokens

# Integers a JSON client can represent exactly; also far inside SQLite's 64-bit INTEGER, so arithmetic cannot overflow.
MAX_SAFE_INTEGER = 2**53 - 1


def _check_numbers(value: Any, where: str = "") -> None:
    """Refuse an argument holding an integer outside ±(2^53-1) or a non-finite number, naming the argument."""
    if isinstance(value, bool):
        return
    if isinstance(value, int) and abs(value) > MAX_SAFE_INTEGER:
        raise invalid_argument(where or "args", f"out of range: integers are at most {MAX_SAFE_INTEGER} in size")
    if isinstance(value, float) and not math.isfinite(value):
        raise invalid_argument(where or "args", "must be a finite number")
    if isinstance(value, dict):
        for key, item in value.items():  # pyright: ignore[reportUnknownVariableType]
            _check_numbers(item, f"{where}.{key}" if where else str(key))  # pyright: ignore[reportUnknownArgumentType]
    elif isinstance(value, list):
        for position, item in enumerate(value):  # pyright: ignore[reportUnknownVariableType, reportUnknownArgumentType]
            _check_numbers(item, f"{where}.{position}" if where else str(position))


def _parse_request(request: Mapping[str, Any]) -> _Request:
    commands: Any = request.get("commands") or []
    if not isinstance(commands, list):
        raise request_invalid("commands", "must be a JSON array of commands")
    if len(commands) > MAX_COMMANDS_PER_REQUEST:  # pyright: ignore[reportUnknownArgumentType]
        raise request_invalid(
            "commands", f"at most {MAX_COMMANDS_PER_REQUEST} commands per request", max_count=MAX_COMMANDS_PER_REQUEST
        )
    checked: list[dict[str, Any]] = []
    for position, command in enumerate(commands):  # pyright: ignore[reportUnknownVariableType, reportUnknownArgumentType]
        if not isinstance(command, dict):
            raise request_invalid("commands", f"command {position} is not an object")
        uuid = command.get("uuid")  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
        kind = command.get("type")  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
        if not isinstance(uuid, str) or not uuid:
            raise request_invalid("commands", f"command {position} has no uuid")
        if not isinstance(kind, str) or not kind:
            raise request_invalid("commands", f"command {position} has no type")
        checked.append(command)  # pyright: ignore[reportUnknownArgumentType]
    token = request.get("sync_token")
    if token is not None and not isinstance(token, str):
        raise request_invalid("sync_token", "must be a string")
    return _Request(checked, token, _resource_types(request.get("resource_types")))


def _resource_types(raw: Any) -> list[str]:
    """Requested types this backend keeps: 'all' selects all, '-name' excludes; unknown names are ignored."""
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):  # pyright: ignore[reportUnknownVariableType]
        raise request_invalid("resource_types", "must be a JSON array of strings")
    names: list[str] = raw  # pyright: ignore[reportUnknownVariableType]
    wanted = [t for t in RESOURCE_TYPES if "all" in names or t in names]
    return [t for t in wanted if f"-{t}" not in names]


def _encode_token(db_id: str, seq: int) -> str:
    return base64.urlsafe_b64encode(f"{db_id}:{seq}".encode()).rstrip(b"=").decode()


def _decode_token(token: str | None, db_id: str, current: int) -> int | None:
    """The sequence a token stands for, or None for a full sync ('*', unreadable, another database's, or ahead)."""
    if token is None or token == "*":
        return None
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        token_db, seq_text = text.split(":")
        seq = int(seq_text)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    if token_db != db_id or not 0 <= seq <= current:
        return None
    return seq
