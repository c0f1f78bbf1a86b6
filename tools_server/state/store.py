"""What an account's clients hand back to us between calls: query_changes cursors, pending resend batches, undo
``write`` handles, the removals counted for confirmation, a write lock and a request budget.

Two implementations of one interface: ``MemoryState`` (the default: this process; `tools-server call` saves it to a
file, ``state/file.py``) and ``state/redis.RedisState`` (``--state redis://...``: shared by every replica); both keep
records through ``state/records.py``. Every handle is looked up only among its own account's, so a handle
from one token means nothing with another, whatever session id comes with it.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from tools_server.cursors.view import View
from tools_server.plans.pending import PendingWrite, check_room
from tools_server.plans.undo import UndoRecord
from tools_server.state.records import PENDING, REMOVAL, UNDO, Refused, Sealed, Sealer

logger = logging.getLogger(__name__)

# Cursors kept per account, shared by all its clients; the least recently used goes first (a clear "expired").
MAX_VIEWS_PER_ACCOUNT = 128
# Undo handles kept per account; the oldest goes first.
MAX_WRITE_HANDLES = 64
# The request budget: Todoist allows 1000 incremental syncs per user in 15 minutes; staying under it keeps one
# account's load from earning 429s for every replica.
REQUEST_WINDOW_SECONDS = 900.0
DEFAULT_ACCOUNT_REQUESTS = 900


class StateRefusal(Exception):
    """The state store stopped a call before its next request: the call fails with this text (not a per-task
    failure, since the backend was never asked); what an interrupted write left unconfirmed stays pending."""


class BudgetSpent(StateRefusal):
    """This account used its request budget for the window; the request was not sent."""

    def __init__(self, limit: int, retry_after: float) -> None:
        super().__init__(
            f"this account's request budget ({limit} Sync requests per {REQUEST_WINDOW_SECONDS / 60:.0f} minutes, "
            f"shared by all replicas) is used up; try again in {retry_after:.0f} s. Nothing was sent by this request"
        )
        self.retry_after = retry_after


class WriteLockBusy(StateRefusal):
    """Another call of this account held the write lock for the whole of this call's time budget."""

    def __init__(self) -> None:
        super().__init__(
            "another write of this account is still running (its lock was held for this call's whole time budget); "
            "nothing was sent: try again shortly"
        )


Releaser = Callable[[], Awaitable[None]]


class RecordRefused(StateRefusal):
    """A stored record that was not read (an earlier version's, or one whose seal does not check): the call fails
    naming it rather than acting as if it never existed."""


# Pending batches the store holds but cannot resume, by batch id: why, in words (``records.Refused``).
Unresumable = dict[str, str]


class AccountState(Protocol):
    """One account's handles. ``now`` arguments are wall-clock seconds (shared by replicas, unlike monotonic time)."""

    async def load_view(self, cursor: str) -> View | None: ...
    async def save_view(self, cursor: str, view: View) -> None: ...
    async def pending(self) -> dict[str, PendingWrite]: ...  # by batch id, oldest first
    async def unresumable(self) -> Unresumable: ...  # pending batches kept that cannot be read back
    async def keep_pending(self, write: PendingWrite) -> None: ...  # add or update; mints write.batch when empty
    async def drop_pending(self, batch: str) -> None: ...
    async def mint_write(self, record: UndoRecord) -> str: ...
    async def find_write(self, handle: str) -> UndoRecord | None: ...  # RecordRefused when kept but unreadable
    async def forget_write(self, handle: str) -> None: ...
    async def removed_since(self, since: float) -> int: ...
    async def add_removal(self, at: float, count: int) -> None: ...
    async def spend_request(self, now: float) -> None: ...  # raises BudgetSpent
    # Exclusive across replicas for one write call, renewed while held; WriteLockBusy after ``wait`` seconds.
    async def lock_writes(self, wait: float) -> Releaser: ...
    def oldest_view_version(self) -> int | None: ...  # for the mirror's change log; None: no view here
    def mirror_replaced(self) -> None: ...  # a new mirror: versions views hold count the old one's changes
    def local_views(self) -> OrderedDict[str, View] | None: ...  # in-process views (`tools-server call` saves them)


def new_batch_id() -> str:
    return "w_" + secrets.token_urlsafe(9)


def new_write_handle() -> str:
    return "u_" + secrets.token_urlsafe(9)


def new_removal_id() -> str:
    return secrets.token_hex(4)


# What a store may quote back of a batch id it could not read: the shape new_batch_id makes, nothing else (the id
# comes from the store, and a result's text goes to the model).
BATCH_ID = re.compile(r"w_[A-Za-z0-9_-]{12}")


def write_refused(handle: str, refused: Refused) -> RecordRefused:
    return RecordRefused(
        f"write: the undo record of {handle!r} was not read: {refused}. Nothing was sent: undo cannot reverse that "
        "write here, so change its tasks back by hand if needed"
    )


def window_of(now: float) -> tuple[int, float]:
    """The budget window ``now`` falls in and the seconds until the next one starts."""
    index = int(now // REQUEST_WINDOW_SECONDS)
    return index, (index + 1) * REQUEST_WINDOW_SECONDS - now


async def _released() -> None:
    return None


@dataclass
class MemoryAccount:
    """One account's handles in this process. The write lock is the account's own mirror lock (one process).

    Undo records, pending batches and removals are kept sealed by the records codec, exactly as Redis and the `call`
    file keep them, so every path through this store (most tests, stdio) exercises what a shared store reads back;
    the `call` file copies them as they are. Views stay live objects: they share the mirror's task snapshot, and
    encoding one would copy every task per cursor per call (the file and Redis stores split them into records)."""

    sealer: Sealer
    account_requests: int | None = None
    views: OrderedDict[str, View] = field(default_factory=OrderedDict[str, View])
    batches: OrderedDict[str, Sealed] = field(default_factory=OrderedDict[str, Sealed])
    records: OrderedDict[str, Sealed] = field(default_factory=OrderedDict[str, Sealed])
    removals: OrderedDict[str, Sealed] = field(default_factory=OrderedDict[str, Sealed])
    _window: tuple[int, int] = (-1, 0)  # (window index, requests in it)

    async def load_view(self, cursor: str) -> View | None:
        view = self.views.get(cursor)
        if view is not None:
            self.views.move_to_end(cursor)
        return view

    async def save_view(self, cursor: str, view: View) -> None:
        self.views[cursor] = view
        self.views.move_to_end(cursor)
        while len(self.views) > MAX_VIEWS_PER_ACCOUNT:
            self.views.popitem(last=False)

    def _opened_batches(self) -> tuple[dict[str, PendingWrite], Unresumable]:
        found: dict[str, PendingWrite] = {}
        refused: Unresumable = {}
        for batch, sealed in self.batches.items():
            try:
                found[batch] = self.sealer.open("pending:" + batch, PENDING, sealed)
            except Refused as exc:
                refused[batch] = str(exc)
        return found, refused

    async def pending(self) -> dict[str, PendingWrite]:
        return self._opened_batches()[0]

    async def unresumable(self) -> Unresumable:
        refused = self._opened_batches()[1]
        if refused:
            logger.warning("state: pending batches that cannot be read back: %s", ", ".join(refused))
        return {batch: why for batch, why in refused.items() if BATCH_ID.fullmatch(batch)}

    async def keep_pending(self, write: PendingWrite) -> None:
        if not write.batch:
            if self.batches:
                check_room(await self.pending(), write)
            write.batch = new_batch_id()
        self.batches[write.batch] = self.sealer.seal("pending:" + write.batch, PENDING, write)

    async def drop_pending(self, batch: str) -> None:
        self.batches.pop(batch, None)

    async def mint_write(self, record: UndoRecord) -> str:
        handle = new_write_handle()
        record.handle = handle
        self.records[handle] = self.sealer.seal("write:" + handle, UNDO, record)
        while len(self.records) > MAX_WRITE_HANDLES:
            self.records.popitem(last=False)
        return handle

    async def find_write(self, handle: str) -> UndoRecord | None:
        sealed = self.records.get(handle)
        if sealed is None:
            return None
        try:
            return self.sealer.open("write:" + handle, UNDO, sealed)
        except Refused as exc:
            raise write_refused(handle, exc) from None

    async def forget_write(self, handle: str) -> None:
        self.records.pop(handle, None)

    async def removed_since(self, since: float) -> int:
        total = 0
        for name, sealed in list(self.removals.items()):
            try:
                at, count = self.sealer.open("removal:" + name, REMOVAL, sealed)
            except Refused:
                at, count = since, 0  # unreadable: it counts for nothing and goes
            if at > since:
                total += count
            else:
                del self.removals[name]
        return total

    async def add_removal(self, at: float, count: int) -> None:
        name = new_removal_id()
        self.removals[name] = self.sealer.seal("removal:" + name, REMOVAL, (at, count))

    async def spend_request(self, now: float) -> None:
        if self.account_requests is None:
            return
        index, left = window_of(now)
        used = self._window[1] if self._window[0] == index else 0
        if used >= self.account_requests:
            raise BudgetSpent(self.account_requests, left)
        self._window = (index, used + 1)

    async def lock_writes(self, wait: float) -> Releaser:
        return _released

    def oldest_view_version(self) -> int | None:
        return min((v.version for v in self.views.values()), default=None)

    def mirror_replaced(self) -> None:
        for view in self.views.values():
            view.version = -1

    def local_views(self) -> OrderedDict[str, View] | None:
        return self.views


class StateBackend(Protocol):
    """Where accounts' handles live: ``account(fingerprint, secret)``; ``secret`` is derived from the account's token
    (never stored) and, with the store's own server secret, keys the seals that tell its records from forged ones."""

    def account(self, fingerprint: str, secret: bytes) -> AccountState: ...


class MemoryState:
    """Handles in this process, per account, bounded: accounts with pending writes are never dropped for others.

    ``server_secret``: the seals' server half; random per process by default (nothing leaves it), the `call` file's
    key when its records are saved to that file."""

    def __init__(
        self, *, max_accounts: int = 4096, account_requests: int | None = None, server_secret: bytes | None = None
    ) -> None:
        self._accounts: OrderedDict[str, MemoryAccount] = OrderedDict()
        self._max = max_accounts
        self._requests = account_requests
        self._server_secret = server_secret if server_secret is not None else secrets.token_bytes(32)

    def account(self, fingerprint: str, secret: bytes) -> MemoryAccount:
        account = self._accounts.get(fingerprint)
        if account is None:
            sealer = Sealer(self._server_secret, secret)
            account = self._accounts[fingerprint] = MemoryAccount(sealer, self._requests)
            idle = [k for k, a in self._accounts.items() if not a.batches and k != fingerprint]
            for key in idle[: max(0, len(self._accounts) - self._max)]:
                del self._accounts[key]
        self._accounts.move_to_end(fingerprint)
        return account
