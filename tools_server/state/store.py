"""What an account's clients hand back to us between calls: query_changes cursors, pending resend batches, undo
``write`` handles, the removals counted for confirmation, a write lock and a request budget.

The contract (``StateBackend``, ``AccountState``), its refusals and limits; two implementations: ``state/memory``
(the default: this process; `tools-server call` saves it to a file, ``state/file.py``) and ``state/redis``
(``--state redis://...``: shared by every replica); both keep records through ``state/records.py``. Every handle
is looked up only among its own account's, so a handle from one token means nothing with another, whatever session
id comes with it.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from typing import Protocol

from tools_server.cursors import View
from tools_server.plans import PendingWrite, UndoRecord
from tools_server.state.records import PENDING, Refused, Sealed, Sealer

logger = logging.getLogger(__name__)

# Cursors kept per account, shared by all its clients; the least recently used goes first (a clear "expired").
MAX_VIEWS_PER_ACCOUNT = 128
# Undo handles kept per account; the oldest goes first.
MAX_WRITE_HANDLES = 64
# The request budget: Todoist allows 1000 incremental syncs per user in 15 minutes; staying under it keeps one
# account's load from earning 429s for every replica.
REQUEST_WINDOW_SECONDS = 900.0
DEFAULT_ACCOUNT_REQUESTS = 900
# How long a store keeps each kind of record after its last write (Redis and the file store alike).
VIEW_SECONDS = 6 * 3600  # a cursor unused this long expires (a clear "unknown or expired cursor")
WRITE_SECONDS = 24 * 3600
PENDING_SECONDS = 7 * 24 * 3600  # well inside the span backends remember command uuids for
REMOVAL_SECONDS = 3600
# Task snapshots per account that views sit on; past it the least recently used goes, and a cursor on it reads as
# expired.
MAX_SNAPSHOTS = 64


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
    # The account's last write through this store, for undo without a handle in a later process (the file store of
    # stdio and `call`, one client at a time); stores shared by concurrent clients keep none (None): there each
    # session's own last write is the session's.
    async def last_write(self) -> UndoRecord | None: ...
    async def keep_last_write(self, record: UndoRecord | None) -> None: ...
    # Why pending batches kept here may have been lost since this process started (the store came back empty), in
    # words for resend_writes; None when nothing says so.
    async def lost(self) -> str | None: ...
    async def removed_since(self, since: float) -> int: ...
    async def add_removal(self, at: float, count: int) -> None: ...
    async def spend_request(self, now: float) -> None: ...  # raises BudgetSpent
    # Exclusive across replicas for one write call, renewed while held; WriteLockBusy after ``wait`` seconds.
    async def lock_writes(self, wait: float) -> Releaser: ...
    def oldest_view_version(self) -> int | None: ...  # for the mirror's change log; None: no view here
    def mirror_replaced(self) -> None: ...  # a new mirror: versions views hold count the old one's changes
    def local_views(self) -> OrderedDict[str, View] | None: ...  # in-process views
    # Cursors a new session of this store takes as its own (its writes count as seen in them): the last ones saved
    # when the store outlives processes that are one client (stdio, `call`); none when clients share it.
    def carried_cursors(self) -> list[str]: ...
    # Until ``flush``, steps other than keeping a pending batch may be written together at the flush (one transaction
    # for what a write keeps after its request, not one each); a pending batch kept meanwhile is written at once, with
    # the steps before it. Stores whose steps cost no more apart keep writing each at once.
    def defer_writes(self) -> None: ...
    async def flush(self) -> None: ...  # raises StateRefusal when what was deferred could not be written


def open_batches(sealer: Sealer, kept: Iterable[tuple[str, Sealed]]) -> tuple[dict[str, PendingWrite], Unresumable]:
    """Each kept batch opened, or why it cannot be (an earlier version's record, or sealed with another secret)."""
    found: dict[str, PendingWrite] = {}
    refused: Unresumable = {}
    for batch, sealed in kept:
        try:
            found[batch] = sealer.open("pending:" + batch, PENDING, sealed)
        except Refused as exc:
            refused[batch] = str(exc)
    return found, refused


def named_refusals(refused: Unresumable) -> Unresumable:
    """The batches that could not be opened, logged, and of them those named as this program names batches: what
    resend_writes reports (never dropped in silence)."""
    if refused:
        logger.warning("state: pending batches that cannot be read back: %s", ", ".join(refused)[:200])
    return {batch: why for batch, why in refused.items() if BATCH_ID.fullmatch(batch)}


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


class StateBackend(Protocol):
    """Where accounts' handles live: ``account(fingerprint, secret)``; ``secret`` is derived from the account's token
    (never stored) and, with the store's own server secret, keys the seals that tell its records from forged ones."""

    def account(self, fingerprint: str, secret: bytes) -> AccountState: ...
