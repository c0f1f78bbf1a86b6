"""Per-session state: sync token, mirror, query_changes views, and the loop that sends a plan as Sync requests.

Every request carries the session's ``sync_token`` and resource types, so each write response also brings the
changes made elsewhere and the mirror stays current with no extra request.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import anyio

from tools_server.changes import View
from tools_server.clock import SYSTEM_CLOCK, Clock
from tools_server.plans import Plan
from tools_server.sync.client import Deadline, RequestRejected, SyncClient, TokenRejected
from tools_server.sync.mirror import Mirror
from tools_server.sync.send import NotConfirmed, Outcome, Progress, Report, send
from tools_server.sync.wire import MIRRORED_RESOURCE_TYPES, Command, SyncResponse, arg_value
from tools_server.undo import UndoRecord

logger = logging.getLogger(__name__)
R = TypeVar("R")

MAX_VIEWS_PER_SESSION = 32
# Undo handles kept per account (token fingerprint); the oldest goes first (an expired handle is a clear error).
MAX_WRITE_HANDLES = 64
# Tasks a session may remove without confirmation within the window: splitting a big delete into small calls does
# not get past the question (3 + 2 tasks in two calls need a confirmation on the second).
DELETE_UNCONFIRMED_MAX = 3
DELETE_WINDOW_SECONDS = 600.0


@dataclass
class WriteHandles:
    """Undo records by ``write`` handle, for one account: any client with the same token may undo with a handle, and
    no other account can (a handle is looked up only among its own account's)."""

    records: OrderedDict[str, UndoRecord] = field(default_factory=OrderedDict[str, UndoRecord])

    def mint(self, record: UndoRecord) -> str:
        handle = "u_" + secrets.token_urlsafe(9)
        self.records[handle] = record
        while len(self.records) > MAX_WRITE_HANDLES:
            self.records.popitem(last=False)
        return handle

    def forget(self, record: UndoRecord) -> None:
        for handle in [h for h, r in self.records.items() if r is record]:
            del self.records[handle]


# Unconfirmed commands a session keeps for resend_writes. Never evicted: a write that would go over is refused
# before anything is sent, and the model is told to finish the pending ones first.
MAX_PENDING_COMMANDS = 2000


@dataclass
class PendingWrite:
    """A write call whose commands were not all confirmed; resending them with the same uuids is safe."""

    verb: str
    plan: Plan
    projects: Plan | None
    commands: list[Command]
    outcome: Outcome
    recurrence: bool = False
    batch: str = ""  # its resend id once kept

    def unconfirmed(self) -> list[Command]:
        """Commands with no status read (none returned, never sent, or cut off by a cancel): they may have run."""
        statuses = self.outcome.statuses
        return [c for c in self.commands if isinstance(statuses.get(c.uuid, _UNREAD), NotConfirmed)]


_UNREAD = NotConfirmed("UNCONFIRMED", "no status was read for this command", True)


@dataclass(frozen=True)
class CallScope:
    """What one tool call brings to the requests it makes: its time budget and where progress goes."""

    deadline: Deadline | None = None
    report: Report | None = None

    @staticmethod
    def starting(clock: Clock, budget: float, report: Report | None) -> CallScope:
        """The scope of a call starting now, on ``clock``, with ``budget`` seconds."""
        return CallScope(Deadline(clock.monotonic() + budget, clock.monotonic, budget), report)


class PendingFull(Exception):
    """The session already holds as many unconfirmed commands as it may: nothing was sent."""


class SessionTokenRejected(Exception):
    """The backend refused the API token: no tool can do anything until it is fixed."""


@dataclass
class Session:
    key: str
    mirror: Mirror = field(default_factory=Mirror)
    sync_token: str = "*"
    views: OrderedDict[str, View] = field(default_factory=OrderedDict[str, View])
    lock: anyio.Lock = field(default_factory=anyio.Lock)
    last_used: float = 0.0
    # Set when the backend answered an incremental request with a full sync (it forgot or refused our token).
    resynced: bool = False
    pending: OrderedDict[str, PendingWrite] = field(default_factory=OrderedDict[str, PendingWrite])
    # The last write call of this session, with before-images, for undo.
    last_write: UndoRecord | None = None
    synced_at: float = -1e9  # monotonic time of the last successful request
    # False when calls cannot be told apart by client (sessionless HTTP, protocol 2026-07-28): the cache is shared by
    # everyone using the token, cursors are the only per-client handles, and no write is "this client's own".
    attributed: bool = True
    clock: Clock = SYSTEM_CLOCK
    handles: WriteHandles = field(default_factory=WriteHandles)
    # (monotonic time, tasks) of each removal made without confirmation, for the per-window count.
    unconfirmed_removals: list[tuple[float, int]] = field(default_factory=list[tuple[float, int]])

    def removed_recently(self) -> int:
        """Tasks removed without confirmation in the last DELETE_WINDOW_SECONDS."""
        since = self.clock.monotonic() - DELETE_WINDOW_SECONDS
        self.unconfirmed_removals = [(t, n) for t, n in self.unconfirmed_removals if t > since]
        return sum(n for _, n in self.unconfirmed_removals)

    # The tool call now holding the lock: its deadline and progress sink.
    scope: CallScope = field(default_factory=CallScope)
    # Said at the start of the next tool result (e.g. a cancelled call left a pending batch).
    notices: list[str] = field(default_factory=list[str])
    _progress: Progress | None = None

    async def run_call(self, scope: CallScope, call: Callable[[], Awaitable[tuple[str, R]]]) -> tuple[str, R]:
        """One tool call under the lock and its scope; what earlier calls left to say comes first in its text."""
        async with self.lock:
            earlier, self.notices = self.notices, []
            self.scope = scope
            try:
                text, result = await call()
            except BaseException:
                self.notices[:0] = earlier  # failed or cancelled: still to be said
                raise
            finally:
                self.scope = CallScope()
            return " ".join([*earlier, text]) if earlier else text, result

    def take_notices(self) -> list[str]:
        notices, self.notices = self.notices, []
        return notices

    def pending_commands(self) -> int:
        return sum(len(w.unconfirmed()) for w in self.pending.values())

    def hold(self, write: PendingWrite) -> str:
        """Keep a write under a resend id before it is sent, so a cancel or a crash mid-send cannot lose it."""
        held = self.pending_commands()
        if held + len(write.commands) > MAX_PENDING_COMMANDS:
            raise PendingFull(
                f"{held} commands of earlier writes are still unconfirmed in this session (batches "
                f"{', '.join(self.pending)}); at most {MAX_PENDING_COMMANDS} may wait. Call resend_writes (no batch "
                "needed) to finish them first; nothing was sent"
            )
        write.batch = write.batch or "w_" + secrets.token_urlsafe(9)
        self.pending[write.batch] = write
        return write.batch

    def settle(self, write: PendingWrite) -> str | None:
        """Forget a write once every command is confirmed or failed; its resend id while some are still pending."""
        if write.unconfirmed():
            self.pending.setdefault(write.batch, write)
            return write.batch
        self.pending.pop(write.batch, None)
        return None

    async def request(self, client: SyncClient, commands: Sequence[Command] = ()) -> SyncResponse:
        """One Sync request (commands and a read) that also refreshes the mirror."""
        token = self.sync_token
        deadline = self.scope.deadline
        on_wait = self._progress.waiting if self._progress is not None else None
        try:
            response = await client.sync(
                commands=commands,
                sync_token=token,
                resource_types=MIRRORED_RESOURCE_TYPES,
                deadline=deadline,
                on_wait=on_wait,
            )
        except RequestRejected as exc:
            # A rejected request executed nothing, so sending the same uuids again with a full sync is safe; one
            # resync, not a loop (reference §6: on a 4xx that names sync_token, reset to '*').
            if token == "*" or exc.error.error_extra.get("argument") != "sync_token":
                raise
            logger.warning("backend rejected the sync token; doing one full resync")
            response = await client.sync(
                commands=commands,
                sync_token="*",
                resource_types=MIRRORED_RESOURCE_TYPES,
                deadline=deadline,
                on_wait=on_wait,
            )
            self.resynced = True
        if response.full_sync and token != "*":
            self.resynced = True
        self.synced_at = self.clock.monotonic()
        self.mirror.apply(response)
        self.mirror.trim_log(min((v.version for v in self.views.values()), default=self.mirror.version))
        self.sync_token = response.sync_token
        return response

    async def ensure_synced(self, client: SyncClient) -> None:
        if not self.mirror.synced:
            await self.request(client)

    async def execute(self, client: SyncClient, commands: Sequence[Command], outcome: Outcome | None = None) -> Outcome:
        """Send commands (see ``sync.send``) and record them as this session's own writes."""
        report = self.scope.report
        self._progress = Progress(report, len(commands)) if report is not None and commands else None
        try:
            outcome = await send(lambda chunk: self.request(client, chunk), commands, outcome, self._progress)
        except TokenRejected as exc:
            raise SessionTokenRejected(str(exc)) from exc
        finally:
            self._progress = None
        if self.attributed:
            self._mark_own_writes(commands, outcome)
        return outcome

    def _mark_own_writes(self, commands: Sequence[Command], outcome: Outcome) -> None:
        """Record this session's writes as seen, so query_changes lists only changes made elsewhere."""
        touched: set[str] = set()
        gone: list[str] = []
        children: dict[str, list[str]] | None = None
        for command in commands:
            if command.temp_id is not None:
                # A new object: its subtasks, if any, are new commands of this same call.
                created = outcome.temp_id_mapping.get(command.temp_id)
                if created is not None:
                    touched.add(created)
                continue
            target = arg_value(command.args, "id")
            if target is None:
                continue
            touched.add(target)
            if children is None:
                children = self.mirror.children_index()  # once per call, and only for edits of existing tasks
            touched.update(self.mirror.descendants(target, children))
            if target not in self.mirror.items:
                gone.append(target)
        for view in self.views.values():
            marked = set(touched)
            if gone:
                # Completed or deleted with its subtasks: they left the mirror, so find them in what the view saw.
                seen_children: dict[str, list[str]] = {}
                for item in view.seen.values():
                    if item.parent_id is not None:
                        seen_children.setdefault(item.parent_id, []).append(item.id)
                stack = list(gone)
                while stack:
                    for child in seen_children.get(stack.pop(), ()):
                        marked.add(child)
                        stack.append(child)
            view.refresh(self.mirror, marked)

    def open_view(self) -> tuple[str, View]:
        cursor = "c_" + secrets.token_urlsafe(12)
        view = View()
        self.views[cursor] = view
        while len(self.views) > MAX_VIEWS_PER_SESSION:
            self.views.popitem(last=False)
        return cursor, view

    def get_view(self, cursor: str) -> View | None:
        view = self.views.get(cursor)
        if view is not None:
            self.views.move_to_end(cursor)
        return view


def token_fingerprint(token: str) -> str:
    """A stable, non-reversible key for a token: sessions are scoped by it and the token itself is never stored."""
    return hashlib.sha256(token.encode()).hexdigest()[:16]


class SessionRegistry:
    """Sessions by key, bounded by count (least recently used goes first) and by idle time."""

    def __init__(self, *, max_sessions: int = 256, idle_seconds: float = 3600.0, clock: Clock = SYSTEM_CLOCK) -> None:
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self._handles: dict[str, WriteHandles] = {}  # by account (token fingerprint), shared by its sessions
        self._max = max_sessions
        self._idle = idle_seconds
        self._clock = clock

    def get(self, key: str, *, attributed: bool = True, account: str = "") -> Session:
        now = self._clock.monotonic()
        for stale in [k for k, s in self._sessions.items() if now - s.last_used > self._idle]:
            del self._sessions[stale]
        session = self._sessions.get(key)
        if session is None:
            handles = self._handles.setdefault(account, WriteHandles())
            while len(self._handles) > self._max:
                del self._handles[next(iter(self._handles))]
            session = Session(key, attributed=attributed, clock=self._clock, handles=handles)
            self._sessions[key] = session
            while len(self._sessions) > self._max:
                self._sessions.popitem(last=False)
        self._sessions.move_to_end(key)
        session.last_used = now
        return session

    def __len__(self) -> int:
        return len(self._sessions)
