"""Multi-user HTTP: who is calling. Every request brings its own Todoist token (personal or OAuth access token).

The gate is hand-written ASGI rather than the SDK's ``AuthSettings`` + ``RequireAuthMiddleware`` for three reasons:
a Todoist outage while checking a token must answer 503 (the SDK's path turns a verifier error into a 500, and a 401
would send clients into re-authorization); the RFC 9728 document names Todoist's authorize and token endpoints (the
SDK's metadata model drops fields it does not know, and Todoist publishes no RFC 8414 document to discover them);
and the SDK would serve its own metadata at the same path. It still speaks the SDK's types: the verifier is a
``TokenVerifier`` and an accepted request carries an ``AuthenticatedUser`` in ``scope["user"]``, so the SDK's session
manager binds each legacy MCP session to the token that opened it, and request state is bound to that principal.
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from mcp.server.auth.middleware.auth_context import AuthContextMiddleware
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken, TokenVerifier
from starlette.authentication import AuthCredentials
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tools_server.clock import SYSTEM_CLOCK, Clock
from tools_server.state import BudgetSpent, StateRefusal, token_fingerprint
from tools_server.sync.client import SyncClient, SyncFailure, TokenRejected

logger = logging.getLogger(__name__)

# Todoist's authorization server: it publishes RFC 8414 metadata at /.well-known/oauth-authorization-server
# (authorize, token, RFC 7591 registration and RFC 7009 revocation endpoints, S256 PKCE, public clients, Client ID
# Metadata Documents; API v1 docs, "Authorization"), so an MCP client discovers everything from this one URL.
TODOIST_AUTHORIZATION_SERVER = "https://todoist.com"
# What the tools need: read and write tasks, delete tasks (Todoist's scope names, sent comma-separated).
SCOPES = ("data:read_write", "data:delete")
METADATA_PATH = "/.well-known/oauth-protected-resource"
# Set in the ASGI scope by a tool call whose token the Sync endpoint refused (expired or revoked after the gate's
# check): the gate then answers that request 401 instead of the tool's error, where the headers have not gone out.
TOKEN_REFUSED = "tools_server.token_refused"
VERDICT_SECONDS = 60.0
MAX_VERDICTS = 4096


class TokenCheckUnavailable(Exception):
    """The Sync endpoint could not be asked whether a token is good (network, 5xx, rate limit)."""


class TokenCheckOverBudget(TokenCheckUnavailable):
    """The account's request budget (shared by replicas) has no request left for the check: 429, not 503."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


# Spends one request of the account's budget for a token check (state.AccountState.spend_request); may raise
# state.BudgetSpent.
Spend = Callable[[str], Awaitable[None]]


@dataclass(frozen=True)
class _Verdict:
    token: AccessToken | None
    until: float


class TodoistTokenVerifier(TokenVerifier):
    """A token is good when one Sync read (the user resource) succeeds with it; the verdict, good or bad, is kept for
    ``ttl`` seconds by token fingerprint so a busy client costs one check a minute, not one per call.

    The cache holds fingerprints only (never a token) and at most ``max_entries`` verdicts, least recently used first
    out. A revoked token keeps working for at most ``ttl`` seconds.
    """

    def __init__(
        self,
        client_for: Callable[[str], SyncClient],
        *,
        clock: Clock = SYSTEM_CLOCK,
        ttl: float = VERDICT_SECONDS,
        max_entries: int = MAX_VERDICTS,
        spend: Spend | None = None,
    ) -> None:
        self._client_for = client_for
        self._spend = spend
        self._clock = clock
        self._ttl = ttl
        self._max = max_entries
        self._verdicts: OrderedDict[str, _Verdict] = OrderedDict()
        self.checks = 0  # Sync reads made, for tests and the benchmark

    async def verify_token(self, token: str) -> AccessToken | None:
        token = token.strip()
        if not token:
            return None
        key = token_fingerprint(token)
        now = self._clock.monotonic()
        cached = self._verdicts.get(key)
        if cached is not None and cached.until > now:
            self._verdicts.move_to_end(key)
            # The cached AccessToken carries the token it was made for; a fingerprint collision must not lend it out.
            return cached.token if cached.token is None or cached.token.token == token else None
        self.checks += 1
        if self._spend is not None:
            try:
                await self._spend(token)  # the check is a request to the account's Todoist limit like any other
            except BudgetSpent as exc:
                raise TokenCheckOverBudget(str(exc), exc.retry_after) from exc
            except StateRefusal as exc:
                raise TokenCheckUnavailable(str(exc)) from exc
        try:
            await self._client_for(token).sync(sync_token="*", resource_types=["user"])
            verdict = AccessToken(token=token, client_id=key, scopes=list(SCOPES), subject=key)
        except TokenRejected:
            verdict = None
        except SyncFailure as exc:
            raise TokenCheckUnavailable(str(exc)) from exc
        self._remember(key, verdict, now)
        return verdict

    def refused(self, token: str) -> None:
        """The Sync endpoint refused ``token`` during a call: it is bad from now on, not when the verdict expires."""
        self._remember(token_fingerprint(token.strip()), None, self._clock.monotonic())

    def _remember(self, key: str, verdict: AccessToken | None, now: float) -> None:
        self._verdicts[key] = _Verdict(verdict, now + self._ttl)
        self._verdicts.move_to_end(key)
        while len(self._verdicts) > self._max:
            self._verdicts.popitem(last=False)


def protected_resource_metadata(
    base_url: str, authorization_server: str = TODOIST_AUTHORIZATION_SERVER
) -> dict[str, object]:
    """RFC 9728 metadata for ``<base_url>/mcp``. The authorization server (Todoist's, or the one configured) publishes
    its own RFC 8414 metadata with a registration endpoint, so a client needs nothing else to log its user in: it
    discovers the endpoints, registers itself (RFC 7591) or names itself by a Client ID Metadata Document, and runs
    the code flow with PKCE for the scopes listed here."""
    return {
        "resource": f"{base_url}/mcp",
        "authorization_servers": [authorization_server],
        "scopes_supported": list(SCOPES),
        "bearer_methods_supported": ["header"],
        "resource_name": "tools-server (Todoist over the Sync API)",
    }


def bearer_token(authorization: str | None) -> str | None:
    """The token of ``Authorization: Bearer <token>``; None for no header, another scheme or an empty token."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        return None
    return token


def mark_token_refused(request: object) -> None:
    """A tool call found the gate's token refused by the Sync endpoint: have the gate answer 401 (see BearerGate)."""
    if isinstance(request, HTTPConnection):
        request.scope[TOKEN_REFUSED] = True


def verified_token(request: object) -> str | None:
    """The token the gate accepted for this request (None on stdio, in memory, or without the gate)."""
    if not isinstance(request, HTTPConnection):
        return None
    user = request.scope.get("user")
    return user.access_token.token if isinstance(user, AuthenticatedUser) else None


class BearerGate:
    """ASGI middleware: a request without a good Bearer token gets 401 and the ``WWW-Authenticate`` challenge that
    points at the protected-resource metadata; an accepted one goes on with ``scope["user"]`` set."""

    def __init__(self, app: ASGIApp, verifier: TodoistTokenVerifier, *, metadata_url: str) -> None:
        self._app = AuthContextMiddleware(app)
        self._verifier = verifier
        self._challenge = f'Bearer resource_metadata="{metadata_url}"'

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        headers = {name.lower(): value for name, value in scope.get("headers", [])}
        raw = headers.get(b"authorization")
        token = bearer_token(raw.decode("latin-1") if raw is not None else None)
        if token is None:
            await self._refuse(send, 401, "invalid_request", "send Authorization: Bearer <Todoist token>")
            return
        try:
            access = await self._verifier.verify_token(token)
        except TokenCheckOverBudget as exc:
            await self._refuse(send, 429, "temporarily_unavailable", str(exc), retry_after=exc.retry_after)
            return
        except TokenCheckUnavailable:
            logger.warning("could not check a bearer token: the Sync endpoint is unavailable")
            await self._refuse(send, 503, "temporarily_unavailable", "Todoist could not be reached to check the token")
            return
        if access is None:
            await self._refuse(send, 401, "invalid_token", "Todoist did not accept this token")
            return
        scope["user"] = AuthenticatedUser(access)
        scope["auth"] = AuthCredentials(access.scopes)
        await self._app(scope, receive, self._guarded(scope, send, token))

    def _guarded(self, scope: Scope, send: Send, token: str) -> Send:
        """``send`` holding the response's start until its first body: a token that expired or was revoked since the
        gate's (cached) check is found by the call's own Sync request, and the client must see 401 with the challenge,
        which makes it refresh or log in again, not a tool error it would show the model. Once a body has gone out
        (e.g. a progress notification on an SSE stream) the status is sent; the token is refused from then on."""
        held: list[Message] = []
        state = {"replaced": False, "started": False}

        async def guarded(message: Message) -> None:
            if state["replaced"]:
                return
            if message["type"] == "http.response.start" and not state["started"]:
                held.append(message)
                return
            if message["type"] == "http.response.body" and held:
                if scope.get(TOKEN_REFUSED):
                    state["replaced"] = True
                    self._verifier.refused(token)
                    await self._refuse(send, 401, "invalid_token", "Todoist refused this token: expired or revoked")
                    return
                state["started"] = True
                await send(held.pop())
            if scope.get(TOKEN_REFUSED):
                self._verifier.refused(token)
            await send(message)

        return guarded

    async def _refuse(
        self, send: Send, status: int, error: str, description: str, *, retry_after: float = 30.0
    ) -> None:
        body = json.dumps({"error": error, "error_description": description}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        if status == 401:
            challenge = f'{self._challenge}, error="{error}"' if error == "invalid_token" else self._challenge
            headers.append((b"www-authenticate", challenge.encode()))
        else:
            headers.append((b"retry-after", str(max(1, round(retry_after))).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
