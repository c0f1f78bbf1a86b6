"""Handles in Redis (``--state redis://HOST:PORT/DB``), shared by every replica: cursors, pending resend batches, undo
``write`` ids, removals counted for confirmation, a per-account write lock and a per-account request budget.

Each replica keeps its own mirror and catches up incrementally; a sync token stays with the replica whose mirror it
describes (it means nothing without that mirror), so what crosses replicas is what a client holds: handles.

Records go through the one codec (``state/records.py``): typed JSON, compressed, sealed with a key that needs both
the replicas' shared secret (``TOOLS_SERVER_STATE_SECRET``, never in Redis) and the account's token-derived secret
(never stored), and decoded only into declared types once the seal checks. So write access to Redis, even with a
Todoist account of one's own, cannot make a replica read a record it did not write. Records the earlier version left
(first byte ``b"\x01"``) are never decoded: a write handle says so when used, a pending batch is named by
``resend_writes`` as not resumable. Uses the ``redis`` client's asyncio API and its Lock (Lua-scripted acquire,
extend, release).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections import OrderedDict
from collections.abc import AsyncGenerator, Generator, Mapping
from contextlib import asynccontextmanager, contextmanager
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit, urlunsplit

import anyio
import redis.asyncio as aioredis
from anyio.abc import TaskGroup
from redis.exceptions import LockError, RedisError

from tools_server.cursors import View
from tools_server.plans import PendingWrite, UndoRecord, check_room
from tools_server.state.records import (
    BLOB_HEADER,
    MAC_SIZE,
    PENDING,
    REMOVAL,
    SNAPSHOT,
    UNDO,
    VIEW,
    Codec,
    Refused,
    Sealer,
    blob_mac,
    from_blob,
    to_blob,
)
from tools_server.state.store import (
    BATCH_ID,
    DEFAULT_ACCOUNT_REQUESTS,
    MAX_SNAPSHOTS,
    MAX_VIEWS_PER_ACCOUNT,
    MAX_WRITE_HANDLES,
    PENDING_SECONDS,
    REMOVAL_SECONDS,
    REQUEST_WINDOW_SECONDS,
    VIEW_SECONDS,
    WRITE_SECONDS,
    BudgetSpent,
    Releaser,
    StateRefusal,
    Unresumable,
    WriteLockBusy,
    new_batch_id,
    new_removal_id,
    new_write_handle,
    window_of,
    write_refused,
)
from tools_server.state.views import Snapshots, joined, split
from tools_server.sync.commands import Item

logger = logging.getLogger(__name__)

SCHEMES = ("redis", "rediss", "unix")
DEFAULT_LOCK_SECONDS = 15.0
# A random value set once in an empty Redis (expiring after every pending batch would): gone or different later,
# Redis lost what it held (``RedisState.lost``).
GENERATION_KEY = "ts:generation"
_CACHED_VIEWS = 8  # per account on this replica: a client that stays on one replica skips decoding its view


class StateUnavailable(StateRefusal):
    """Redis did not answer: nothing was sent for this call's unanswered step."""

    def __init__(self) -> None:
        super().__init__("the shared state store (Redis) is unreachable; try again shortly")


def masked(url: str) -> str:
    """``url`` without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


@contextmanager
def _answered() -> Generator[None]:
    try:
        yield
    except RedisError as exc:
        logger.warning("state store error: %s", type(exc).__name__)
        raise StateUnavailable() from exc


_T = TypeVar("_T")


def _earlier_seal_checks(token_secret: bytes, blob: bytes) -> bool:
    """Whether a record of the earlier format was sealed for this account (that format's key was the token-derived
    secret alone). Only its seal is checked: its body is never decoded."""
    mac, body = blob[1 : 1 + MAC_SIZE], blob[1 + MAC_SIZE :]
    return hmac.compare_digest(mac, hmac.new(token_secret, body, hashlib.sha256).digest())


class RedisAccount:
    """One account's handles in Redis, under ``ts:<fingerprint>:``."""

    def __init__(self, state: RedisState, fingerprint: str, secret: bytes) -> None:
        self._state = state
        # redis-py's own annotations are partly unknown to pyright (its commands return sync-or-async unions); the
        # replies are read into declared types below.
        self._r: Any = state.redis
        self._prefix = f"ts:{fingerprint}:"
        self._token_secret = secret  # only to recognise this account's records of the earlier format
        self._sealer = Sealer(state.secret, secret)
        self._views: OrderedDict[str, tuple[bytes, View]] = OrderedDict()  # cursor -> (seal mac, view)
        self._snapshots = Snapshots()

    def _key(self, name: str) -> str:
        return self._prefix + name

    def _seal(self, slot: str, codec: Codec[_T, Any], value: _T) -> bytes:
        """``value`` as stored under the key named ``slot``."""
        return to_blob(self._sealer.seal(slot, codec, value))

    def _opened(self, slot: str, codec: Codec[_T, Any], blob: bytes) -> _T:
        """The value stored under ``slot``; Refused, saying why, when it is not one this replica may read."""
        try:
            return self._sealer.open(slot, codec, from_blob(blob))
        except Refused as exc:
            if exc.why == "earlier" and not _earlier_seal_checks(self._token_secret, blob):
                raise Refused("seal") from None  # not even the earlier version wrote it for this account
            raise

    def _open(self, slot: str, codec: Codec[_T, Any], blob: bytes) -> _T:
        """As ``_opened``, a refusal logged."""
        try:
            return self._opened(slot, codec, blob)
        except Refused as exc:
            logger.warning("state store: a record (%s) was not read: %s", slot.partition(":")[0], exc)
            raise

    def _read(self, slot: str, codec: Codec[_T, Any], blob: bytes | None) -> _T | None:
        """As ``_open``, a missing or refused record as None (an expired cursor, say)."""
        if blob is None:
            return None
        try:
            return self._open(slot, codec, blob)
        except Refused:
            return None

    async def _next(self) -> int:
        """A number larger than any this account's records got before, on any replica: their order (clocks of two
        machines, or two calls within one clock tick, would not order them)."""
        key = self._key("order")
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, PENDING_SECONDS)
            number, _ = await pipe.execute()
        return int(number)

    async def _touch_capped(self, kind: str, name: str, ttl: int) -> None:
        """``<kind>:<name>`` was used again: its TTL starts over and it is the last to go."""
        index = self._key(kind + "s")
        with _answered():
            order = await self._next()
            async with self._r.pipeline(transaction=True) as pipe:
                pipe.expire(self._key(f"{kind}:{name}"), ttl)
                pipe.zadd(index, {name: order})
                pipe.expire(index, ttl)
                await pipe.execute()

    async def _put_capped(self, kind: str, name: str, blob: bytes, ttl: int, cap: int) -> None:
        """Store ``<kind>:<name>`` with a TTL; past ``cap`` records of the kind, the least recently put go (an index
        ``<kind>s`` of names by time)."""
        index = self._key(kind + "s")
        with _answered():
            order = await self._next()
            async with self._r.pipeline(transaction=True) as pipe:
                pipe.set(self._key(f"{kind}:{name}"), blob, ex=ttl)
                pipe.zadd(index, {name: order})
                pipe.expire(index, ttl)
                await pipe.execute()
            extra: int = await self._r.zcard(index) - cap
            if extra > 0:
                for old, _score in await self._r.zpopmin(index, extra):
                    await self._r.delete(self._key(f"{kind}:{old.decode()}"))

    async def load_view(self, cursor: str) -> View | None:
        key = self._key("view:" + cursor)
        with _answered():
            cached = self._views.get(cursor)
            if cached is not None:
                head: bytes = await self._r.getrange(key, 1, MAC_SIZE)
                if head == cached[0]:
                    self._views.move_to_end(cursor)
                    return cached[1]
            blob: bytes | None = await self._r.get(key)
        # An earlier version's view, or one that does not open, reads as expired: query_changes starts afresh.
        record = self._read("view:" + cursor, VIEW, blob)
        if record is None:
            return None
        snapshot: Mapping[str, Item] | None = None
        if record.snapshot is not None:
            snapshot = self._snapshots.get(record.snapshot)
            if snapshot is None:
                slot = "snap:" + record.snapshot
                with _answered():
                    stored: bytes | None = await self._r.get(self._key(slot))
                snapshot = self._read(slot, SNAPSHOT, stored)
                if snapshot is None:
                    return None  # its snapshot expired or was evicted: so has the cursor
                self._snapshots.add(record.snapshot, snapshot)
        return joined(record, snapshot)

    async def save_view(self, cursor: str, view: View) -> None:
        record, new = split(view, self._snapshots)
        if new is not None:
            name, snapshot = new
            blob = self._seal("snap:" + name, SNAPSHOT, snapshot)
            await self._put_capped("snap", name, blob, VIEW_SECONDS, MAX_SNAPSHOTS)
        elif record.snapshot is not None:
            await self._touch_capped("snap", record.snapshot, VIEW_SECONDS)
        blob = self._seal("view:" + cursor, VIEW, record)
        await self._put_capped("view", cursor, blob, VIEW_SECONDS, MAX_VIEWS_PER_ACCOUNT)
        self._views[cursor] = (blob_mac(blob), view)
        self._views.move_to_end(cursor)
        while len(self._views) > _CACHED_VIEWS:
            self._views.popitem(last=False)

    def mirror_replaced(self) -> None:
        self._views.clear()  # cached views count versions of the mirror that went

    async def _pending_blobs(self) -> list[tuple[str, bytes]]:
        with _answered():
            order: list[bytes] = await self._r.zrange(self._key("pending_order"), 0, -1)
            if not order:
                return []
            blobs: list[bytes | None] = await self._r.hmget(self._key("pending"), order)
        return [(name.decode(errors="replace"), blob) for name, blob in zip(order, blobs, strict=True) if blob]

    async def pending(self) -> dict[str, PendingWrite]:
        found: dict[str, PendingWrite] = {}
        for batch, blob in await self._pending_blobs():
            try:
                found[batch] = self._open("pending:" + batch, PENDING, blob)
            except Refused:
                continue  # named by unresumable(), for resend_writes to report
        return found

    async def unresumable(self) -> Unresumable:
        refused: Unresumable = {}
        for batch, blob in await self._pending_blobs():
            try:
                self._opened("pending:" + batch, PENDING, blob)
                continue
            except Refused as exc:
                why = exc
            logger.warning("state store: pending batch %r cannot be resumed: %s", batch[:40], why)
            if BATCH_ID.fullmatch(batch):
                refused[batch] = str(why)
        return refused

    async def keep_pending(self, write: PendingWrite) -> None:
        first = not write.batch
        if first:
            with _answered():
                held: int = await self._r.hlen(self._key("pending"))
            if held:
                check_room(await self.pending(), write)
            write.batch = new_batch_id()
        blob = self._seal("pending:" + write.batch, PENDING, write)
        with _answered():
            order = await self._next() if first else 0
            async with self._r.pipeline(transaction=True) as pipe:
                pipe.hset(self._key("pending"), write.batch, blob)
                if first:
                    pipe.zadd(self._key("pending_order"), {write.batch: order})
                for name in ("pending", "pending_order"):
                    pipe.expire(self._key(name), PENDING_SECONDS)
                # The marker outlives every batch kept: gone while this replica runs, Redis lost them (``lost``).
                pipe.expire(GENERATION_KEY, PENDING_SECONDS)
                await pipe.execute()

    async def drop_pending(self, batch: str) -> None:
        with _answered():
            async with self._r.pipeline(transaction=True) as pipe:
                pipe.hdel(self._key("pending"), batch)
                pipe.zrem(self._key("pending_order"), batch)
                await pipe.execute()

    async def mint_write(self, record: UndoRecord) -> str:
        handle = new_write_handle()
        record.handle = handle
        blob = self._seal("write:" + handle, UNDO, record)
        await self._put_capped("write", handle, blob, WRITE_SECONDS, MAX_WRITE_HANDLES)
        return handle

    async def find_write(self, handle: str) -> UndoRecord | None:
        with _answered():
            blob: bytes | None = await self._r.get(self._key("write:" + handle))
        if blob is None:
            return None
        try:
            return self._open("write:" + handle, UNDO, blob)
        except Refused as exc:
            raise write_refused(handle, exc) from None

    async def forget_write(self, handle: str) -> None:
        with _answered():
            await self._r.delete(self._key("write:" + handle))
            await self._r.zrem(self._key("writes"), handle)

    async def last_write(self) -> UndoRecord | None:
        return None  # shared by every client of the account: each session keeps its own

    async def keep_last_write(self, record: UndoRecord | None) -> None:
        return None

    async def lost(self) -> str | None:
        return await self._state.lost()

    async def removed_since(self, since: float) -> int:
        with _answered():
            await self._r.zremrangebyscore(self._key("removals"), "-inf", since)
            members: list[bytes] = await self._r.zrange(self._key("removals"), 0, -1)
        total = 0
        for member in members:
            # "<id>:<record>": the id names the record's slot, so a record counts only under its own id.
            name, _, blob = member.partition(b":")
            if name.isdigit() and not blob.startswith(BLOB_HEADER):
                # The earlier version's "<count>:<random>", a plain number: counted, so an upgrade does not reopen
                # the confirmation window (a forged one could only ask for more confirmation, never less).
                total += int(name)
                continue
            removal = self._read("removal:" + name.decode(errors="replace"), REMOVAL, blob)
            if removal is not None and removal[0] > since:  # the record's own time, not the score anyone may set
                total += removal[1]
        return total

    async def add_removal(self, at: float, count: int) -> None:
        name = new_removal_id()
        member = name.encode() + b":" + self._seal("removal:" + name, REMOVAL, (at, count))
        with _answered():
            await self._r.zadd(self._key("removals"), {member: at})
            await self._r.expire(self._key("removals"), REMOVAL_SECONDS)

    async def spend_request(self, now: float) -> None:
        index, left = window_of(now)
        key = self._key(f"requests:{index}")
        with _answered():
            async with self._r.pipeline(transaction=True) as pipe:
                pipe.incr(key)
                pipe.expire(key, int(REQUEST_WINDOW_SECONDS) + 60)
                used, _ = await pipe.execute()
        if int(used) > self._state.account_requests:
            raise BudgetSpent(self._state.account_requests, left)

    async def lock_writes(self, wait: float) -> Releaser:
        lease = self._state.lock_seconds
        lock = self._r.lock(
            self._key("lock"), timeout=lease, sleep=0.05, blocking_timeout=max(wait, 0.05), thread_local=False
        )
        with _answered():
            if not await lock.acquire():
                raise WriteLockBusy()
        done = anyio.Event()
        self._state.renewals.start_soon(_renew, lock, lease, done)

        async def release() -> None:
            done.set()
            try:
                await lock.release()
            except LockError:
                logger.warning("state store: a write lock expired before its call ended (lease too short?)")
            except RedisError:
                logger.warning("state store: could not release a write lock; it expires by itself")

        return release

    def oldest_view_version(self) -> int | None:
        return min((view.version for _, view in self._views.values()), default=None)

    def carried_cursors(self) -> list[str]:
        return []  # shared by every client of the account

    def defer_writes(self) -> None:
        return None  # each step is already one round trip (a pipeline where it has several commands)

    async def flush(self) -> None:
        return None

    def local_views(self) -> OrderedDict[str, View] | None:
        return None


async def _renew(lock: Any, lease: float, done: anyio.Event) -> None:
    """Extend the lease every third of it while the call runs; a killed replica stops renewing and the lock frees."""
    while not done.is_set():
        with anyio.move_on_after(lease / 3):
            await done.wait()
        if done.is_set():
            return
        try:
            await lock.reacquire()
        except (LockError, RedisError):
            logger.warning("state store: could not renew a write lock")
            return


class RedisState:
    """The shared store: one ``RedisAccount`` per account this replica has seen (few bytes each, bounded)."""

    def __init__(
        self,
        redis: aioredis.Redis,
        renewals: TaskGroup,
        *,
        secret: bytes,
        lock_seconds: float = DEFAULT_LOCK_SECONDS,
        account_requests: int = DEFAULT_ACCOUNT_REQUESTS,
    ) -> None:
        self.redis = redis
        self.renewals = renewals
        self.secret = secret  # the replicas' shared half of every seal (TOOLS_SERVER_STATE_SECRET); never stored
        self.lock_seconds = lock_seconds
        self.account_requests = account_requests
        self._accounts: OrderedDict[str, RedisAccount] = OrderedDict()
        self._generation: bytes | None = None  # the marker this replica found at start (see ``lost``)
        self._lost = False

    async def mark(self) -> None:
        """Note the store's generation marker, setting one if it has none: a later ``lost`` compares with it."""
        client: Any = self.redis
        with _answered():
            await client.set(GENERATION_KEY, secrets.token_hex(8), nx=True, ex=PENDING_SECONDS)
            self._generation = await client.get(GENERATION_KEY)

    async def lost(self) -> str | None:
        """Redis came back without the marker this replica saw at start (restarted without persistence, flushed,
        failed over to an empty replica): what it held then, pending batches included, is gone. Said on this replica
        from then on; the marker is set again so a later loss is noticed too."""
        client: Any = self.redis
        with _answered():
            now: bytes | None = await client.get(GENERATION_KEY)
        if self._generation is not None and now != self._generation:
            self._lost = True
            await self.mark()
        if not self._lost:
            return None
        return (
            "the shared state store (Redis) lost its data since this server started (it came back empty: restarted "
            "without persistence, or flushed), so writes left unconfirmed before then may have been lost"
        )

    def account(self, fingerprint: str, secret: bytes) -> RedisAccount:
        account = self._accounts.get(fingerprint)
        if account is None:
            account = self._accounts[fingerprint] = RedisAccount(self, fingerprint, secret)
            while len(self._accounts) > 4096:
                self._accounts.popitem(last=False)
        self._accounts.move_to_end(fingerprint)
        return account


async def persistence_warning(client: aioredis.Redis) -> str | None:
    """What to warn about at start when Redis would lose pending batches on a restart: no append-only file (RDB
    snapshots alone lose the writes since the last one), or no way to tell (CONFIG refused, as on some managed
    services)."""
    ask: Any = client
    try:
        appendonly: dict[Any, Any] = await ask.config_get("appendonly")
        save: dict[Any, Any] = await ask.config_get("save")
    except RedisError as exc:
        return (
            f"cannot check its persistence (CONFIG GET refused: {type(exc).__name__}); pending resend batches "
            "survive a Redis restart only with the append-only file on (appendonly yes, appendfsync everysec or always)"
        )
    aof = _config_value(appendonly, "appendonly")
    if aof == "yes":
        return None
    snapshots = _config_value(save, "save")
    kept = f"only RDB snapshots (save {snapshots!r}) lose what changed since the last one" if snapshots else "nothing"
    return (
        f"its persistence is off (appendonly {aof}; {kept} survives a restart): a Redis restart loses pending resend "
        "batches and handles. Set appendonly yes (appendfsync everysec or always) for the guarantee"
    )


def _config_value(reply: Mapping[Any, Any], name: str) -> str:
    for key, value in reply.items():
        if (key.decode() if isinstance(key, bytes) else str(key)) == name:
            return value.decode() if isinstance(value, bytes) else str(value)
    return ""


class StateUnreachable(Exception):
    """Redis did not answer PING at start-up."""


async def connect(url: str) -> aioredis.Redis:
    """A client for ``url``, checked with one PING; StateUnreachable (naming the URL without a password) if not."""
    client: aioredis.Redis = cast(Any, aioredis.Redis).from_url(url, socket_connect_timeout=5, socket_timeout=10)
    try:
        await cast(Any, client).ping()
    except (RedisError, OSError) as exc:
        await client.aclose()
        raise StateUnreachable(f"the state store {masked(url)} cannot be reached ({type(exc).__name__})") from exc
    return client


@asynccontextmanager
async def redis_state(
    client: aioredis.Redis,
    *,
    secret: bytes,
    lock_seconds: float = DEFAULT_LOCK_SECONDS,
    account_requests: int = DEFAULT_ACCOUNT_REQUESTS,
) -> AsyncGenerator[RedisState]:
    """The shared store over a connected client (closed after); lock renewals run in its own task group. ``secret``:
    the server half of the records' seals, the same on every replica."""
    async with anyio.create_task_group() as renewals:
        state = RedisState(
            client, renewals, secret=secret, lock_seconds=lock_seconds, account_requests=account_requests
        )
        try:
            await state.mark()
            yield state
        finally:
            renewals.cancel_scope.cancel()
            with anyio.CancelScope(shield=True):
                await client.aclose()
