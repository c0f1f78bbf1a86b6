"""Multi-user `tools-server http`, in process: the real ASGI app (``hosting.build_app``) spoken to over HTTP by plain
httpx and by the MCP client's streamable HTTP transport.

Two Todoist accounts are two local stores, each behind its own token: the Sync endpoint routes a request by its
bearer token to that account's store and answers 401 to any other token, as Todoist does. A third store is the
operator's account, whose token is in the environment as TODOIST_API_TOKEN: nothing of it may ever be served.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from starlette.types import ASGIApp, Message

from tests.support import FixedClock, structured, text_of
from tools_server.cli.http import open_multi_user_backend, token_check_spender
from tools_server.hosting.app import HttpOptions, build_app
from tools_server.hosting.auth import TodoistTokenVerifier
from tools_server.local.store import SyncStore
from tools_server.local.transport import LocalTransport
from tools_server.server import build_server
from tools_server.state.memory import MemoryState
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
async def hosted(
    *, checks_per_address: int = 10, state: MemoryState | None = None, local_files: bool = False, **options: Any
) -> AsyncGenerator[Hosted]:
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
            spend = token_check_spender(state, clock.as_clock()) if state is not None else None
            verifier = TodoistTokenVerifier(
                backend.client_for, clock=clock.as_clock(), checks_per_address=checks_per_address, spend=spend
            )
            server = build_server(backend, clock=clock.as_clock(), state=state, local_files=local_files)
            app = build_app(server, HttpOptions(multi_user=True, **options), verifier, clock=clock.as_clock())
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
async def test_a_hosted_server_reads_no_path_a_remote_user_names_even_if_built_for_local_files(tmp_path: Path) -> None:
    """comment_items' file_path would upload the server machine's file to the caller's account: over HTTP it is
    refused before anything is read or sent, whatever build_server was told."""
    secret = tmp_path / "operator.key"
    secret.write_bytes(b"operator's private key")
    async with hosted(local_files=True) as h, h.client(ALICE) as alice:
        await alice.call_tool("query_changes", {})
        before = h.sync.requests
        add = [{"project": "Inbox", "content": "look", "file_path": str(secret)}]
        refused = await alice.call_tool("comment_items", {"add": add})
        assert refused.is_error and "reads no paths. Give file_url (a link) instead" in text_of(refused)
        assert h.sync.requests == before
        notes = h.stores[ALICE].handle({"sync_token": "*", "resource_types": ["project_notes"]}, token=ALICE).body
        assert notes["project_notes"] == []


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


INITIALIZE: dict[str, Any] = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "a", "version": "1"}},
}


@pytest.mark.anyio
async def test_one_account_flooding_legacy_sessions_cannot_lock_another_account_out() -> None:
    # The SDK's table holds 5 sessions in all here (10,000 by default), each account at most 3 (64 by default).
    async with hosted(max_sessions=5, sessions_per_account=3) as h:
        async with h.http(ALICE, **RPC_HEADERS) as alice:
            flood = [await alice.post(MCP_URL, json=INITIALIZE) for _ in range(8)]
        opened = [r.headers["mcp-session-id"] for r in flood if r.status_code == 200]
        refused = [r for r in flood if r.status_code != 200]
        async with h.http(BOB, **RPC_HEADERS) as bob:
            bob_init = await bob.post(MCP_URL, json=INITIALIZE)
        async with h.client(BOB, "legacy") as bob_client:  # a whole legacy session of the second account works
            assert structured(await bob_client.call_tool("add_item", {"items": [{"content": "bob in"}]}))["ok"] == 1
        # Alice ends one of hers: that makes room for exactly one more of hers.
        async with h.http(ALICE, **RPC_HEADERS, **{"Mcp-Session-Id": opened[0]}) as alice:
            ended = await alice.delete(MCP_URL)
        async with h.http(ALICE, **RPC_HEADERS) as alice:
            again = [await alice.post(MCP_URL, json=INITIALIZE) for _ in range(2)]
        bob_tasks = _contents(h.stores[BOB], BOB)
    assert len(opened) == 3 and [r.status_code for r in refused] == [429] * 5
    assert all(r.headers["retry-after"].isdigit() for r in refused)
    assert "Too many open sessions for this account (3)" in refused[0].json()["error"]["message"]
    assert bob_init.status_code == 200 and "mcp-session-id" in bob_init.headers
    assert bob_tasks == ["bob in"]
    assert ended.status_code == 200 and [r.status_code for r in again] == [200, 429]


@pytest.mark.anyio
async def test_made_up_tokens_cost_at_most_the_address_limit_and_evict_no_real_account() -> None:
    # Room for 2 accounts in the in-process state: before tokens were checked first, every made-up token made one.
    async with hosted(checks_per_address=3, state=MemoryState(max_accounts=2)) as h:
        async with h.client(ALICE) as alice:
            cursor = structured(await alice.call_tool("query_changes", {}))["cursor"]
        before = h.sync.requests
        async with _from(h, "203.0.113.9") as attacker:
            replies = [await attacker.post(MCP_URL, json=RPC, headers=_bearer(f"made-up-{n:04d}")) for n in range(40)]
            replay = await attacker.post(MCP_URL, json=RPC, headers=_bearer("made-up-0000"))
            spent = h.sync.requests - before
            # Another address has its own allowance; this one gets its next in the next window.
            async with _from(h, "198.51.100.7") as other:
                elsewhere = await other.post(MCP_URL, json=RPC, headers=_bearer("made-up-other"))
            h.clock.advance(61)
            next_window = await attacker.post(MCP_URL, json=RPC, headers=_bearer("made-up-later"))
        # An hour idle: Alice's session leaves the registry, so her cursor lives only in the state store now.
        h.clock.advance(3600)
        async with h.client(ALICE) as alice:
            again = await alice.call_tool("query_changes", {"cursor": cursor})
    statuses = [r.status_code for r in replies]
    assert spent == 3 and statuses == [401] * 3 + [429] * 37
    assert 1 <= int(replies[-1].headers["retry-after"]) <= 60 and "www-authenticate" not in replies[-1].headers
    assert replay.status_code == 401  # a known bad token costs nothing more
    assert elsewhere.status_code == 401 and next_window.status_code == 401
    assert text_of(again).startswith("No changes since last look")  # Alice's cursor outlived the flood


@pytest.mark.anyio
@pytest.mark.parametrize(
    "authorization",
    ["Bearer alice-t\u00f6ken".encode(), b"Bearer \xff\xfe", b"Bearer a\x00b", b"Bearer a\tb", b"Bearer a b"],
)
async def test_a_malformed_or_non_ascii_bearer_token_gets_401_without_a_check(authorization: bytes) -> None:
    async with hosted() as h:
        headers = [(b"host", b"127.0.0.1:8000"), (b"authorization", authorization)]
        headers += [(k.lower().encode(), v.encode()) for k, v in RPC_HEADERS.items()]
        status, body = await _raw_post(h.app, headers)
    assert status == 401 and b"Traceback" not in body and h.sync.requests == 0


@pytest.mark.anyio
async def test_host_names_match_whatever_their_case() -> None:
    async with hosted(host="0.0.0.0", allowed_hosts=("MCP.example.com",)) as h:
        async with h.http(ALICE, **RPC_HEADERS, Host="mcp.EXAMPLE.com") as http:
            mixed = await http.post(MCP_URL, json=INITIALIZE)
        async with h.http(ALICE, **RPC_HEADERS, Host="mcp.example.com:443", Origin="HTTPS://Mcp.Example.Com") as http:
            origin = await http.post(MCP_URL, json=INITIALIZE)
        async with h.http(ALICE, **RPC_HEADERS, Host="evil.example.com") as http:
            other = await http.post(MCP_URL, json=INITIALIZE)
    assert mixed.status_code == 200 and origin.status_code == 200
    assert other.status_code == 421


def _from(h: Hosted, address: str) -> httpx2.AsyncClient:
    transport = httpx2.ASGITransport(app=h.app, client=(address, 4000))
    return httpx2.AsyncClient(transport=transport, headers=RPC_HEADERS, timeout=30)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _raw_post(app: ASGIApp, headers: list[tuple[bytes, bytes]]) -> tuple[int, bytes]:
    """One POST with exactly these header bytes (httpx refuses to send some of them)."""
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/mcp",
        "raw_path": b"/mcp",
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }
    sent: list[Message] = []
    body = json.dumps(RPC).encode()

    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


@pytest.mark.anyio
async def test_a_real_token_is_rechecked_even_when_its_address_spent_its_new_token_checks() -> None:
    async with hosted(checks_per_address=1) as h, _from(h, "192.0.2.1") as office:
        first = await office.post(MCP_URL, json=RPC, headers=_bearer(ALICE))
        h.clock.advance(61)  # Alice's verdict expired; a new window
        made_up = await office.post(MCP_URL, json=RPC, headers=_bearer("made-up-9999"))  # the window's one check
        bob = await office.post(MCP_URL, json=RPC, headers=_bearer(BOB))  # never seen: waits for the next window
        again = await office.post(MCP_URL, json=RPC, headers=_bearer(ALICE))  # known good: re-checked anyway
    gate = ["in" if r.status_code not in (401, 429) else r.status_code for r in (first, made_up, bob, again)]
    assert gate == ["in", 401, 429, "in"]
    assert h.verifier.checks == 3


@pytest.mark.anyio
async def test_an_accounts_idle_sessions_stop_counting_after_the_idle_timeout() -> None:
    async with hosted(sessions_per_account=2, session_idle_seconds=600) as h, h.http(ALICE, **RPC_HEADERS) as alice:
        opened = [(await alice.post(MCP_URL, json=INITIALIZE)).status_code for _ in range(3)]
        h.clock.advance(599)
        still = (await alice.post(MCP_URL, json=INITIALIZE)).status_code
        h.clock.advance(1)  # the SDK ends a session idle this long (its own timer); the quota follows the same rule
        after = (await alice.post(MCP_URL, json=INITIALIZE)).status_code
    assert opened == [200, 200, 429] and still == 429 and after == 200
