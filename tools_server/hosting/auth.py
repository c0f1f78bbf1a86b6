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
import re
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
# Checks of tokens not yet known (good or bad) one client address may cause per window: made-up tokens cost at most
# this many Sync requests per address and minute, however many are sent. Several users behind one NAT share it.
CHECKS_PER_ADDRESS = 10
MAX_ADDRESSES = 4096
# RFC 6750 §2.1 b64token: a token with any other character (a space, a non-ASCII byte) is malformed, a 401.
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")


class TokenCheckUnavailable(Exception):
    """The Sync endpoint could not be asked whether a token is good (network, 5xx, rate limit)."""


class TokenCheckOverBudget(TokenCheckUnavailable):
    """The account's request budget (shared by replicas), or the client address's token checks, are used up for the
    window: 429 with Retry-After, not 503."""

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


class _Verdicts:
    """Verdicts by token fingerprint, at most ``size``, least recently used first out, each good for ``ttl`` s."""

    def __init__(self, size: int, ttl: float) -> None:
        self._size = size
        self._ttl = ttl
        self._items: OrderedDict[str, _Verdict] = OrderedDict()

    def get(self, key: str, now: float) -> _Verdict | None:
        verdict = self._items.get(key)
        if verdict is None or verdict.until <= now:
            return None
        self._items.move_to_end(key)
        return verdict

    def put(self, key: str, token: AccessToken | None, now: float) -> None:
        self._items[key] = _Verdict(token, now + self._ttl)
        self._items.move_to_end(key)
        while len(self._items) > self._size:
            self._items.popitem(last=False)

    def known(self, key: str) -> bool:
        """Whether ``key`` has a verdict here, expired or not (until it is pushed out)."""
        return key in self._items

    def drop(self, key: str) -> None:
        self._items.pop(key, None)


class AddressLimit:
    """At most ``checks`` token checks per client address per ``window`` seconds (fixed windows), for at most
    ``max_addresses`` addresses (least recently seen first out: an attacker with many addresses forgets old ones,
    which costs nothing but the memory bound)."""

    def __init__(self, *, checks: int, window: float, clock: Clock, max_addresses: int = MAX_ADDRESSES) -> None:
        self._checks = checks
        self._window = window
        self._clock = clock
        self._max = max_addresses
        self._used: OrderedDict[str, tuple[int, int]] = OrderedDict()  # address -> (window index, checks made)

    def take(self, address: str) -> float | None:
        """Take one check for ``address``: None when allowed, else the seconds until its next window."""
        now = self._clock.monotonic()
        index = int(now // self._window)
        window, used = self._used.get(address, (index, 0))
        if window != index:
            used = 0
        if used >= self._checks:
            return (index + 1) * self._window - now
        self._used[address] = (index, used + 1)
        self._used.move_to_end(address)
        while len(self._used) > self._max:
            self._used.popitem(last=False)
        return None


class TodoistTokenVerifier(TokenVerifier):
    """A token is good when one Sync read (the user resource) succeeds with it; the verdict, good or bad, is kept for
    ``ttl`` seconds by token fingerprint so a busy client costs one check a minute, not one per call.

    The verdicts hold fingerprints only (never a token): at most ``max_entries`` good and as many bad ones, in two
    caches so a flood of made-up tokens never pushes out a real account's verdict. A token not in either costs one
    Sync read, at most ``checks_per_address`` per client address and window (then 429 with Retry-After); a token
    whose good verdict expired is re-checked without counting. Nothing is
    created for an account before its token is good: the request budget is charged for the check afterwards. A revoked
    token keeps working for at most ``ttl`` seconds.
    """

    def __init__(
        self,
        client_for: Callable[[str], SyncClient],
        *,
        clock: Clock = SYSTEM_CLOCK,
        ttl: float = VERDICT_SECONDS,
        max_entries: int = MAX_VERDICTS,
        checks_per_address: int = CHECKS_PER_ADDRESS,
        spend: Spend | None = None,
    ) -> None:
        self._client_for = client_for
        self._spend = spend
        self._clock = clock
        self._good = _Verdicts(max_entries, ttl)
        self._bad = _Verdicts(max_entries, ttl)
        self._addresses = AddressLimit(checks=checks_per_address, window=ttl, clock=clock)
        self.checks = 0  # Sync reads made, for tests and the benchmark

    async def verify_token(self, token: str) -> AccessToken | None:
        return await self.verify(token, address=None)

    async def verify(self, token: str, *, address: str | None) -> AccessToken | None:
        """The token's verdict; ``address`` (the client's) is charged when it takes a Sync read to know it."""
        token = token.strip()
        if not token:
            return None
        key = token_fingerprint(token)
        now = self._clock.monotonic()
        cached = self._good.get(key, now) or self._bad.get(key, now)
        if cached is not None:
            # The cached AccessToken carries the token it was made for; a fingerprint collision must not lend it out.
            return cached.token if cached.token is None or cached.token.token == token else None
        # A token that was good before (its verdict just expired) is re-checked whatever its address spent: users
        # behind one NAT re-check every minute, and a made-up token can never be in this cache.
        if address is not None and not self._good.known(key):
            wait = self._addresses.take(address)
            if wait is not None:
                raise TokenCheckOverBudget(
                    f"too many new tokens from this address; try again in {max(1, round(wait))} s", wait
                )
        self.checks += 1
        try:
            await self._client_for(token).sync(sync_token="*", resource_types=["user"])
        except TokenRejected:
            self._bad.put(key, None, now)
            return None
        except SyncFailure as exc:
            raise TokenCheckUnavailable(str(exc)) from exc
        verdict = AccessToken(token=token, client_id=key, scopes=list(SCOPES), subject=key)
        self._good.put(key, verdict, now)
        if self._spend is not None:
            try:
                await self._spend(token)  # the check was a request to the account's Todoist limit like any other
            except BudgetSpent as exc:
                raise TokenCheckOverBudget(str(exc), exc.retry_after) from exc
            except StateRefusal as exc:
                raise TokenCheckUnavailable(str(exc)) from exc
        return verdict

    def refused(self, token: str) -> None:
        """The Sync endpoint refused ``token`` during a call: it is bad from now on, not when the verdict expires."""
        key = token_fingerprint(token.strip())
        self._good.drop(key)
        self._bad.put(key, None, self._clock.monotonic())


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
    if scheme.lower() != "bearer" or not _B64TOKEN.fullmatch(token):
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
            client = scope.get("client")
            access = await self._verifier.verify(token, address=str(client[0]) if client else "")
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
