"""local-api's stand-in for Todoist's authorization server, at its own level (``AuthorizationServer.handle``, the
sans-I/O core the HTTP app calls), and a Sync client whose token it stops taking. Time is a FixedClock."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from tests.support import FixedClock
from tools_server.local.oauth import (
    ACCESS_SECONDS,
    AUTHORIZE_PATH,
    METADATA_PATH,
    REGISTER_PATH,
    REVOKE_PATH,
    TOKEN_PATH,
    AuthorizationServer,
    TokenGate,
)
from tools_server.local.store import SyncStore
from tools_server.local.transport import LocalTransport
from tools_server.sync.client import SyncClient, TokenRejected

ISSUER = "http://auth.test"
REDIRECT = "http://127.0.0.1:5000/callback"
VERIFIER = "v" * 50
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=").decode()
FORM = {"content-type": "application/x-www-form-urlencoded"}


def _json(reply: Any) -> Any:
    return json.loads(reply.content)


def register(server: AuthorizationServer, **meta: Any) -> dict[str, Any]:
    body = {"redirect_uris": [REDIRECT], "grant_types": ["authorization_code", "refresh_token"], **meta}
    reply = server.handle("POST", REGISTER_PATH, {}, "", json.dumps(body).encode())
    assert reply.status == 201, reply.content
    return _json(reply)


def code_for(server: AuthorizationServer, client: dict[str, Any], redirect: str = REDIRECT) -> str:
    query = urlencode({"client_id": client["client_id"], "redirect_uri": redirect, "scope": "data:read_write",
                       "state": "st", "code_challenge": CHALLENGE, "code_challenge_method": "S256"})  # fmt: skip
    page = server.handle("GET", AUTHORIZE_PATH, {}, query, b"")
    ticket = re.search(r"name='ticket' value='([^']+)'", page.content.decode())
    assert ticket is not None, page.content
    reply = server.handle(
        "POST", AUTHORIZE_PATH, FORM, "", urlencode({"ticket": ticket.group(1), "decision": "allow"}).encode()
    )
    assert reply.status == 302
    return parse_qs(urlsplit(reply.headers["location"]).query)["code"][0]


def token_for(server: AuthorizationServer, client: dict[str, Any]) -> dict[str, Any]:
    form = {
        "grant_type": "authorization_code",
        "code": code_for(server, client),
        "redirect_uri": REDIRECT,
        "code_verifier": VERIFIER,
        "client_id": client["client_id"],
        "client_secret": client["client_secret"],
    }
    reply = server.handle("POST", TOKEN_PATH, FORM, "", urlencode(form).encode())
    assert reply.status == 200, reply.content
    return _json(reply)


def test_the_metadata_names_todoists_endpoints_at_todoists_paths() -> None:
    metadata = _json(AuthorizationServer(ISSUER).handle("GET", METADATA_PATH, {}, "", b""))
    assert metadata["issuer"] == ISSUER
    assert metadata["authorization_endpoint"] == ISSUER + "/oauth/authorize"
    assert metadata["token_endpoint"] == ISSUER + "/oauth/access_token"
    assert metadata["registration_endpoint"] == ISSUER + "/oauth/register"
    assert metadata["revocation_endpoint"] == ISSUER + "/api/v1/revoke"
    assert metadata["code_challenge_methods_supported"] == ["S256"]


@pytest.mark.parametrize(
    ("meta", "error", "field"),
    [
        ({"redirect_uris": []}, "invalid_client_metadata", "redirect_uris"),
        ({"redirect_uris": ["http://example.com/cb"]}, "invalid_client_metadata", "HTTPS or loopback"),
        ({"grant_types": ["refresh_token"]}, "invalid_client_metadata", "authorization_code"),
        ({"token_endpoint_auth_method": "private_key_jwt"}, "invalid_client_metadata", "token_endpoint_auth_method"),
        ({"scope": "data:read_write backups:read"}, "invalid_scope", "restricted"),
    ],
)
def test_a_registration_that_breaks_a_rule_is_refused_naming_it(meta: dict[str, Any], error: str, field: str) -> None:
    body = {"redirect_uris": [REDIRECT], **meta}
    reply = AuthorizationServer(ISSUER).handle("POST", REGISTER_PATH, {}, "", json.dumps(body).encode())
    assert reply.status == 400
    assert _json(reply)["error"] == error and field in _json(reply)["error_description"]


def test_a_loopback_redirect_may_use_another_port_but_no_other_address_is_redirected_to() -> None:
    server = AuthorizationServer(ISSUER)
    client = register(server)
    assert code_for(server, client, "http://127.0.0.1:6123/callback")  # RFC 8252 §7.3
    query = urlencode({"client_id": client["client_id"], "redirect_uri": "http://evil.test/callback",
                       "scope": "data:read", "code_challenge": CHALLENGE, "code_challenge_method": "S256"})  # fmt: skip
    refused = server.handle("GET", AUTHORIZE_PATH, {}, query, b"")
    assert refused.status == 400 and "location" not in refused.headers


def test_a_refresh_token_is_rotated_and_the_token_it_replaced_is_refused() -> None:
    clock = FixedClock()
    server = AuthorizationServer(ISSUER, clock=clock.as_clock())
    client = register(server)
    first = token_for(server, client)
    assert first["expires_in"] == ACCESS_SECONDS and server.check(first["access_token"]) == "ok"
    form = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    auth = "Basic " + base64.b64encode(f"{client['client_id']}:{client['client_secret']}".encode()).decode()
    renewed = server.handle("POST", TOKEN_PATH, {**FORM, "authorization": auth}, "", urlencode(form).encode())
    assert renewed.status == 200
    second = _json(renewed)
    assert second["refresh_token"] != first["refresh_token"]
    assert server.check(first["access_token"]) == "revoked" and server.check(second["access_token"]) == "ok"
    again = server.handle("POST", TOKEN_PATH, {**FORM, "authorization": auth}, "", urlencode(form).encode())
    assert again.status == 400 and _json(again)["error"] == "invalid_grant"
    clock.advance(seconds=ACCESS_SECONDS)
    assert server.check(second["access_token"]) == "expired"


def test_revocation_needs_the_clients_credentials() -> None:
    server = AuthorizationServer(ISSUER)
    client = register(server)
    token = token_for(server, client)["access_token"]
    anonymous = server.handle("POST", REVOKE_PATH, FORM, "", urlencode({"token": token}).encode())
    assert anonymous.status == 401 and server.check(token) == "ok"
    auth = "Basic " + base64.b64encode(f"{client['client_id']}:{client['client_secret']}".encode()).decode()
    body = json.dumps({"token": token, "token_type_hint": "access_token"}).encode()  # Doist's SDK sends JSON
    revoked = server.handle("POST", REVOKE_PATH, {"content-type": "application/json", "authorization": auth}, "", body)
    assert revoked.status == 200 and revoked.content == b"null" and server.check(token) == "revoked"


@pytest.mark.anyio
async def test_a_sync_client_whose_token_expired_renews_it_once_and_repeats_the_request() -> None:
    clock = FixedClock()
    server = AuthorizationServer(ISSUER, clock=clock.as_clock())
    client = register(server)
    old, new = token_for(server, client)["access_token"], None
    store = SyncStore(":memory:", now=clock)
    asked: list[str] = []

    async def renew() -> str | None:
        asked.append("renew")
        return new

    try:
        async with httpx.AsyncClient(transport=LocalTransport(store, expected_token=TokenGate(None, server))) as http:
            sync = SyncClient(http, url="http://auth.test/api/v1/sync", token=old, renew=renew, token_hint="log in")
            clock.advance(seconds=ACCESS_SECONDS)  # the hour is over: 401
            with pytest.raises(TokenRejected, match=r"log in$"):  # nothing to renew it with: refused, with the hint
                await sync.sync(resource_types=["user"])
            assert asked == ["renew"]
            new = token_for(server, client)["access_token"]
            fresh = SyncClient(http, url="http://auth.test/api/v1/sync", token=old, renew=renew)
            response = await fresh.sync(resource_types=["user"])
            assert response.user is not None and asked == ["renew", "renew"]
            assert fresh.requests_sent == 2  # the refused attempt and the repeat, no more
            await fresh.sync(resource_types=["user"])  # the renewed token stays in use
            assert fresh.requests_sent == 3 and asked == ["renew", "renew"]
    finally:
        store.close()
