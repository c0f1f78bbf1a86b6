"""The in-process store: each account's handles in this process, bounded (see ``state/store.py`` for the contract)."""

from __future__ import annotations

import logging
import secrets
from collections import OrderedDict
from dataclasses import dataclass, field

from tools_server.cursors import View
from tools_server.plans import PendingWrite, UndoRecord, check_room
from tools_server.state.records import PENDING, REMOVAL, UNDO, Refused, Sealed, Sealer
from tools_server.state.store import (
    MAX_VIEWS_PER_ACCOUNT,
    MAX_WRITE_HANDLES,
    BudgetSpent,
    Releaser,
    Unresumable,
    named_refusals,
    new_batch_id,
    new_removal_id,
    new_write_handle,
    open_batches,
    window_of,
    write_refused,
)

logger = logging.getLogger(__name__)


async def _released() -> None:
    return None


@dataclass
class MemoryAccount:
    """One account's handles in this process. The write lock is the account's own mirror lock (one process).

    Everything it keeps is read back through the records codec, exactly as Redis and the state file read theirs, so
    every path through this store (most tests) exercises what a shared store reads back. Removals are kept sealed; a
    pending batch and an undo record are kept live and sealed when read: the write that drops its batch unread (nearly
    every write) no longer pays the seal (0.35 ms of a 100-task add, a fifth of what the tool adds to its request),
    nor does an undo record nobody undoes (0.2 ms). Calls of an account run one at a time here (its lock), so a batch
    is never read while its write runs, and a write leaves its undo record as it minted it. Views stay live objects:
    they share the mirror's task snapshot, and encoding one would copy every task per cursor per call (the file and
    Redis stores split them into records)."""

    sealer: Sealer
    account_requests: int | None = None
    views: OrderedDict[str, View] = field(default_factory=OrderedDict[str, View])
    batches: OrderedDict[str, PendingWrite] = field(default_factory=OrderedDict[str, PendingWrite])
    records: OrderedDict[str, UndoRecord] = field(default_factory=OrderedDict[str, UndoRecord])
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

    def _sealed(self) -> list[tuple[str, Sealed]]:
        return [(batch, self.sealer.seal("pending:" + batch, PENDING, write)) for batch, write in self.batches.items()]

    async def pending(self) -> dict[str, PendingWrite]:
        return open_batches(self.sealer, self._sealed())[0]

    async def unresumable(self) -> Unresumable:
        return named_refusals(open_batches(self.sealer, self._sealed())[1])

    async def keep_pending(self, write: PendingWrite) -> None:
        if not write.batch:
            if self.batches:
                check_room(dict(self.batches), write)  # counts their unconfirmed commands: the live ones will do
            write.batch = new_batch_id()
        self.batches[write.batch] = write

    async def drop_pending(self, batch: str) -> None:
        self.batches.pop(batch, None)

    async def mint_write(self, record: UndoRecord) -> str:
        handle = new_write_handle()
        record.handle = handle
        self.records[handle] = record
        while len(self.records) > MAX_WRITE_HANDLES:
            self.records.popitem(last=False)
        return handle

    async def find_write(self, handle: str) -> UndoRecord | None:
        record = self.records.get(handle)
        if record is None:
            return None
        try:
            return self.sealer.open("write:" + handle, UNDO, self.sealer.seal("write:" + handle, UNDO, record))
        except Refused as exc:
            raise write_refused(handle, exc) from None

    async def forget_write(self, handle: str) -> None:
        self.records.pop(handle, None)

    async def last_write(self) -> UndoRecord | None:
        return None  # shared by the HTTP sessions of the account: each keeps its own

    async def keep_last_write(self, record: UndoRecord | None) -> None:
        return None

    async def lost(self) -> str | None:
        return None  # it lives as long as the process that asks

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

    def carried_cursors(self) -> list[str]:
        return []  # shared by the HTTP sessions of the account

    def defer_writes(self) -> None:
        return None  # nothing to gain: each step is a dict update

    async def flush(self) -> None:
        return None

    def local_views(self) -> OrderedDict[str, View] | None:
        return self.views


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
