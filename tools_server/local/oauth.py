"""A stand-in for Todoist's OAuth authorization server, so login and hosted OAuth are tested offline.

It answers at Todoist's own paths with Todoist's documented behaviour (API v1 docs, "Authorization"): RFC 8414
metadata at ``/.well-known/oauth-authorization-server``, RFC 7591 registration at ``/oauth/register`` (201, ``tdd_``
client ids, ``Cache-Control: no-store``), ``/oauth/authorize`` with a consent page, ``/oauth/access_token`` (the
authorization-code and rotating refresh-token grants, access tokens living an hour), RFC 7009 revocation at
``/api/v1/revoke`` (client credentials in HTTP Basic). PKCE S256 is required of every client (OAuth 2.1), codes are
single-use and live ``CODE_SECONDS``; a replayed code also revokes what it issued (RFC 6749 §4.1.2).

Hand-written, sans-I/O: the MCP SDK's authorization-server routes serve fixed paths (``/authorize``, ``/token``) that
are not Todoist's and belong to the MCP layer, which this wing must not import; no other library is an authorization
server one can embed. Everything is kept in memory (a restart logs everyone out) and time comes from the injected
clock.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import html
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

from tools_server.clock import SYSTEM_CLOCK, Clock

METADATA_PATH = "/.well-known/oauth-authorization-server"
AUTHORIZE_PATH = "/oauth/authorize"
TOKEN_PATH = "/oauth/access_token"
REGISTER_PATH = "/oauth/register"
REVOKE_PATH = "/api/v1/revoke"
OAUTH_PATHS = frozenset({METADATA_PATH, AUTHORIZE_PATH, TOKEN_PATH, REGISTER_PATH, REVOKE_PATH})

# Todoist's scopes (API v1 docs, "Permission scopes"); backups:read is first-party only, so registration refuses it.
SCOPES = ("task:add", "data:read", "data:read_write", "data:delete", "project:delete")
RESTRICTED_SCOPES = frozenset({"backups:read"})
AUTH_METHODS = ("client_secret_post", "client_secret_basic", "none")
CODE_SECONDS = 120.0
ACCESS_SECONDS = 3600  # Todoist: access tokens of new applications expire one hour after they are issued
CONSENT_SECONDS = 600.0
MAX_REDIRECT_URIS = 10
MAX_URI_CHARS = 512
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]", "::1"})

TokenVerdict = Literal["ok", "expired", "revoked", "unknown"]


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    content: bytes


def _json(status: int, body: object, headers: Mapping[str, str] | None = None) -> Reply:
    return Reply(status, {"content-type": "application/json", **(headers or {})}, json.dumps(body).encode())


def _oauth_error(status: int, error: str, description: str) -> Reply:
    return _json(status, {"error": error, "error_description": description}, {"cache-control": "no-store"})


def _redirect(location: str) -> Reply:
    return Reply(302, {"location": location, "cache-control": "no-store"}, b"")


@dataclass
class _Client:
    client_id: str
    secret: str | None
    redirect_uris: tuple[str, ...]
    method: str
    name: str
    grant_types: tuple[str, ...]


@dataclass
class _Pending:
    """A validated authorization request waiting for the user's answer on the consent page."""

    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    state: str | None
    challenge: str
    until: float


@dataclass
class _Code:
    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    challenge: str
    until: float
    used: bool = False
    issued: list[str] = field(default_factory=list[str])  # access tokens it gave, revoked if it is replayed


@dataclass
class _Access:
    client_id: str
    scopes: tuple[str, ...]
    until: float
    refresh: str | None
    revoked: bool = False


@dataclass
class _Refresh:
    client_id: str
    scopes: tuple[str, ...]
    access: str
    used: bool = False


def _hash(token: str) -> str:
    # Only digests are kept: what the server holds cannot be replayed if it leaks.
    return hashlib.sha256(token.encode()).hexdigest()


def _is_loopback(uri: str) -> bool:
    parts = urlsplit(uri)
    return parts.scheme == "http" and (parts.hostname or "") in LOOPBACK_HOSTS


def _redirect_matches(registered: str, given: str) -> bool:
    """Exact match, except that a loopback redirect may use any port (RFC 8252 §7.3: native apps pick one)."""
    if registered == given:
        return True
    if not (_is_loopback(registered) and _is_loopback(given)):
        return False
    a, b = urlsplit(registered), urlsplit(given)
    return (a.hostname, a.path, a.query) == (b.hostname, b.path, b.query)


def _scopes(text: str) -> tuple[str, ...]:
    # Todoist's own docs separate scopes with commas; RFC 6749 clients (the MCP SDK's) with spaces: take both.
    return tuple(dict.fromkeys(s for s in text.replace(",", " ").split() if s))


def _form(body: bytes) -> dict[str, str]:
    try:
        fields = parse_qs(body.decode(), keep_blank_values=True)
    except UnicodeDecodeError:
        return {}
    return {name: values[-1] for name, values in fields.items()}


class AuthorizationServer:
    """The stand-in's state and rules; ``handle`` maps one HTTP request to one reply."""

    def __init__(self, issuer: str, *, clock: Clock = SYSTEM_CLOCK, account_name: str = "local account") -> None:
        self.issuer = issuer.rstrip("/")
        self._clock = clock
        self._account = account_name
        self._clients: dict[str, _Client] = {}
        self._pending: dict[str, _Pending] = {}
        self._codes: dict[str, _Code] = {}
        self._access: dict[str, _Access] = {}
        self._refresh: dict[str, _Refresh] = {}

    # -- what the Sync endpoint asks ----------------------------------------------------------------------------

    def check(self, token: str) -> TokenVerdict:
        access = self._access.get(_hash(token))
        if access is None:
            return "unknown"
        if access.revoked:
            return "revoked"
        return "ok" if self._clock.monotonic() < access.until else "expired"

    def metadata(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": self.issuer + AUTHORIZE_PATH,
            "token_endpoint": self.issuer + TOKEN_PATH,
            "registration_endpoint": self.issuer + REGISTER_PATH,
            "revocation_endpoint": self.issuer + REVOKE_PATH,
            "scopes_supported": list(SCOPES),
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "token_endpoint_auth_methods_supported": list(AUTH_METHODS),
            "revocation_endpoint_auth_methods_supported": ["client_secret_basic"],
            "code_challenge_methods_supported": ["S256"],
        }

    # -- HTTP ---------------------------------------------------------------------------------------------------

    def handle(self, method: str, path: str, headers: Mapping[str, str], query: str, body: bytes) -> Reply:
        """``headers`` with lower-case names."""
        allowed = {
            METADATA_PATH: ("GET",),
            REGISTER_PATH: ("POST",),
            AUTHORIZE_PATH: ("GET", "POST"),
            TOKEN_PATH: ("POST",),
            REVOKE_PATH: ("POST",),
        }[path]
        if method not in allowed:
            reply = _oauth_error(405, "invalid_request", f"use {' or '.join(allowed)}")
            return Reply(reply.status, {**reply.headers, "allow": ", ".join(allowed)}, reply.content)
        if path == METADATA_PATH:
            return _json(200, self.metadata())
        if path == REGISTER_PATH:
            return self._register(body)
        if path == AUTHORIZE_PATH:
            return self._authorize(_form(query.encode())) if method == "GET" else self._consent(_form(body))
        fields = _fields(headers.get("content-type", ""), body)
        if path == TOKEN_PATH:
            return self._token(headers, fields)
        return self._revoke(headers, fields)

    # -- registration (RFC 7591) --------------------------------------------------------------------------------

    def _register(self, body: bytes) -> Reply:
        try:
            meta: Any = json.loads(body or b"{}")
        except ValueError:
            return _oauth_error(400, "invalid_client_metadata", "the body is not a JSON object")
        if not isinstance(meta, dict):
            return _oauth_error(400, "invalid_client_metadata", "the body is not a JSON object")
        data: dict[str, Any] = meta  # pyright: ignore[reportUnknownVariableType]
        uris: Any = data.get("redirect_uris")
        if not isinstance(uris, list) or not uris or len(uris) > MAX_REDIRECT_URIS:  # pyright: ignore[reportUnknownArgumentType]
            return _oauth_error(400, "invalid_client_metadata", "redirect_uris: 1 to 10 URIs are required")
        redirect_uris: list[str] = []
        for uri in uris:  # pyright: ignore[reportUnknownVariableType]
            if not isinstance(uri, str) or len(uri) > MAX_URI_CHARS:
                return _oauth_error(400, "invalid_client_metadata", "redirect_uris: each at most 512 characters")
            parts = urlsplit(uri)
            if not (parts.scheme == "https" and parts.hostname) and not _is_loopback(uri):
                return _oauth_error(400, "invalid_client_metadata", f"redirect_uris: {uri!r} must be HTTPS or loopback")
            redirect_uris.append(uri)
        grants: Any = data.get("grant_types", ["authorization_code"])
        if not isinstance(grants, list) or "authorization_code" not in grants:
            return _oauth_error(400, "invalid_client_metadata", "grant_types must include authorization_code")
        responses: Any = data.get("response_types", ["code"])
        if not isinstance(responses, list) or "code" not in responses:
            return _oauth_error(400, "invalid_client_metadata", "response_types must include code")
        method: Any = data.get("token_endpoint_auth_method", "client_secret_post")
        if method not in AUTH_METHODS:
            methods = ", ".join(AUTH_METHODS)
            return _oauth_error(400, "invalid_client_metadata", f"token_endpoint_auth_method must be one of {methods}")
        scope: Any = data.get("scope", "data:read_write")
        if not isinstance(scope, str):
            return _oauth_error(400, "invalid_client_metadata", "scope must be a string")
        wanted = _scopes(scope)
        if any(s in RESTRICTED_SCOPES or s not in SCOPES for s in wanted):
            return _oauth_error(400, "invalid_scope", f"scope {scope!r} is unknown or restricted")
        name: Any = data.get("client_name", "")
        client = _Client(
            client_id="tdd_" + secrets.token_hex(16),
            secret=None if method == "none" else secrets.token_hex(20),
            redirect_uris=tuple(redirect_uris),
            method=str(method),
            name=name if isinstance(name, str) else "",
            grant_types=tuple(str(g) for g in grants),  # pyright: ignore[reportUnknownArgumentType, reportUnknownVariableType]
        )
        self._clients[client.client_id] = client
        issued: dict[str, Any] = {
            "client_id": client.client_id,
            "client_name": client.name,
            "redirect_uris": list(client.redirect_uris),
            "scope": " ".join(wanted),
            "grant_types": list(client.grant_types),
            "response_types": ["code"],
            "token_endpoint_auth_method": client.method,
            "client_id_issued_at": int(self._clock.now().timestamp()),
        }
        if client.secret is not None:
            issued |= {"client_secret": client.secret, "client_secret_expires_at": 0}
        return _json(201, issued, {"cache-control": "no-store", "pragma": "no-cache"})

    # -- authorization and consent ------------------------------------------------------------------------------

    def _authorize(self, params: Mapping[str, str]) -> Reply:
        client = self._clients.get(params.get("client_id", ""))
        if client is None:
            return _oauth_error(400, "invalid_client", "unknown client_id")
        given = params.get("redirect_uri")
        if given is None:
            if len(client.redirect_uris) != 1:
                return _oauth_error(400, "invalid_request", "redirect_uri is required: the client has several")
            given = client.redirect_uris[0]
        elif not any(_redirect_matches(r, given) for r in client.redirect_uris):
            # Never redirect to an address the client did not register: the error goes to the browser.
            return _oauth_error(400, "invalid_request", "redirect_uri is not registered for this client")
        state = params.get("state")

        def refuse(error: str, description: str) -> Reply:
            extra = {"state": state} if state is not None else {}
            return _redirect(_with_query(given, {"error": error, "error_description": description, **extra}))

        if params.get("response_type", "code") != "code":
            return refuse("unsupported_response_type", "only response_type=code")
        challenge = params.get("code_challenge", "")
        if not challenge or params.get("code_challenge_method") != "S256":
            return refuse("invalid_request", "PKCE is required: code_challenge with code_challenge_method=S256")
        wanted = _scopes(params.get("scope", ""))
        if not wanted or any(s not in SCOPES for s in wanted):
            return refuse("invalid_scope", "scope must name Todoist scopes, e.g. data:read_write")
        ticket = secrets.token_urlsafe(24)
        self._pending[ticket] = _Pending(
            client.client_id, given, wanted, state, challenge, self._clock.monotonic() + CONSENT_SECONDS
        )
        page = _consent_page(client.name or client.client_id, wanted, ticket, self._account)
        return Reply(200, {"content-type": "text/html; charset=utf-8", "cache-control": "no-store"}, page.encode())

    def _consent(self, form: Mapping[str, str]) -> Reply:
        pending = self._pending.pop(form.get("ticket", ""), None)
        if pending is None or pending.until <= self._clock.monotonic():
            return _oauth_error(400, "invalid_request", "this consent page has expired; start the login again")
        extra = {"state": pending.state} if pending.state is not None else {}
        if form.get("decision") != "allow":
            return _redirect(_with_query(pending.redirect_uri, {"error": "access_denied", **extra}))
        code = secrets.token_urlsafe(32)
        self._codes[_hash(code)] = _Code(
            pending.client_id, pending.redirect_uri, pending.scopes, pending.challenge,
            self._clock.monotonic() + CODE_SECONDS,
        )  # fmt: skip
        return _redirect(_with_query(pending.redirect_uri, {"code": code, **extra}))

    # -- tokens -------------------------------------------------------------------------------------------------

    def _authenticate(self, headers: Mapping[str, str], form: Mapping[str, str]) -> _Client | None:
        """The client a token or revocation request comes from, by its registered method; None if it fails."""
        basic = _basic(headers.get("authorization", ""))
        client_id = basic[0] if basic else form.get("client_id", "")
        client = self._clients.get(client_id)
        if client is None:
            return None
        if client.secret is None:
            return client if basic is None or not basic[1] else None
        secret = basic[1] if basic else form.get("client_secret", "")
        return client if hmac.compare_digest(secret.encode(), client.secret.encode()) else None

    def _token(self, headers: Mapping[str, str], form: Mapping[str, str]) -> Reply:
        client = self._authenticate(headers, form)
        if client is None:
            return _oauth_error(401, "invalid_client", "unknown client or wrong client credentials")
        grant = form.get("grant_type", "authorization_code")  # Todoist's documented exchange omits it
        if grant == "refresh_token":
            return self._refreshed(client, form.get("refresh_token", ""))
        if grant != "authorization_code":
            return _oauth_error(400, "unsupported_grant_type", "grant_type is authorization_code or refresh_token")
        code = self._codes.get(_hash(form.get("code", "")))
        if code is None or code.client_id != client.client_id:
            return _oauth_error(400, "invalid_grant", "unknown authorization code")
        if code.used:
            for access in code.issued:  # a replayed code: someone else may hold it, so what it gave is withdrawn
                self._revoke_access(access)
            return _oauth_error(400, "invalid_grant", "the authorization code was already used")
        if code.until <= self._clock.monotonic():
            return _oauth_error(400, "invalid_grant", "the authorization code has expired")
        if "redirect_uri" in form and form["redirect_uri"] != code.redirect_uri:
            return _oauth_error(400, "invalid_grant", "redirect_uri differs from the authorization request")
        verifier = form.get("code_verifier", "")
        digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        code.used = True  # a failed verifier also spends the code: it cannot be guessed at
        if not verifier or not hmac.compare_digest(digest, code.challenge):
            return _oauth_error(400, "invalid_grant", "code_verifier does not match the code_challenge")
        reply, access = self._issue(client, code.scopes)
        code.issued.append(access)
        return reply

    def _refreshed(self, client: _Client, token: str) -> Reply:
        refresh = self._refresh.get(_hash(token))
        if refresh is None or refresh.client_id != client.client_id or refresh.used:
            return _oauth_error(400, "invalid_grant", "the refresh token is unknown, revoked or already used")
        refresh.used = True  # rotated on every refresh
        self._revoke_access(refresh.access)
        return self._issue(client, refresh.scopes)[0]

    def _issue(self, client: _Client, scopes: tuple[str, ...]) -> tuple[Reply, str]:
        access = secrets.token_hex(20)
        refresh = secrets.token_hex(20) if "refresh_token" in client.grant_types else None
        key = _hash(access)
        self._access[key] = _Access(
            client.client_id, scopes, self._clock.monotonic() + ACCESS_SECONDS, _hash(refresh) if refresh else None
        )
        body: dict[str, Any] = {
            "access_token": access, "token_type": "Bearer", "expires_in": ACCESS_SECONDS, "scope": ",".join(scopes)
        }  # fmt: skip
        if refresh is not None:
            self._refresh[_hash(refresh)] = _Refresh(client.client_id, scopes, key)
            body["refresh_token"] = refresh
        return _json(200, body, {"cache-control": "no-store", "pragma": "no-cache"}), key

    def _revoke_access(self, key: str) -> None:
        access = self._access.get(key)
        if access is None:
            return
        access.revoked = True
        if access.refresh is not None and access.refresh in self._refresh:
            self._refresh[access.refresh].used = True

    def _revoke(self, headers: Mapping[str, str], form: Mapping[str, str]) -> Reply:
        client = self._authenticate(headers, form)
        if client is None:
            return _oauth_error(401, "invalid_client", "send the client's credentials in HTTP Basic authentication")
        token = form.get("token", "")
        key = _hash(token)
        access = self._access.get(key)
        if access is not None and access.client_id == client.client_id:
            self._revoke_access(key)
        refresh = self._refresh.get(key)
        if refresh is not None and refresh.client_id == client.client_id:
            refresh.used = True
            self._revoke_access(refresh.access)
        # RFC 7009 §2.2: an unknown token is not an error; Todoist answers `null`.
        return _json(200, None)


def _fields(content_type: str, body: bytes) -> dict[str, str]:
    """Form fields, or a JSON object's members: Doist's SDK sends JSON to the token and revocation endpoints, the
    OAuth RFCs (and the MCP SDK) send forms."""
    if content_type.split(";")[0].strip().lower() != "application/json":
        return _form(body)
    try:
        decoded: Any = json.loads(body or b"{}")
    except ValueError:
        return {}
    if not isinstance(decoded, dict):
        return {}
    members: dict[str, Any] = decoded  # pyright: ignore[reportUnknownVariableType]
    return {name: value for name, value in members.items() if isinstance(value, str)}


def _basic(authorization: str) -> tuple[str, str] | None:
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, _, secret = decoded.partition(":")
    return unquote(client_id), unquote(secret)


def _with_query(uri: str, params: Mapping[str, str]) -> str:
    return uri + ("&" if urlsplit(uri).query else "?") + urlencode(params)


_SCOPE_TEXT = {
    "task:add": "add new tasks",
    "data:read": "read your tasks, projects, labels and filters",
    "data:read_write": "read and change your tasks, projects, labels and filters",
    "data:delete": "delete your tasks, labels and filters",
    "project:delete": "delete your projects",
}


def _consent_page(client: str, scopes: tuple[str, ...], ticket: str, account: str) -> str:
    items = "".join(f"<li>{html.escape(_SCOPE_TEXT.get(s, s))}</li>" for s in scopes)
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Authorize access</title></head><body>"
        f"<h1>{html.escape(client)} wants to access {html.escape(account)}</h1>"
        f"<p>It will be able to:</p><ul>{items}</ul>"
        f"<form method='post' action='{AUTHORIZE_PATH}'>"
        f"<input type='hidden' name='ticket' value='{html.escape(ticket)}'>"
        "<button type='submit' name='decision' value='allow'>Allow</button> "
        "<button type='submit' name='decision' value='deny'>Deny</button>"
        "</form><p>(tools-server local-api: a stand-in for Todoist's authorization server)</p></body></html>"
    )


@dataclass(frozen=True)
class TokenGate:
    """Which bearer tokens the Sync endpoint takes: local-api's own ``--token``, its other accounts' tokens
    (``also``) and the access tokens the stand-in issued, until they expire or are revoked."""

    static: str | None
    server: AuthorizationServer
    also: frozenset[str] = frozenset()

    def verdict(self, token: str) -> TokenVerdict:
        fixed = [t for t in (self.static, *sorted(self.also)) if t is not None]
        # Every fixed token is compared (no early exit): how long it takes says nothing of which one matched.
        if sum(hmac.compare_digest(token.encode(), t.encode()) for t in fixed):
            return "ok"
        return self.server.check(token)
