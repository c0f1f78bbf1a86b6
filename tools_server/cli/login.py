"""`tools-server login` / `logout` / `whoami`: OAuth 2.1 against Todoist's authorization server, no token to copy.

The flow (RFC 8252, a native app): discover the server's RFC 8414 metadata, register this installation (RFC 7591
dynamic registration; or name it by a Client ID Metadata Document URL where the server supports those), listen on a
loopback port, send the user's browser to the authorization endpoint with a PKCE S256 challenge, take the code the
browser brings back, exchange it with the verifier, and keep the token (see credentials.py). Todoist documents all of
it: metadata at ``https://todoist.com/.well-known/oauth-authorization-server``, registration at ``/oauth/register``,
public and confidential clients, access tokens that live an hour with rotating refresh tokens, RFC 7009 revocation
with the client's credentials in HTTP Basic (API v1 docs, "Authorization").

The MCP SDK gives the pieces that fit: discovery URLs, the metadata, registration and token models, PKCE values. Its
``OAuthClientProvider`` is an httpx auth flow for an MCP server that answers 401; here the protected resource is
Todoist's Sync API and the flow runs once from a terminal, so the few requests are made here. The loopback listener
is the standard library's ``http.server``.
"""

from __future__ import annotations

import base64
import logging
import secrets
import sys
import threading
import webbrowser
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import httpx
from mcp.client.auth.oauth2 import PKCEParameters
from mcp.client.auth.utils import build_oauth_authorization_server_metadata_discovery_urls
from mcp.shared.auth import OAuthClientInformationFull, OAuthClientMetadata, OAuthMetadata, OAuthToken
from pydantic import AnyUrl, ValidationError

from tools_server.cli.checks import EXIT_CONFIG, EXIT_LOGIN, EXIT_UNREACHABLE, StartupError
from tools_server.cli.credentials import Credential, Place, forget, load, save
from tools_server.clock import SYSTEM_CLOCK, Clock

logger = logging.getLogger(__name__)

DEFAULT_ISSUER = "https://todoist.com"
# What the tools need: read and write tasks, delete tasks (Todoist's scope names, sent comma-separated).
DEFAULT_SCOPES = ("data:read_write", "data:delete")
LOGIN_HINT = "run tools-server login"
WAIT_SECONDS = 300.0
REFRESH_MARGIN_SECONDS = 60.0
TIMEOUT = httpx.Timeout(30.0, connect=10.0)


class LoginError(StartupError):
    def __init__(self, message: str, code: int = EXIT_LOGIN) -> None:
        super().__init__(message, code)


def issuer_of(env: Mapping[str, str], given: str | None = None) -> str:
    """The authorization server: ``--auth-server``, else TOOLS_SERVER_AUTH_SERVER, else Todoist."""
    issuer = (given or env.get("TOOLS_SERVER_AUTH_SERVER") or DEFAULT_ISSUER).strip().rstrip("/")
    parts = urlsplit(issuer)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise LoginError(f"the authorization server must be an https:// URL, not {issuer!r}", EXIT_CONFIG)
    if parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise LoginError(f"the authorization server must use https (http only on this machine): {issuer}", EXIT_CONFIG)
    return issuer


def parse_scopes(text: str | None) -> tuple[str, ...]:
    if text is None:
        return DEFAULT_SCOPES
    scopes = tuple(dict.fromkeys(s.strip() for s in text.replace(" ", ",").split(",") if s.strip()))
    if not scopes:
        raise LoginError("--scopes: name at least one scope, e.g. data:read_write", EXIT_CONFIG)
    return scopes


# ---------------------------------------------------------------------------------------------------------------------
# Requests to the authorization server


def _post(http: httpx.Client, url: str, what: str, **kwargs: Any) -> httpx.Response:
    try:
        return http.post(url, **kwargs)
    except httpx.HTTPError as exc:
        host = urlsplit(url).hostname
        raise LoginError(f"{what}: {host} could not be reached ({type(exc).__name__})", EXIT_UNREACHABLE) from None


def _refused(what: str, response: httpx.Response) -> LoginError:
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    detail = ""
    if isinstance(body, dict):
        fields: dict[str, Any] = body  # pyright: ignore[reportUnknownVariableType]
        detail = ": " + ", ".join(str(fields[k]) for k in ("error", "error_description") if fields.get(k))
    return LoginError(f"{what} was refused (HTTP {response.status_code}{detail})")


def discover(http: httpx.Client, issuer: str) -> OAuthMetadata:
    """RFC 8414 metadata of ``issuer`` (the OpenID location as a fallback, like the MCP SDK's discovery)."""
    for url in build_oauth_authorization_server_metadata_discovery_urls(issuer, issuer):
        try:
            response = http.get(url)
        except httpx.HTTPError as exc:
            raise LoginError(
                f"{urlsplit(issuer).hostname} could not be reached ({type(exc).__name__})", EXIT_UNREACHABLE
            ) from None
        if response.status_code != 200:
            continue
        try:
            metadata = OAuthMetadata.model_validate_json(response.content)
        except ValidationError:
            continue
        if str(metadata.issuer).rstrip("/") != issuer:  # RFC 8414 §3.3: a document for another issuer is not used
            raise LoginError(f"{url} describes another issuer ({metadata.issuer}), not {issuer}")
        if "S256" not in (metadata.code_challenge_methods_supported or []):
            raise LoginError(f"{issuer} does not offer PKCE with S256, which login requires")
        return metadata
    raise LoginError(f"{issuer} publishes no OAuth authorization server metadata (RFC 8414)")


@dataclass(frozen=True)
class Client:
    client_id: str
    secret: str | None
    method: str  # client_secret_basic, client_secret_post or none


def register(http: httpx.Client, metadata: OAuthMetadata, redirect_uri: str, scopes: tuple[str, ...]) -> Client:
    """RFC 7591: this installation registers itself, with a secret of its own (RFC 8252 §8.4 allows per-instance
    secrets) because Todoist revokes a token only for a client that authenticates with HTTP Basic."""
    if metadata.registration_endpoint is None:
        raise LoginError(
            f"{metadata.issuer} has no registration endpoint: pass --client-id-url with a Client ID Metadata Document"
        )
    request = OAuthClientMetadata(
        redirect_uris=[AnyUrl(redirect_uri)],
        token_endpoint_auth_method="client_secret_basic",
        grant_types=["authorization_code", "refresh_token"],
        response_types=["code"],
        scope=" ".join(scopes),  # RFC 7591: space-separated, as Todoist's registration documents too
        client_name="tools-server",
    )
    body = request.model_dump(mode="json", exclude_none=True, exclude={"application_type"})
    response = _post(http, str(metadata.registration_endpoint), "registering tools-server", json=body)
    if response.status_code not in (200, 201):
        raise _refused("registering tools-server", response)
    try:
        issued = OAuthClientInformationFull.model_validate_json(response.content)
    except ValidationError:
        raise LoginError("the registration answer could not be read") from None
    method = issued.token_endpoint_auth_method or "client_secret_basic"
    return Client(issued.client_id, issued.client_secret, method)


def client_auth(client: Client, form: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """The form and headers of a request authenticated as ``client`` by its registered method (RFC 6749 §2.3.1)."""
    if client.method == "client_secret_basic" and client.secret:
        pair = f"{quote(client.client_id, safe='')}:{quote(client.secret, safe='')}"
        return form, {"authorization": "Basic " + base64.b64encode(pair.encode()).decode()}
    if client.method == "client_secret_post" and client.secret:
        return {**form, "client_id": client.client_id, "client_secret": client.secret}, {}
    return {**form, "client_id": client.client_id}, {}


def _token_request(http: httpx.Client, url: str, client: Client, form: dict[str, str], what: str) -> OAuthToken:
    data, headers = client_auth(client, form)
    response = _post(http, url, what, data=data, headers=headers)
    if response.status_code != 200:
        raise _refused(what, response)
    try:
        return OAuthToken.model_validate_json(response.content)
    except ValidationError:
        raise LoginError(f"{what}: the answer could not be read") from None


# ---------------------------------------------------------------------------------------------------------------------
# The loopback redirect (RFC 8252 §7.3)


class _Callback(HTTPServer):
    params: dict[str, str] | None = None


class _Handler(BaseHTTPRequestHandler):
    server: _Callback  # pyright: ignore[reportIncompatibleVariableOverride]

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path != "/callback":
            self.send_error(404)
            return
        params = dict(parse_qsl(parts.query))
        self.server.params = params
        ok = "code" in params
        text = (
            "Logged in: tools-server has your Todoist token. You can close this tab."
            if ok
            else "Login did not complete. Return to the terminal for the reason."
        )
        body = f"<!doctype html><meta charset='utf-8'><title>tools-server</title><p>{text}</p>".encode()
        self.send_response(200)
        self.send_header("content-type", "text/html; charset=utf-8")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the request line carries the authorization code: never logged


def _wait_for_callback(server: _Callback, clock: Clock, seconds: float) -> dict[str, str]:
    deadline = clock.monotonic() + seconds
    while server.params is None:
        left = deadline - clock.monotonic()
        if left <= 0:
            raise LoginError(f"no answer from the browser within {round(seconds)} s; run tools-server login again")
        server.timeout = min(left, 1.0)
        server.handle_request()
    return server.params


# ---------------------------------------------------------------------------------------------------------------------
# The commands


Say = Callable[[str], None]


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _account_name(http: httpx.Client, sync_url: str, token: str) -> str:
    """The account's name and email from one Sync read of the user resource."""
    data = {"sync_token": "*", "resource_types": '["user"]'}
    response = _post(http, sync_url, "reading the account", data=data, headers={"authorization": f"Bearer {token}"})
    if response.status_code in (401, 403):
        raise LoginError(f"Todoist refused the stored token: {LOGIN_HINT}", EXIT_CONFIG)
    if response.status_code != 200:
        raise _refused("reading the account", response)
    user: Any = response.json().get("user") or {}
    name, email = str(user.get("full_name") or "").strip(), str(user.get("email") or "").strip()
    return f"{name} <{email}>" if name and email else name or email or f"user {user.get('id', '?')}"


def login(
    env: Mapping[str, str],
    *,
    sync_url: str,
    issuer: str,
    scopes: tuple[str, ...],
    open_browser: bool = True,
    client_id_url: str | None = None,
    clock: Clock = SYSTEM_CLOCK,
    say: Say = _say,
    wait_seconds: float = WAIT_SECONDS,
) -> tuple[Credential, Place]:
    with httpx.Client(timeout=TIMEOUT) as http:
        metadata = discover(http, issuer)
        server = _Callback(("127.0.0.1", 0), _Handler)
        try:
            redirect_uri = f"http://127.0.0.1:{server.server_address[1]}/callback"
            if client_id_url is not None:
                if not metadata.client_id_metadata_document_supported:
                    raise LoginError(f"{issuer} takes no Client ID Metadata Documents; leave out --client-id-url")
                client = Client(client_id_url, None, "none")  # a metadata-document client is public (no secret)
            else:
                client = register(http, metadata, redirect_uri, scopes)
            pkce = PKCEParameters.generate()
            state = secrets.token_urlsafe(32)
            query = urlencode({
                "response_type": "code",
                "client_id": client.client_id,
                "redirect_uri": redirect_uri,
                "scope": ",".join(scopes),  # Todoist's authorization request takes a comma-separated list
                "state": state,
                "code_challenge": pkce.code_challenge,
                "code_challenge_method": "S256",
            })  # fmt: skip
            url = f"{metadata.authorization_endpoint}?{query}"
            opened = open_browser and _open(url)
            if opened:
                say(f"Opened your browser to log in to Todoist. If it did not open, visit:\n  {url}")
            else:
                say(f"Open this address in a browser on this computer to log in to Todoist:\n  {url}")
            params = _wait_for_callback(server, clock, wait_seconds)
        finally:
            server.server_close()
        if params.get("state") != state:
            raise LoginError("the browser brought back another login's answer (state mismatch); nothing was stored")
        if "code" not in params:
            reason = params.get("error_description") or params.get("error") or "no code"
            raise LoginError(f"Todoist did not authorize tools-server ({reason})")
        form = {
            "grant_type": "authorization_code",
            "code": params["code"],
            "redirect_uri": redirect_uri,
            "code_verifier": pkce.code_verifier,
        }
        token = _token_request(http, str(metadata.token_endpoint), client, form, "the token exchange")
        account = _account_name(http, sync_url, token.access_token)
    credential = Credential(
        issuer=issuer,
        token_endpoint=str(metadata.token_endpoint),
        revocation_endpoint=str(metadata.revocation_endpoint) if metadata.revocation_endpoint else None,
        client_id=client.client_id,
        client_secret=client.secret,
        auth_method=client.method,
        access_token=token.access_token,
        refresh_token=token.refresh_token,
        expires_at=clock.now().timestamp() + token.expires_in if token.expires_in else None,
        scope=token.scope or ",".join(scopes),
        account=account,
    )
    return credential, save(env, credential)


def _open(url: str) -> bool:
    """Start the user's browser on ``url``; False when there is none (e.g. over SSH: the address is printed then).

    The browser runs in a thread: a command-line browser may only return once the page is done, and the page ends at
    the loopback address this process must be listening on to answer."""
    try:
        browser = webbrowser.get()
    except webbrowser.Error:
        return False
    threading.Thread(target=browser.open, args=(url,), daemon=True).start()
    return True


def _client_of(credential: Credential) -> Client:
    return Client(credential.client_id, credential.client_secret, credential.auth_method)


def fresh(
    env: Mapping[str, str], credential: Credential, *, clock: Clock = SYSTEM_CLOCK, force: bool = False
) -> Credential:
    """The credential with a usable access token: refreshed (and stored again) when it expires within a minute, or
    now when ``force`` (the backend refused the token)."""
    until = credential.expires_at
    if not force and (until is None or clock.now().timestamp() < until - REFRESH_MARGIN_SECONDS):
        return credential
    if credential.refresh_token is None:
        raise LoginError(f"your Todoist login has expired: {LOGIN_HINT}", EXIT_CONFIG)
    form = {"grant_type": "refresh_token", "refresh_token": credential.refresh_token}
    with httpx.Client(timeout=TIMEOUT) as http:
        try:
            client = _client_of(credential)
            token = _token_request(http, credential.token_endpoint, client, form, "refreshing the token")
        except LoginError as exc:
            if exc.code == EXIT_UNREACHABLE:
                raise
            raise LoginError(f"your Todoist login could not be renewed: {LOGIN_HINT}", EXIT_CONFIG) from None
    renewed = credential.model_copy(
        update={
            "access_token": token.access_token,
            # Todoist rotates refresh tokens; a retry inside its grace window answers without one: keep the old.
            "refresh_token": token.refresh_token or credential.refresh_token,
            "expires_at": clock.now().timestamp() + token.expires_in if token.expires_in else None,
        }
    )
    save(env, renewed)
    return renewed


def stored_login(env: Mapping[str, str], *, clock: Clock = SYSTEM_CLOCK) -> tuple[str, str] | None:
    """The stored login's access token (refreshed if due) and its account key, or None when there is no login."""
    found = load(env)
    if found is None:
        return None
    credential = found[0]
    try:
        credential = fresh(env, credential, clock=clock)
    except LoginError as exc:
        if exc.code != EXIT_UNREACHABLE:
            raise
        # Todoist cannot be reached to renew it (e.g. a host starting the server before the network is up): start
        # with the stored token; the first request it is refused renews it then.
        logger.warning("the stored login could not be renewed now: %s", exc)
    return credential.access_token, credential.state_key


def renewed_token(env: Mapping[str, str], refused: str) -> str | None:
    """A token to use instead of ``refused``, which the backend no longer takes (a long-running server whose token's
    hour is over): the stored one if another command renewed it meanwhile, else a refreshed one; None when the login
    cannot be renewed (the refusal then stands and says to log in)."""
    found = load(env)
    if found is None:
        return None
    credential = found[0]
    if credential.access_token != refused:
        return credential.access_token
    try:
        return fresh(env, credential, force=True).access_token
    except LoginError:
        return None


def logout(env: Mapping[str, str], *, say: Say = _say) -> None:
    found = load(env)
    if found is None:
        say("Not logged in: nothing to forget.")
        return
    credential, place = found
    revoked = False
    if credential.revocation_endpoint is not None:
        data, headers = client_auth(
            _client_of(credential), {"token": credential.access_token, "token_type_hint": "access_token"}
        )
        try:
            with httpx.Client(timeout=TIMEOUT) as http:
                revoked = http.post(credential.revocation_endpoint, data=data, headers=headers).status_code == 200
        except httpx.HTTPError:
            revoked = False
    forget(env)
    where = "the system keyring" if place.file is None else str(place.file)
    if revoked:
        say(f"Logged out: the token was revoked at {credential.issuer} and removed from {where}.")
    else:
        say(
            f"Logged out: the token was removed from {where}, but {credential.issuer} could not revoke it; remove "
            "tools-server under Todoist > Settings > Integrations to end its access now."
        )


def whoami(env: Mapping[str, str], *, sync_url: str, clock: Clock = SYSTEM_CLOCK) -> str:
    found = load(env)
    if found is None:
        raise LoginError(f"not logged in: {LOGIN_HINT} (or set TODOIST_API_TOKEN)", EXIT_CONFIG)
    credential, place = found
    credential = fresh(env, credential, clock=clock)
    with httpx.Client(timeout=TIMEOUT) as http:
        account = _account_name(http, sync_url, credential.access_token)
    return f"{account} (logged in at {credential.issuer}; token in {place.describe()})"
