"""Hosted multi-user mode logs users in through OAuth with no app of their own: the MCP SDK's own OAuth client
(``OAuthClientProvider``) meets 401, reads the RFC 9728 document, discovers the authorization server, registers,
runs PKCE and calls a tool. The authorization server and the Sync endpoint are local-api's (its ASGI app, the
stand-in for Todoist's), the MCP side is the real ``hosting.build_app``; every hop is HTTP in process, time is a
FixedClock."""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthClientMetadata, OAuthToken
from pydantic import AnyUrl

from tests.hosting.test_hosting import _lifespan  # pyright: ignore[reportPrivateUsage]
from tests.support import FixedClock, structured
from tools_server.cli.http import open_multi_user_backend
from tools_server.hosting.app import HttpOptions, build_app
from tools_server.hosting.auth import TodoistTokenVerifier
from tools_server.local.app import build_app as build_local_app
from tools_server.local.oauth import CODE_SECONDS, AuthorizationServer
from tools_server.local.store import SyncStore
from tools_server.server import build_server
from tools_server.sync.client import RetryPolicy

MCP_BASE = "http://mcp.test"
AUTH = "http://auth.test"
REDIRECT = "http://127.0.0.1:33418/callback"
RPC_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


class Routed(httpx2.AsyncBaseTransport):
    """One network: the MCP server and local-api by host, every request recorded as ``METHOD path``."""

    def __init__(self, mcp: Any, local: Any) -> None:
        self._mcp = httpx2.ASGITransport(app=mcp)
        self._local = httpx2.ASGITransport(app=local)
        self.seen: list[str] = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        self.seen.append(f"{request.method} {request.url.host}{request.url.path}")
        target = self._mcp if request.url.host == "mcp.test" else self._local
        return await target.handle_async_request(request)


@dataclass
class Memory:
    tokens: OAuthToken | None = None
    client: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


@dataclass
class Browser:
    """A person at a browser: opens the authorization URL, allows on the consent page, and hands over where the
    authorization server sent them back (the loopback redirect a native client listens on)."""

    http: httpx2.AsyncClient
    returned: list[dict[str, str]] = field(default_factory=list[dict[str, str]])

    async def visit(self, url: str) -> None:
        page = await self.http.get(url)
        assert page.status_code == 200, page.text
        assert "wants to access" in page.text
        ticket = re.search(r"name='ticket' value='([^']+)'", page.text)
        assert ticket is not None
        reply = await self.http.post(
            urljoin(url, "/oauth/authorize"), data={"ticket": ticket.group(1), "decision": "allow"}
        )
        assert reply.status_code == 302
        location = reply.headers["location"]
        assert location.startswith(REDIRECT)
        self.returned.append({k: v[-1] for k, v in parse_qs(urlsplit(location).query).items()})

    async def callback(self) -> AuthorizationCodeResult:
        answer = self.returned[-1]
        return AuthorizationCodeResult(code=answer["code"], state=answer.get("state"))


@dataclass
class Stack:
    clock: FixedClock
    store: SyncStore
    authority: AuthorizationServer
    network: Routed
    verifier: TodoistTokenVerifier

    def http(self, **kwargs: Any) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(transport=self.network, timeout=30, **kwargs)


@asynccontextmanager
async def stack() -> AsyncGenerator[Stack]:
    clock = FixedClock()
    store = SyncStore(":memory:", now=clock)
    authority = AuthorizationServer(AUTH, clock=clock.as_clock())
    local = build_local_app(store, None, oauth=authority)  # only tokens the stand-in issued
    env = {"TODOIST_SYNC_URL": AUTH + "/api/v1/sync"}
    sync = httpx.ASGITransport(app=local)
    try:
        async with open_multi_user_backend(env, transport=sync, policy=RetryPolicy(max_attempts=1)) as backend:
            verifier = TodoistTokenVerifier(backend.client_for, clock=clock.as_clock())
            server = build_server(backend, clock=clock.as_clock())
            app = build_app(
                server, HttpOptions(multi_user=True, allowed_hosts=("mcp.test",), authorization_server=AUTH), verifier
            )
            async with _lifespan(app):
                yield Stack(clock, store, authority, Routed(app, local), verifier)
    finally:
        store.close()


def _provider(http: httpx2.AsyncClient, memory: Memory) -> tuple[OAuthClientProvider, Browser]:
    browser = Browser(http)
    metadata = OAuthClientMetadata(
        redirect_uris=[AnyUrl(REDIRECT)],
        client_name="an MCP client",
        grant_types=["authorization_code", "refresh_token"],
        token_endpoint_auth_method="client_secret_basic",
    )
    provider = OAuthClientProvider(
        MCP_BASE + "/mcp", metadata, memory, redirect_handler=browser.visit, callback_handler=browser.callback
    )
    return provider, browser


@pytest.mark.anyio
async def test_the_sdk_oauth_client_logs_in_through_the_authorization_server_and_calls_a_tool() -> None:
    async with stack() as s, s.http() as http:
        memory = Memory()
        provider, _ = _provider(http, memory)
        async with (
            s.http(auth=provider) as authed,
            Client(streamable_http_client(MCP_BASE + "/mcp", http_client=authed)) as client,
        ):
            added = await client.call_tool("add_item", {"items": [{"content": "Logged in through OAuth"}]})
        assert not added.is_error, added
        assert structured(added)["ok"] == 1
        items = s.store.handle({"sync_token": "*", "resource_types": ["items"]}, token="x").body["items"]
        assert [i["content"] for i in items] == ["Logged in through OAuth"]
        steps = [step for step in s.network.seen if "/.well-known/openid" not in step]
        first = [
            "POST mcp.test/mcp",  # 401 with the challenge
            "GET mcp.test/.well-known/oauth-protected-resource",  # named by the challenge
            "GET auth.test/.well-known/oauth-authorization-server",
            "POST auth.test/oauth/register",
            "GET auth.test/oauth/authorize",  # the browser: consent page
            "POST auth.test/oauth/authorize",  # the browser: allow
            "POST auth.test/oauth/access_token",
            "POST mcp.test/mcp",  # the same request again, with the token
        ]
        assert steps[: len(first)] == first, steps
        assert memory.tokens is not None and memory.tokens.refresh_token
        assert memory.client is not None and memory.client.client_id.startswith("tdd_")
        assert s.authority.check(memory.tokens.access_token) == "ok"


@pytest.mark.anyio
async def test_the_protected_resource_document_names_the_configured_authorization_server() -> None:
    async with stack() as s, s.http() as http:
        document = (await http.get(MCP_BASE + "/.well-known/oauth-protected-resource")).json()
        assert document == {
            "resource": MCP_BASE + "/mcp",
            "authorization_servers": [AUTH],
            "scopes_supported": ["data:read_write", "data:delete"],
            "bearer_methods_supported": ["header"],
            "resource_name": "tools-server (Todoist over the Sync API)",
        }
        metadata = (await http.get(AUTH + "/.well-known/oauth-authorization-server")).json()
        assert metadata["registration_endpoint"] == AUTH + "/oauth/register"
        assert metadata["code_challenge_methods_supported"] == ["S256"]


async def _registered(http: httpx2.AsyncClient, method: str = "client_secret_basic") -> dict[str, Any]:
    reply = await http.post(
        AUTH + "/oauth/register",
        json={"redirect_uris": [REDIRECT], "grant_types": ["authorization_code", "refresh_token"],
              "token_endpoint_auth_method": method, "client_name": "test"},
    )  # fmt: skip
    assert reply.status_code == 201 and reply.headers["cache-control"] == "no-store"
    return reply.json()


VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"  # RFC 7636 appendix B


async def _code(http: httpx2.AsyncClient, client: dict[str, Any], challenge: str = CHALLENGE) -> str:
    params = {"client_id": client["client_id"], "redirect_uri": REDIRECT, "scope": "data:read_write",
              "state": "s1", "code_challenge": challenge, "code_challenge_method": "S256"}  # fmt: skip
    page = await http.get(AUTH + "/oauth/authorize", params=params)
    ticket = re.search(r"name='ticket' value='([^']+)'", page.text)
    assert ticket is not None, page.text
    reply = await http.post(AUTH + "/oauth/authorize", data={"ticket": ticket.group(1), "decision": "allow"})
    answer = parse_qs(urlsplit(reply.headers["location"]).query)
    assert answer["state"] == ["s1"]
    return answer["code"][0]


async def _exchange(
    http: httpx2.AsyncClient, client: dict[str, Any], code: str, verifier: str = VERIFIER
) -> httpx2.Response:
    return await http.post(
        AUTH + "/oauth/access_token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "code_verifier": verifier},
        auth=(client["client_id"], client["client_secret"]),
    )


@pytest.mark.anyio
async def test_a_replayed_code_is_refused_and_withdraws_the_token_it_gave() -> None:
    async with stack() as s, s.http() as http:
        client = await _registered(http)
        code = await _code(http, client)
        first = await _exchange(http, client, code)
        assert first.status_code == 200
        token = first.json()["access_token"]
        again = await _exchange(http, client, code)
        assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
        assert "already used" in again.json()["error_description"]
        assert s.authority.check(token) == "revoked"


@pytest.mark.anyio
async def test_a_wrong_verifier_a_missing_challenge_and_an_expired_code_are_refused() -> None:
    async with stack() as s, s.http() as http:
        client = await _registered(http)
        wrong = await _exchange(http, client, await _code(http, client), verifier="x" * 43)
        assert wrong.status_code == 400 and "code_verifier" in wrong.json()["error_description"]
        no_pkce = await http.get(
            AUTH + "/oauth/authorize",
            params={"client_id": client["client_id"], "redirect_uri": REDIRECT, "scope": "data:read", "state": "s"},
        )
        assert no_pkce.status_code == 302 and "error=invalid_request" in no_pkce.headers["location"]
        code = await _code(http, client)
        s.clock.advance(seconds=CODE_SECONDS)
        late = await _exchange(http, client, code)
        assert late.status_code == 400 and "expired" in late.json()["error_description"]


@pytest.mark.anyio
async def test_a_revoked_or_expired_token_gets_401_with_the_challenge_never_a_tool_error() -> None:
    async with stack() as s, s.http() as http:
        client = await _registered(http)
        token = (await _exchange(http, client, await _code(http, client))).json()["access_token"]
        meta = {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": dict[str, Any](),
        }
        call: dict[str, Any] = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                "params": {"name": "query_changes", "arguments": {}, "_meta": meta}}  # fmt: skip
        headers = {**RPC_HEADERS, "Authorization": f"Bearer {token}", "Mcp-Protocol-Version": "2026-07-28",
                   "Mcp-Method": "tools/call", "Mcp-Name": "query_changes"}  # fmt: skip
        ok = await http.post(MCP_BASE + "/mcp", json=call, headers=headers)
        assert ok.status_code == 200, ok.text
        assert s.verifier.checks == 1  # the good verdict is now kept a minute
        revoked = await http.post(
            AUTH + "/api/v1/revoke", data={"token": token}, auth=(client["client_id"], client["client_secret"])
        )
        assert revoked.status_code == 200 and s.authority.check(token) == "revoked"
        refused = await http.post(MCP_BASE + "/mcp", json=call, headers=headers)
        assert refused.status_code == 401, refused.text
        assert 'error="invalid_token"' in refused.headers["www-authenticate"]
        assert "resource_metadata=" in refused.headers["www-authenticate"]
        again = await http.post(MCP_BASE + "/mcp", json=call, headers=headers)
        assert again.status_code == 401 and s.verifier.checks == 1  # refused at the gate now, no Sync request

        fresh = (await _exchange(http, client, await _code(http, client))).json()["access_token"]
        headers["Authorization"] = f"Bearer {fresh}"
        assert (await http.post(MCP_BASE + "/mcp", json=call, headers=headers)).status_code == 200
        s.clock.advance(seconds=3600)  # the token's hour is over (and the gate's minute)
        expired = await http.post(MCP_BASE + "/mcp", json=call, headers=headers)
        assert expired.status_code == 401 and 'error="invalid_token"' in expired.headers["www-authenticate"]
