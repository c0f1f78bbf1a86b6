"""Legacy MCP sessions per account, in front of the SDK's session manager.

The SDK keeps one table of legacy (pre-2026-07-28) sessions for everyone, capped in total only: one account opening
sessions could fill it and lock every other account out. ``SessionQuota`` counts the sessions each account (token
fingerprint) has open and refuses the account a new one (429 with Retry-After) at ``per_account``; other accounts are
not affected. It sees every request of a session, so it follows the SDK's own rules for when a session ends: a DELETE,
a 404 for its id (ended or crashed), or ``idle_seconds`` with no request in flight.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tools_server.clock import SYSTEM_CLOCK, Clock
from tools_server.state.sessions import MAX_SESSIONS_PER_ACCOUNT

SESSION_HEADER = b"mcp-session-id"
VERSION_HEADER = b"mcp-protocol-version"
SWEEP_SECONDS = 60.0


@dataclass
class _Open:
    account: str
    in_flight: int = 0
    idle_since: float = 0.0


class SessionQuota:
    """ASGI middleware between the bearer gate (which sets ``scope["user"]``) and the SDK's streamable HTTP app."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        per_account: int = MAX_SESSIONS_PER_ACCOUNT,
        idle_seconds: float,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self._app = app
        self._per_account = per_account
        self._idle = idle_seconds
        self._clock = clock
        self._open: dict[str, _Open] = {}  # session id -> its account and activity
        self._by_account: dict[str, set[str]] = {}
        self._opening_now: dict[str, int] = {}  # account -> opening requests in flight (each may become a session)
        self._swept = clock.monotonic()

    def open_sessions(self, account: str) -> int:
        self._expire(account)
        return len(self._by_account.get(account, ()))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        user = scope.get("user")
        if scope["type"] != "http" or not isinstance(user, AuthenticatedUser):
            await self._app(scope, receive, send)
            return
        account = user.access_token.client_id
        headers = {name.lower(): value for name, value in scope.get("headers", [])}
        version = headers.get(VERSION_HEADER)
        if version is not None and version.decode("latin-1") not in HANDSHAKE_PROTOCOL_VERSIONS:
            await self._app(scope, receive, send)  # the sessionless protocol: the SDK opens no session for it
            return
        raw_id = headers.get(SESSION_HEADER)
        if raw_id is None:
            await self._opening(account, scope, receive, send)
            return
        session_id = raw_id.decode("latin-1")
        known = self._open.get(session_id)
        if known is None or known.account != account:
            await self._app(scope, receive, send)  # the SDK answers 404 for it; nothing to count
            return
        known.in_flight += 1
        statuses: list[int] = []

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])
            await send(message)

        try:
            await self._app(scope, receive, watch)
        finally:
            known.in_flight -= 1
            known.idle_since = self._clock.monotonic()
            status = statuses[0] if statuses else 0
            if status == 404 or (scope.get("method") == "DELETE" and 200 <= status < 300):
                self._forget(session_id)

    async def _opening(self, account: str, scope: Scope, receive: Receive, send: Send) -> None:
        """A request without a session id: the SDK opens a session if it succeeds, so the account needs room."""
        self._expire(account)
        own = self._by_account.get(account, set())
        if len(own) + self._opening_now.get(account, 0) >= self._per_account:
            await self._refuse(send, own)
            return

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] < 400:
                session = next((v for k, v in message.get("headers", []) if k.lower() == SESSION_HEADER), None)
                if session is not None:
                    session_id = bytes(session).decode("latin-1")
                    self._open[session_id] = _Open(account, idle_since=self._clock.monotonic())
                    self._by_account.setdefault(account, set()).add(session_id)
            await send(message)

        self._opening_now[account] = self._opening_now.get(account, 0) + 1
        try:
            await self._app(scope, receive, watch)
        finally:
            self._opening_now[account] -= 1
            if not self._opening_now[account]:
                del self._opening_now[account]

    def _expire(self, account: str) -> None:
        now = self._clock.monotonic()
        sessions = list(self._by_account.get(account, ()))
        if now - self._swept >= SWEEP_SECONDS:
            # Now and then every account's: one that never opens a session again must not keep its ids forever.
            self._swept = now
            sessions = list(self._open)
        for session_id in sessions:
            session = self._open[session_id]
            if session.in_flight == 0 and now - session.idle_since >= self._idle:
                self._forget(session_id)

    def _forget(self, session_id: str) -> None:
        session = self._open.pop(session_id, None)
        if session is None:
            return
        own = self._by_account[session.account]
        own.discard(session_id)
        if not own:
            del self._by_account[session.account]

    async def _refuse(self, send: Send, own: set[str]) -> None:
        now = self._clock.monotonic()
        idle = [self._open[s].idle_since for s in own if self._open[s].in_flight == 0]
        retry_after = max(1, math.ceil(min(idle) + self._idle - now)) if idle else math.ceil(self._idle)
        message = (
            f"Too many open sessions for this account ({self._per_account}): end one (HTTP DELETE with its "
            f"Mcp-Session-Id) or wait {retry_after} s for an idle one to expire"
        )
        body = json.dumps({"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": message}}).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"retry-after", str(retry_after).encode()),
        ]
        await send({"type": "http.response.start", "status": 429, "headers": headers})
        await send({"type": "http.response.body", "body": body})
