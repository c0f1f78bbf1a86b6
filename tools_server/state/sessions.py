"""Per-account mirrors and per-connection sessions, and the loop that sends a plan as Sync requests.

One ``AccountCache`` per account (token fingerprint) on this replica: its mirror and sync token, shared by every
client of the account, so twenty clients of one account cost one copy of it. A ``Session`` is one connection (a stdio
process, a legacy HTTP session): its notices, its last write, the cursors it opened. Handles a client is given
(cursors, resend batches, undo ``write`` ids) live in the account's ``state.AccountState``, in process or in Redis.

Every request carries the account's ``sync_token`` and resource types, so each write response also brings the
changes made elsewhere and the mirror stays current with no extra request.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import anyio

from tools_server.clock import SYSTEM_CLOCK, Clock
from tools_server.cursors import View, mark_own_writes, own_writes, own_writes_ahead
from tools_server.plans import MAX_PENDING_COMMANDS as MAX_PENDING_COMMANDS
from tools_server.plans import PendingFull as PendingFull
from tools_server.plans import PendingWrite as PendingWrite
from tools_server.plans import UndoRecord
from tools_server.state.memory import MemoryState
from tools_server.state.store import AccountState, Releaser, StateBackend
from tools_server.sync.client import Deadline, RequestRejected, SyncClient, TokenRejected
from tools_server.sync.commands import MIRRORED_RESOURCE_TYPES, Command, Project, SyncResponse
from tools_server.sync.mirror import Mirror
from tools_server.sync.recover import missing_ids, new_ids, recover_ids
from tools_server.sync.send import Outcome, Progress, Report, send

logger = logging.getLogger(__name__)
R = TypeVar("R")

# Seconds one tool call may spend on the backend, retries and Retry-After waits included (TOOLS_SERVER_CALL_BUDGET).
DEFAULT_CALL_BUDGET = 45.0
# Cursors one session remembers as its own (its writes count as seen in them); older ones still work, unmarked.
MAX_OWN_CURSORS = 32
# Tasks an account may remove without confirmation within the window: splitting a big delete into small calls does
# not get past the question (3 + 2 tasks in two calls need a confirmation on the second).
DELETE_UNCONFIRMED_MAX = 3
DELETE_WINDOW_SECONDS = 600.0
# Sessions (connections) one account may hold open on a replica, here and in front of the SDK's legacy sessions.
MAX_SESSIONS_PER_ACCOUNT = 64
# Pages of 200 archived projects read at most per call (a read that must end, even on a huge account).
MAX_ARCHIVED_PAGES = 10


@dataclass(frozen=True)
class CallScope:
    """What one tool call brings to the requests it makes: its time budget and where progress goes."""

    deadline: Deadline | None = None
    report: Report | None = None

    @staticmethod
    def starting(clock: Clock, budget: float, report: Report | None) -> CallScope:
        """The scope of a call starting now, on ``clock``, with ``budget`` seconds."""
        return CallScope(Deadline(clock.monotonic() + budget, clock.monotonic, budget), report)

    def seconds_left(self, clock: Clock) -> float:
        return self.deadline.at - clock.monotonic() if self.deadline is not None else DEFAULT_CALL_BUDGET


class SessionTokenRejected(Exception):
    """The backend refused the API token: no tool can do anything until it is fixed."""


@dataclass
class AccountCache:
    """One account's mirror on this replica. Its lock serialises the account's calls here (the mirror is one)."""

    fingerprint: str
    state: AccountState
    clock: Clock = SYSTEM_CLOCK
    mirror: Mirror = field(default_factory=Mirror)
    sync_token: str = "*"
    lock: anyio.Lock = field(default_factory=anyio.Lock)
    synced_at: float = -1e9  # monotonic time of the last successful request
    # Set when the backend answered an incremental request with a full sync (it forgot or refused our token).
    resynced: bool = False
    # The tool call now holding the lock: its deadline and progress sink.
    scope: CallScope = field(default_factory=CallScope)
    progress: Progress | None = None

    async def request(self, client: SyncClient, commands: Sequence[Command] = ()) -> SyncResponse:
        """One Sync request (commands and a read) that also refreshes the mirror.

        Commands never travel with ``sync_token: "*"``: Todoist may then leave ``temp_id_mapping`` out (Doist's own
        server code says so), so an account with no token yet reads first (reference §6: the first call is a full
        read). A created object whose id a response still leaves out is matched among the new objects it brought,
        else among those of one more incremental read (sync/recover.py); one not found stays unmapped, and
        sync/send.py keeps its command pending."""
        if commands and self.sync_token == "*":
            self._apply(await self._send(client, ()))
        response = await self._send(client, commands)
        missing = missing_ids(commands, response, {})
        if not missing:
            self._apply(response)
            return response
        mirror = self.mirror

        def existed(table: str, oid: str) -> bool:
            return oid in getattr(mirror, table)

        response.temp_id_mapping.update(recover_ids(missing, response, existed, response.temp_id_mapping))
        made = new_ids(response, existed)
        self._apply(response)
        missing = missing_ids(missing, response, {})
        if missing:
            logger.warning("the backend left out the ids of %d created objects; reading once more", len(missing))
            later = await self._send(client, ())

            def existed_before(table: str, oid: str) -> bool:
                return oid in getattr(mirror, table) and (table, oid) not in made

            response.temp_id_mapping.update(recover_ids(missing, later, existed_before, response.temp_id_mapping))
            self._apply(later)
        return response

    async def _send(self, client: SyncClient, commands: Sequence[Command]) -> SyncResponse:
        token = self.sync_token
        deadline = self.scope.deadline
        on_wait = self.progress.waiting if self.progress is not None else None
        await self.state.spend_request(self.clock.now().timestamp())
        try:
            response = await client.sync(
                commands=commands,
                sync_token=token,
                resource_types=MIRRORED_RESOURCE_TYPES,
                deadline=deadline,
                on_wait=on_wait,
            )
        except RequestRejected as exc:
            # A rejected request executed nothing, so sending the same uuids again is safe; one resync, not a loop
            # (reference §6: on a 4xx that names sync_token, reset to '*'), and the commands after it, not with it.
            if token == "*" or exc.error.error_extra.get("argument") != "sync_token":
                raise
            logger.warning("backend rejected the sync token; doing one full resync")
            response = await client.sync(
                sync_token="*", resource_types=MIRRORED_RESOURCE_TYPES, deadline=deadline, on_wait=on_wait
            )
            self.resynced = True
            if commands:
                self._apply(response)
                response = await client.sync(
                    commands=commands,
                    sync_token=self.sync_token,
                    resource_types=MIRRORED_RESOURCE_TYPES,
                    deadline=deadline,
                    on_wait=on_wait,
                )
        if response.full_sync and token != "*":
            self.resynced = True
        return response

    def _apply(self, response: SyncResponse) -> None:
        self.synced_at = self.clock.monotonic()
        self.mirror.apply(response)
        oldest = self.state.oldest_view_version()
        self.mirror.trim_log(self.mirror.version if oldest is None else min(oldest, self.mirror.version))
        self.sync_token = response.sync_token


@dataclass
class Session:
    """One connection's view of its account: everything account-wide is delegated to ``account``."""

    key: str
    account: AccountCache
    # False when calls cannot be told apart by client (sessionless HTTP, protocol 2026-07-28): no write is "this
    # client's own", cursors and write handles are the only per-client handles.
    attributed: bool = True
    # The last write call of this session, with before-images, for undo without a handle.
    last_write: UndoRecord | None = None
    # Said at the start of the next tool result (e.g. a cancelled call left a pending batch).
    notices: list[str] = field(default_factory=list[str])
    own_cursors: OrderedDict[str, None] = field(default_factory=OrderedDict[str, None])
    last_used: float = 0.0
    _release: Releaser | None = None  # set while the running call holds the write lock

    # -- the account's, seen through the session -----------------------------------------------------------------

    @property
    def mirror(self) -> Mirror:
        return self.account.mirror

    @mirror.setter
    def mirror(self, mirror: Mirror) -> None:
        self.account.mirror = mirror

    @property
    def sync_token(self) -> str:
        return self.account.sync_token

    @sync_token.setter
    def sync_token(self, token: str) -> None:
        self.account.sync_token = token

    @property
    def resynced(self) -> bool:
        return self.account.resynced

    @resynced.setter
    def resynced(self, value: bool) -> None:
        self.account.resynced = value

    @property
    def state(self) -> AccountState:
        return self.account.state

    @property
    def clock(self) -> Clock:
        return self.account.clock

    @property
    def lock(self) -> anyio.Lock:
        return self.account.lock

    @property
    def synced_at(self) -> float:
        return self.account.synced_at

    # -- calls ---------------------------------------------------------------------------------------------------

    async def run_call(self, scope: CallScope, call: Callable[[], Awaitable[tuple[str, R]]]) -> tuple[str, R]:
        """One tool call under the account's lock and its scope; what earlier calls left to say comes first in its
        text. A write takes the account's write lock too (``lock_writes``), held until the call ends."""
        try:
            async with self.account.lock:
                self._release = None
                return await self._scoped(scope, call)
        finally:
            release, self._release = self._release, None
            if release is not None:
                with anyio.CancelScope(shield=True):
                    await release()

    async def lock_writes(self) -> None:
        """Hold the account's write lock (exclusive across replicas sharing a state store) for the rest of the call.

        Taken before a write plans, so it plans on what the last writer left; waits at most the call's time left."""
        if self._release is None:
            self._release = await self.state.lock_writes(self.account.scope.seconds_left(self.clock))

    async def _scoped(self, scope: CallScope, call: Callable[[], Awaitable[tuple[str, R]]]) -> tuple[str, R]:
        earlier, self.notices = self.notices, []
        self.account.scope = scope
        try:
            text, result = await call()
        except BaseException:
            self.notices[:0] = earlier  # failed or cancelled: still to be said
            raise
        finally:
            self.account.scope = CallScope()
        return " ".join([*earlier, text]) if earlier else text, result

    def take_notices(self) -> list[str]:
        notices, self.notices = self.notices, []
        return notices

    async def pending(self) -> dict[str, PendingWrite]:
        return await self.state.pending()

    async def hold(self, write: PendingWrite) -> str:
        """Keep a write under a resend id before it is sent, so a cancel or a crash mid-send cannot lose it."""
        await self.state.keep_pending(write)
        return write.batch

    async def settle(self, write: PendingWrite) -> str | None:
        """Forget a write once every command is confirmed or failed; its resend id while some are still pending."""
        if write.unconfirmed():
            await self.state.keep_pending(write)
            return write.batch
        await self.state.drop_pending(write.batch)
        return None

    async def removed_recently(self) -> int:
        """Tasks this account removed without confirmation in the last DELETE_WINDOW_SECONDS."""
        return await self.state.removed_since(self.clock.now().timestamp() - DELETE_WINDOW_SECONDS)

    async def request(self, client: SyncClient, commands: Sequence[Command] = ()) -> SyncResponse:
        return await self.account.request(client, commands)

    async def read_archived(self, client: SyncClient) -> list[Project]:
        """Every archived project (``GET /projects/archived``, page by page, bounded), kept in the mirror so they can
        be named: full syncs leave them out."""
        found: list[Project] = []
        cursor: str | None = None
        for _ in range(MAX_ARCHIVED_PAGES):
            params = {"limit": "200", **({"cursor": cursor} if cursor else {})}
            await self.state.spend_request(self.clock.now().timestamp())
            page = await client.archived_projects(params)
            found += page.results
            cursor = page.next_cursor
            if not cursor:
                break
        self.mirror.keep_archived(found)
        return [p for p in found if p.id in self.mirror.archived_projects]

    async def ensure_synced(self, client: SyncClient) -> None:
        if not self.mirror.synced:
            await self.request(client)

    async def execute(
        self,
        client: SyncClient,
        commands: Sequence[Command],
        outcome: Outcome | None = None,
        checkpoint: Callable[[], Awaitable[None]] | None = None,
    ) -> Outcome:
        """Send commands (see ``sync.send``) and record them as this session's own writes. ``checkpoint`` runs
        before the 2nd, 3rd, 5th, 9th, ... request, when the statuses of the requests before it are in ``outcome``.

        Each checkpoint rewrites the whole batch, so one before every request made a 1000-task write store it ten
        times (a third of its time over stdio). Commands confirmed after the last checkpoint are only sent again by
        a resend, which the backend answers from its record of their uuids without running them: with checkpoints
        spaced out a resend repeats at most half of what the write had confirmed, and still runs nothing twice."""
        report = self.account.scope.report
        # What the commands are about to take out of the mirror, read while it still holds it (see cursors/own_writes).
        before = own_writes_ahead(self.mirror, commands) if self.attributed and self.own_cursors else None
        self.account.progress = Progress(report, len(commands)) if report is not None and commands else None
        sent = 0

        async def request(chunk: Sequence[Command]) -> SyncResponse:
            nonlocal sent
            if sent and sent & (sent - 1) == 0 and checkpoint is not None:  # after 1, 2, 4, 8, ... requests
                await checkpoint()
            sent += 1
            return await self.request(client, chunk)

        try:
            outcome = await send(request, commands, outcome, self.account.progress)
        except TokenRejected as exc:
            raise SessionTokenRejected(str(exc)) from exc
        finally:
            self.account.progress = None
        if before is not None:
            writes = own_writes(self.mirror, commands, outcome, before)  # once per call, not per cursor
            for cursor in list(self.own_cursors):
                view = await self.state.load_view(cursor)
                if view is None:
                    del self.own_cursors[cursor]
                    continue
                mark_own_writes(view, self.mirror, writes)
                await self.state.save_view(cursor, view)
        return outcome

    async def open_view(self) -> tuple[str, View]:
        """A new cursor and its empty view; the caller saves the view once it has refreshed it."""
        cursor = "c_" + secrets.token_urlsafe(12)
        self._own(cursor)
        return cursor, View()

    async def get_view(self, cursor: str) -> View | None:
        view = await self.state.load_view(cursor)
        if view is not None:
            self._own(cursor)
        return view

    def _own(self, cursor: str) -> None:
        if not self.attributed:
            return
        self.own_cursors[cursor] = None
        self.own_cursors.move_to_end(cursor)
        while len(self.own_cursors) > MAX_OWN_CURSORS:
            self.own_cursors.popitem(last=False)


def token_fingerprint(token: str) -> str:
    """A stable, non-reversible key for a token: sessions are scoped by it and the token itself is never stored."""
    return hashlib.sha256(token.encode()).hexdigest()[:16]


def token_secret(token: str) -> bytes:
    """A key only holders of the token can derive: it signs the account's records in a shared store."""
    return hmac.new(token.encode(), b"tools-server state v1", hashlib.sha256).digest()


class SessionRegistry:
    """Sessions by key, bounded by idle time, per account and in total; one mirror per account, kept while the
    account has a session. When full, the account holding the most sessions gives up its least recently used one:
    one account opening many sessions (or sending made-up session ids) evicts its own, never another account's.
    Pending writes and handles live in ``state`` and are not dropped with a session."""

    def __init__(
        self,
        *,
        max_sessions: int = 256,
        max_per_account: int = MAX_SESSIONS_PER_ACCOUNT,
        idle_seconds: float = 3600.0,
        clock: Clock = SYSTEM_CLOCK,
        state: StateBackend | None = None,
    ) -> None:
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self._by_account: dict[str, OrderedDict[str, None]] = {}  # account -> its session keys, oldest first
        self._accounts: dict[str, AccountCache] = {}
        self._orphans: set[str] = set()  # accounts whose last session went while a call of theirs was running
        self._max = max_sessions
        self._per_account = max_per_account
        self._idle = idle_seconds
        self._clock = clock
        self.state: StateBackend = state if state is not None else MemoryState()

    def get(self, key: str, *, attributed: bool = True, account: str = "", secret: bytes = b"") -> Session:
        now = self._clock.monotonic()
        for stale in [k for k, s in self._sessions.items() if now - s.last_used > self._idle]:
            self._drop(stale)
        for orphan in [a for a in self._orphans if a not in self._accounts or not self._accounts[a].lock.locked()]:
            self._orphans.discard(orphan)
            if orphan in self._accounts and orphan not in self._by_account:  # no session came back meanwhile
                del self._accounts[orphan]
        session = self._sessions.get(key)
        if session is None:
            cache = self._accounts.get(account)
            if cache is None:
                cache = AccountCache(account, self.state.account(account, secret), self._clock)
                cache.state.mirror_replaced()
                self._accounts[account] = cache
            session = Session(key, cache, attributed=attributed)
            if attributed:
                for cursor in cache.state.carried_cursors():
                    session.own_cursors[cursor] = None
            self._sessions[key] = session
            own = self._by_account.setdefault(account, OrderedDict())
            own[key] = None
            while len(own) > self._per_account:
                self._drop(next(iter(own)))
            while len(self._sessions) > self._max:
                heaviest = max(self._by_account.values(), key=len)  # first among equals: least recently created
                self._drop(next(iter(heaviest)))
        self._sessions.move_to_end(key)
        self._by_account[session.account.fingerprint].move_to_end(key)
        session.last_used = now
        return session

    def account_of(self, fingerprint: str) -> AccountCache | None:
        return self._accounts.get(fingerprint)

    def _drop(self, key: str) -> None:
        session = self._sessions.pop(key)
        account = session.account.fingerprint
        own = self._by_account[account]
        del own[key]
        if not own:
            del self._by_account[account]
            # The account's last session: the mirror goes (handles stay in state; a full sync brings it back), once
            # no call of it is running: two mirrors of one account in one process would not share its lock.
            if session.account.lock.locked():
                self._orphans.add(account)
            else:
                del self._accounts[account]

    def __len__(self) -> int:
        return len(self._sessions)
