"""Multi-user `tools-server http`, in process: the real ASGI app (``hosting.build_app``) spoken to over HTTP by plain
httpx and by the MCP client's streamable HTTP transport.

Two Todoist accounts are two local stores, each behind its own token: the Sync endpoint routes a request by its
bearer token to that account's store and answers 401 to any other token, as Todoist does. A third store is the
operator's account, whose token is in the environment as TODOIST_API_TOKEN: nothing of it may ever be served.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from starlette.types import ASGIApp, Message

from tests.support import FixedClock, structured, text_of
from tools_server.cli.http import open_multi_user_backend
from tools_server.hosting.app import HttpOptions, build_app
from tools_server.hosting.auth import TodoistTokenVerifier
from tools_server.local.store import SyncStore
from tools_server.local.transport import LocalTransport
from tools_server.server import build_server
from tools_server.state.sessions import SessionRegistry
from tools_server.sync.client import RetryPolicy

ALICE, BOB, OPERATOR = "alice-token-0001", "bob-token-0002", "operator-token-0003"
BASE = "http://127.0.0.1:8000"
MCP_URL = BASE + "/mcp"
SYNC_URL = "http://sync.invalid/api/v1/sync"
CHALLENGE = f'Bearer resource_metadata="{BASE}/.well-known/oauth-protected-resource"'
RPC: dict[str, Any] = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
RPC_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


class TokenRouted(httpx.AsyncBaseTransport):
    """A Sync endpoint with one account per token; unknown tokens get the first account's 401."""

    def __init__(self, accounts: Mapping[str, SyncStore]) -> None:
        self._by_token = {token: LocalTransport(store, expected_token=token) for token, store in accounts.items()}
        self._refuse = next(iter(self._by_token.values()))
        self.requests = 0
        self.dropping: str | None = None  # this token's responses are lost after the store committed
        self.unreachable = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        if self.unreachable:
            raise httpx.ConnectError("connection refused", request=request)
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        response = await self._by_token.get(token, self._refuse).handle_async_request(request)
        if token == self.dropping:
            raise httpx.ReadError("connection reset after commit", request=request)
        return response


@dataclass
class Hosted:
    app: ASGIApp
    stores: dict[str, SyncStore]
    sync: TokenRouted
    verifier: TodoistTokenVerifier
    clock: FixedClock

    def http(self, token: str | None = None, **headers: str) -> httpx2.AsyncClient:
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return httpx2.AsyncClient(transport=httpx2.ASGITransport(app=self.app), headers=headers, timeout=30)

    @asynccontextmanager
    async def client(self, token: str, mode: str = "auto", **headers: str) -> AsyncGenerator[Client]:
        async with (
            self.http(token, **headers) as http,
            Client(streamable_http_client(MCP_URL, http_client=http), mode=mode) as client,
        ):
            yield client


@asynccontextmanager
async def _lifespan(app: ASGIApp) -> AsyncGenerator[None]:
    """Run the app's ASGI lifespan (the SDK's session manager) around the test, as uvicorn does."""
    to_app, app_inbox = anyio.create_memory_object_stream[Message](4)
    to_test, test_inbox = anyio.create_memory_object_stream[Message](4)

    async def send(message: Message) -> None:
        await to_test.send(message)

    async def run() -> None:
        await app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, app_inbox.receive, send)

    async with to_app, app_inbox, to_test, test_inbox, anyio.create_task_group() as group:
        group.start_soon(run)
        await to_app.send({"type": "lifespan.startup"})
        assert (await test_inbox.receive())["type"] == "lifespan.startup.complete"
        try:
            yield
        finally:
            await to_app.send({"type": "lifespan.shutdown"})
            assert (await test_inbox.receive())["type"] == "lifespan.shutdown.complete"


@asynccontextmanager
async def hosted(**options: Any) -> AsyncGenerator[Hosted]:
    clock = FixedClock()
    stores = {token: SyncStore(":memory:", now=clock) for token in (ALICE, BOB, OPERATOR)}
    stores[OPERATOR].handle(
        {
            "commands": [
                {"type": "item_add", "uuid": "u-secret", "temp_id": "t", "args": {"content": "operator secret"}}
            ]
        },
        token=OPERATOR,
    )
    sync = TokenRouted(stores)
    env = {"TODOIST_SYNC_URL": SYNC_URL, "TODOIST_API_TOKEN": OPERATOR}
    try:
        async with open_multi_user_backend(env, transport=sync, policy=RetryPolicy(max_attempts=1)) as backend:
            verifier = TodoistTokenVerifier(backend.client_for, clock=clock.as_clock())
            server = build_server(backend, clock=clock.as_clock())
            app = build_app(server, HttpOptions(multi_user=True, **options), verifier)
            async with _lifespan(app):
                yield Hosted(app, stores, sync, verifier, clock)
    finally:
        for store in stores.values():
            store.close()


def _contents(store: SyncStore, token: str) -> list[str]:
    body = store.handle({"sync_token": "*", "resource_types": ["items"]}, token=token).body
    return sorted(item["content"] for item in body["items"])


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("authorization", "error"),
    [
        (None, None),
        ("Basic YWxpY2U6c2VjcmV0", None),
        ("Bearer", None),
        ("Bearer ", None),
        (f"Token {ALICE}", None),
        ("Bearer not-a-todoist-token", "invalid_token"),
        (f"Bearer {OPERATOR}x", "invalid_token"),
    ],
)
async def test_a_request_without_a_good_bearer_token_gets_401_and_the_metadata_challenge(
    authorization: str | None, error: str | None
) -> None:
    async with hosted() as h:
        headers = dict(RPC_HEADERS) | ({"Authorization": authorization} if authorization is not None else {})
        async with h.http(**headers) as http:
            replies = [
                await http.post(MCP_URL, json=RPC),
                await http.post(MCP_URL, json=RPC | {"method": "tools/call", "params": {"name": "query_changes"}}),
                await http.get(MCP_URL),
            ]
        for reply in replies:
            assert reply.status_code == 401
            expected = CHALLENGE + (f', error="{error}"' if error else "")
            assert reply.headers["www-authenticate"] == expected
            assert "operator secret" not in reply.text and "tools" not in reply.json()
        # Only a token-shaped credential costs a Sync read; nothing reached the operator's account.
        assert h.sync.requests == (1 if error else 0)
        assert _contents(h.stores[OPERATOR], OPERATOR) == ["operator secret"]


@pytest.mark.anyio
async def test_when_todoist_cannot_be_asked_about_a_token_the_answer_is_503_not_401() -> None:
    async with hosted() as h, h.http(ALICE, **RPC_HEADERS) as http:
        h.sync.unreachable = True
        down = await http.post(MCP_URL, json=RPC)
        h.sync.unreachable = False
        up = await http.post(MCP_URL, json=RPC)  # no verdict was cached while it was down
    assert down.status_code == 503 and down.headers["retry-after"] == "30"
    assert "www-authenticate" not in down.headers
    assert up.status_code != 401 and h.verifier.checks == 2


@pytest.mark.anyio
async def test_the_protected_resource_metadata_names_todoist_and_is_served_without_a_token() -> None:
    async with hosted() as h, h.http() as http:
        for path in ("/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"):
            reply = await http.get(BASE + path)
            assert reply.status_code == 200
            assert reply.json() == {
                "resource": MCP_URL,
                "authorization_servers": ["https://todoist.com"],
                "scopes_supported": ["data:read_write", "data:delete"],
                "bearer_methods_supported": ["header"],
                "resource_name": "tools-server (Todoist over the Sync API)",
            }
    async with hosted(public_url="https://mcp.example.com/") as h, h.http() as http:
        reply = await http.post(MCP_URL, json=RPC, headers=RPC_HEADERS)
        assert reply.headers["www-authenticate"] == (
            'Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource"'
        )
        assert (await http.get(BASE + "/.well-known/oauth-protected-resource")).json()["resource"] == (
            "https://mcp.example.com/mcp"
        )


@pytest.mark.anyio
async def test_health_answers_without_a_token_and_without_account_data() -> None:
    async with hosted() as h, h.http(Host="10.0.0.7:8000") as http:
        reply = await http.get(BASE + "/health")
    assert reply.status_code == 200
    assert set(reply.json()) == {"status", "version"} and reply.json()["status"] == "ok"
    assert h.sync.requests == 0


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_two_users_see_and_change_only_their_own_tasks(mode: str) -> None:
    async with hosted() as h:
        async with h.client(ALICE, mode) as alice, h.client(BOB, mode) as bob:
            assert structured(await alice.call_tool("add_item", {"items": [{"content": "alice task"}]}))["ok"] == 1
            assert structured(await bob.call_tool("add_item", {"items": [{"content": "bob task"}]}))["ok"] == 1
            alice_view = structured(await alice.call_tool("query_changes", {}))
            bob_view = structured(await bob.call_tool("query_changes", {}))
            alice_id = next(t["id"] for t in alice_view["tasks"])
            # Bob cannot complete Alice's task even with its id: it is not in his account.
            refused = await bob.call_tool("complete_items", {"ids": [alice_id]})
        assert [t["content"] for t in alice_view["tasks"]] == ["alice task"]
        assert [t["content"] for t in bob_view["tasks"]] == ["bob task"]
        assert "alice task" not in text_of(refused) and structured(refused).get("ok", 0) == 0
        assert _contents(h.stores[ALICE], ALICE) == ["alice task"]
        assert _contents(h.stores[BOB], BOB) == ["bob task"]
        assert _contents(h.stores[OPERATOR], OPERATOR) == ["operator secret"]


@pytest.mark.anyio
async def test_a_forged_session_id_from_another_token_gets_nothing_of_the_other_client() -> None:
    async with hosted() as h:
        # A sessionless (2026-07-28) client may send any Mcp-Session-Id; Alice's state lives under hers and her token.
        async with h.client(ALICE, "auto", **{"Mcp-Session-Id": "s-alice"}) as alice:
            cursor = structured(await alice.call_tool("query_changes", {}))["cursor"]
            h.sync.dropping = ALICE  # her next write commits but its response is lost: a pending resend batch
            batch = structured(await alice.call_tool("add_item", {"items": [{"content": "pending"}]}))["resend"]
            h.sync.dropping = None
            async with h.client(BOB, "auto", **{"Mcp-Session-Id": "s-alice"}) as bob:
                stolen = await bob.call_tool("query_changes", {"cursor": cursor})
                resent = await bob.call_tool("resend_writes", {"batch": batch})
            # An unknown cursor is a fresh overview: of Bob's own (empty) account, not of Alice's changes.
            assert text_of(stolen).startswith("Unknown or expired cursor") and structured(stolen)["tasks"] == []
            assert resent.is_error and "unknown" in text_of(resent)
            # Alice's handles are intact: her batch finishes once, her cursor still works.
            assert structured(await alice.call_tool("resend_writes", {"batch": batch}))["ok"] == 1
            since = await alice.call_tool("query_changes", {"cursor": cursor})
            assert text_of(since).startswith("No changes since last look")  # her own write counts as seen
        assert _contents(h.stores[ALICE], ALICE) == ["pending"]
        assert _contents(h.stores[BOB], BOB) == []

        # A legacy MCP session belongs to the token that opened it: another token gets "no such session".
        initialize: dict[str, Any] = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "a", "version": "1"},
            },
        }
        async with h.http(ALICE, **RPC_HEADERS) as http:
            session_id = (await http.post(MCP_URL, json=initialize)).headers["mcp-session-id"]
        async with h.http(BOB, **RPC_HEADERS, **{"Mcp-Session-Id": session_id}) as http:
            assert (await http.post(MCP_URL, json=RPC)).status_code == 404


@pytest.mark.anyio
async def test_a_token_is_checked_once_per_minute_not_once_per_call() -> None:
    async with hosted() as h, h.client(ALICE) as alice:
        for _ in range(3):
            await alice.call_tool("query_changes", {})
        assert h.verifier.checks == 1
        h.clock.advance(61)
        await alice.call_tool("query_changes", {})
        assert h.verifier.checks == 2


@pytest.mark.slow  # 260 calls, each a new session's full sync (about 13 s)
@pytest.mark.anyio
async def test_one_account_with_many_made_up_session_ids_evicts_only_its_own_sessions() -> None:
    async with hosted() as h:
        async with h.client(BOB, "auto", **{"Mcp-Session-Id": "s-bob"}) as bob:
            cursor = structured(await bob.call_tool("query_changes", {}))["cursor"]
        async with h.http(ALICE) as http, Client(streamable_http_client(MCP_URL, http_client=http)) as alice:
            # 260 sessionless calls, each under a new made-up session id (more than the whole registry holds).
            for n in range(260):
                http.headers["Mcp-Session-Id"] = f"made-up-{n}"
                await alice.call_tool("find_items", {"filter": "today"})
        async with h.client(BOB, "auto", **{"Mcp-Session-Id": "s-bob"}) as bob:
            again = await bob.call_tool("query_changes", {"cursor": cursor})
        assert text_of(again).startswith("No changes since last look")


def test_the_session_registry_bounds_sessions_per_account_and_evicts_from_the_heaviest_account() -> None:
    clock = FixedClock()
    registry = SessionRegistry(max_sessions=4, max_per_account=3, clock=clock.as_clock())
    victim = registry.get("b:1", account="b")
    other = registry.get("c:1", account="c")
    mine = [registry.get(f"a:{n}", account="a") for n in range(50)]
    assert len(registry) == 4
    assert registry.get("b:1", account="b") is victim and registry.get("c:1", account="c") is other
    assert registry.get("a:48", account="a") is mine[48] and registry.get("a:49", account="a") is mine[49]
    # Full, and every account at one or two sessions: a new account's session pushes out the heaviest's oldest.
    registry.get("d:1", account="d")
    assert len(registry) == 4 and registry.get("b:1", account="b") is victim
