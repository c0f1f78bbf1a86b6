"""Handles in Redis (``--state redis://HOST:PORT/DB``), shared by every replica: cursors, pending resend batches, undo
``write`` ids, removals counted for confirmation, a per-account write lock and a per-account request budget.

Each replica keeps its own mirror and catches up incrementally; a sync token stays with the replica whose mirror it
describes (it means nothing without that mirror), so what crosses replicas is what a client holds: handles.

Records are pickled, because they are our own dataclasses and pydantic models (plans, commands, before-images of
tasks) and must come back exactly; each is sealed with an HMAC keyed by a secret derived from the account's token
(``session.token_secret``), which is never stored. A record is unpickled only when its seal checks, so whoever can
write to Redis without the token cannot make a replica load anything, and one account's records cannot pass for
another's. Uses the ``redis`` client's asyncio API and its Lock (Lua-scripted acquire, extend, release).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import pickle
import secrets
import zlib
from collections import OrderedDict
from collections.abc import AsyncGenerator, Generator, Mapping
from contextlib import asynccontextmanager, contextmanager
from typing import Any, cast
from urllib.parse import urlsplit, urlunsplit

import anyio
import redis.asyncio as aioredis
from anyio.abc import TaskGroup
from redis.exceptions import LockError, RedisError

from tools_server.cursors.view import View
from tools_server.plans.pending import PendingWrite, check_room
from tools_server.plans.undo import UndoRecord
from tools_server.state.store import (
    DEFAULT_ACCOUNT_REQUESTS,
    MAX_VIEWS_PER_ACCOUNT,
    MAX_WRITE_HANDLES,
    REQUEST_WINDOW_SECONDS,
    BudgetSpent,
    Releaser,
    StateRefusal,
    WriteLockBusy,
    new_batch_id,
    new_write_handle,
    window_of,
)
from tools_server.state.views import Snapshots, ViewRecord, joined, split
from tools_server.sync.commands import Item

logger = logging.getLogger(__name__)

SCHEMES = ("redis", "rediss", "unix")
DEFAULT_LOCK_SECONDS = 15.0
VIEW_SECONDS = 6 * 3600  # a cursor unused this long expires (a clear "unknown or expired cursor")
WRITE_SECONDS = 24 * 3600
PENDING_SECONDS = 7 * 24 * 3600  # well inside the span backends remember command uuids for
REMOVAL_SECONDS = 3600
_SEAL = b"\x01"
_MAC = 32
_CACHED_VIEWS = 8  # per account on this replica: a client that stays on one replica skips the unpickling
# Task snapshots per account that views sit on (about 18 bytes a task compressed); past it the least recently used
# goes, and a cursor on it reads as expired.
MAX_SNAPSHOTS = 64


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


def _seal(secret: bytes, record: object) -> bytes:
    body = zlib.compress(pickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL), 1)
    return _SEAL + hmac.new(secret, body, hashlib.sha256).digest() + body


def _unseal(secret: bytes, blob: bytes | None) -> Any:
    if blob is None:
        return None
    mac, body = blob[1 : 1 + _MAC], blob[1 + _MAC :]
    if blob[:1] != _SEAL or not hmac.compare_digest(mac, hmac.new(secret, body, hashlib.sha256).digest()):
        logger.warning("state store: a record failed its seal check and was ignored")
        return None
    try:
        return pickle.loads(zlib.decompress(body))
    except Exception:  # a record written by another version of the code: treated as expired
        logger.warning("state store: a record could not be read and was ignored")
        return None


class RedisAccount:
    """One account's handles in Redis, under ``ts:<fingerprint>:``."""

    def __init__(self, state: RedisState, fingerprint: str, secret: bytes) -> None:
        self._state = state
        # redis-py's own annotations are partly unknown to pyright (its commands return sync-or-async unions); the
        # replies are read into declared types below.
        self._r: Any = state.redis
        self._prefix = f"ts:{fingerprint}:"
        self._secret = secret
        self._views: OrderedDict[str, tuple[bytes, View]] = OrderedDict()  # cursor -> (seal mac, view)
        self._snapshots = Snapshots()

    def _key(self, name: str) -> str:
        return self._prefix + name

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
                head: bytes = await self._r.getrange(key, 1, _MAC)
                if head == cached[0]:
                    self._views.move_to_end(cursor)
                    return cached[1]
            blob: bytes | None = await self._r.get(key)
        record = _unseal(self._secret, blob)
        if not isinstance(record, ViewRecord):
            return None
        snapshot: Mapping[str, Item] | None = None
        if record.snapshot is not None:
            snapshot = self._snapshots.get(record.snapshot)
            if snapshot is None:
                with _answered():
                    stored: bytes | None = await self._r.get(self._key("snap:" + record.snapshot))
                unsealed = _unseal(self._secret, stored)
                if not isinstance(unsealed, dict):
                    return None  # its snapshot expired or was evicted: so has the cursor
                snapshot = cast(dict[str, Item], unsealed)
                self._snapshots.add(record.snapshot, snapshot)
        return joined(record, snapshot)

    async def save_view(self, cursor: str, view: View) -> None:
        record, new = split(view, self._snapshots)
        if new is not None:
            name, snapshot = new
            await self._put_capped("snap", name, _seal(self._secret, dict(snapshot)), VIEW_SECONDS, MAX_SNAPSHOTS)
        elif record.snapshot is not None:
            await self._touch_capped("snap", record.snapshot, VIEW_SECONDS)
        blob = _seal(self._secret, record)
        await self._put_capped("view", cursor, blob, VIEW_SECONDS, MAX_VIEWS_PER_ACCOUNT)
        self._views[cursor] = (blob[1 : 1 + _MAC], view)
        self._views.move_to_end(cursor)
        while len(self._views) > _CACHED_VIEWS:
            self._views.popitem(last=False)

    def mirror_replaced(self) -> None:
        self._views.clear()  # cached views count versions of the mirror that went

    async def pending(self) -> dict[str, PendingWrite]:
        with _answered():
            order: list[bytes] = await self._r.zrange(self._key("pending_order"), 0, -1)
            if not order:
                return {}
            blobs: list[bytes | None] = await self._r.hmget(self._key("pending"), order)
        found: dict[str, PendingWrite] = {}
        for name, blob in zip(order, blobs, strict=True):
            write = _unseal(self._secret, blob)
            if isinstance(write, PendingWrite):
                found[name.decode()] = write
        return found

    async def keep_pending(self, write: PendingWrite) -> None:
        first = not write.batch
        if first:
            with _answered():
                held: int = await self._r.hlen(self._key("pending"))
            if held:
                check_room(await self.pending(), write)
            write.batch = new_batch_id()
        blob = _seal(self._secret, write)
        with _answered():
            order = await self._next() if first else 0
            async with self._r.pipeline(transaction=True) as pipe:
                pipe.hset(self._key("pending"), write.batch, blob)
                if first:
                    pipe.zadd(self._key("pending_order"), {write.batch: order})
                for name in ("pending", "pending_order"):
                    pipe.expire(self._key(name), PENDING_SECONDS)
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
        await self._put_capped("write", handle, _seal(self._secret, record), WRITE_SECONDS, MAX_WRITE_HANDLES)
        return handle

    async def find_write(self, handle: str) -> UndoRecord | None:
        with _answered():
            blob: bytes | None = await self._r.get(self._key("write:" + handle))
        record = _unseal(self._secret, blob)
        return record if isinstance(record, UndoRecord) else None

    async def forget_write(self, handle: str) -> None:
        with _answered():
            await self._r.delete(self._key("write:" + handle))
            await self._r.zrem(self._key("writes"), handle)

    async def removed_since(self, since: float) -> int:
        with _answered():
            await self._r.zremrangebyscore(self._key("removals"), "-inf", since)
            members: list[bytes] = await self._r.zrange(self._key("removals"), 0, -1)
        return sum(int(m.split(b":")[0]) for m in members)

    async def add_removal(self, at: float, count: int) -> None:
        with _answered():
            await self._r.zadd(self._key("removals"), {f"{count}:{secrets.token_hex(4)}": at})
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
        lock_seconds: float = DEFAULT_LOCK_SECONDS,
        account_requests: int = DEFAULT_ACCOUNT_REQUESTS,
    ) -> None:
        self.redis = redis
        self.renewals = renewals
        self.lock_seconds = lock_seconds
        self.account_requests = account_requests
        self._accounts: OrderedDict[str, RedisAccount] = OrderedDict()

    def account(self, fingerprint: str, secret: bytes) -> RedisAccount:
        account = self._accounts.get(fingerprint)
        if account is None:
            account = self._accounts[fingerprint] = RedisAccount(self, fingerprint, secret)
            while len(self._accounts) > 4096:
                self._accounts.popitem(last=False)
        self._accounts.move_to_end(fingerprint)
        return account


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
    lock_seconds: float = DEFAULT_LOCK_SECONDS,
    account_requests: int = DEFAULT_ACCOUNT_REQUESTS,
) -> AsyncGenerator[RedisState]:
    """The shared store over a connected client (closed after); lock renewals run in its own task group."""
    async with anyio.create_task_group() as renewals:
        state = RedisState(client, renewals, lock_seconds=lock_seconds, account_requests=account_requests)
        try:
            yield state
        finally:
            renewals.cancel_scope.cancel()
            with anyio.CancelScope(shield=True):
                await client.aclose()
