"""Two accounts of one local store, each behind its own MCP server and token (issue 23, item 1): A shares a project
with B's email, B accepts (as Todoist's app does, with the invitation's id and secret), A assigns tasks to B by name
and by email, B finds them with ``assigned to: me`` and sees who assigned them, B completes one and A's
query_changes reports it; A unshares and the project leaves B's reads; assigning to someone outside the project is
refused before anything is sent."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from mcp import Client

from tests.support import CountingTransport, FixedClock, command, structured, text_of
from tools_server.cli.backends import LOCAL_SYNC_URL, backend_over
from tools_server.local.account import LocalAccount
from tools_server.local.store import SyncStore
from tools_server.local.transport import LocalTransport
from tools_server.server import build_server
from tools_server.server.reads import FIND_FRESH_SECONDS

pytestmark = pytest.mark.anyio

A, B, C = "token-a", "token-b", "token-c"
ACCOUNTS = [LocalAccount(B, "bea@example.com", "Bea Bauer"), LocalAccount(C, "cee@example.com", "Cee")]


@dataclass
class Member:
    client: Any  # mcp.Client
    sent: CountingTransport
    store: SyncStore
    token: str
    clock: FixedClock

    async def call(self, tool: str, arguments: dict[str, Any]) -> Any:
        result = await self.client.call_tool(tool, arguments)
        assert not result.is_error, text_of(result)
        return result

    async def raw(self, body: dict[str, Any]) -> dict[str, Any]:
        """A Sync request with this account's token besides the MCP server: what Todoist's own app would send."""
        async with httpx.AsyncClient(transport=LocalTransport(self.store)) as http:
            response = await http.post(LOCAL_SYNC_URL, json=body, headers={"Authorization": f"Bearer {self.token}"})
        answer: dict[str, Any] = response.json()
        return answer


@asynccontextmanager
async def members(*tokens: str) -> AsyncGenerator[list[Member]]:
    clock = FixedClock()
    store = SyncStore(":memory:", now=clock, accounts=ACCOUNTS)
    try:
        async with AsyncExitStack() as stack:
            found: list[Member] = []
            for token in tokens:
                sent = CountingTransport(LocalTransport(store))
                http = await stack.enter_async_context(httpx.AsyncClient(transport=sent))
                backend = backend_over(http, kind="local", url=LOCAL_SYNC_URL, token=token)
                server = build_server(backend, clock=clock.as_clock())
                client = await stack.enter_async_context(Client(server, raise_exceptions=True))
                found.append(Member(client, sent, store, token, clock))
            yield found
    finally:
        store.close()


async def _accept_invitation(member: Member) -> None:
    notices = (await member.raw({"sync_token": "*", "resource_types": ["live_notifications"]}))["live_notifications"]
    [invite] = [n for n in notices if n["notification_type"] == "share_invitation_sent" and n["state"] == "invited"]
    args = {"invitation_id": invite["invitation_id"], "invitation_secret": invite["invitation_secret"]}
    accept = command("accept_invitation", args)
    answer = await member.raw({"commands": [accept]})
    assert answer["sync_status"][accept["uuid"]] == "ok", answer


def _ids(result: Any) -> list[str]:
    ids: list[str] = structured(result)["ids"]
    return ids


async def test_two_accounts_share_assign_complete_and_unshare_through_their_own_servers() -> None:
    async with members(A, B) as (ann, bea):
        overview = text_of(await ann.call("query_changes", {}))
        cursor = overview.rsplit("cursor: ", 1)[1].split()[0]
        await ann.call("manage_projects", {"ops": [{"op": "add", "kind": "project", "name": "Trip"}]})
        share = [{"op": "share", "kind": "project", "id": "Trip", "email": "bea@example.com"}]
        await ann.call("manage_projects", {"ops": share})
        assert "Trip" not in text_of(await bea.call("query_changes", {}))  # invited, not yet a member
        await _accept_invitation(bea)

        listed = text_of(await bea.call("query_changes", {}))
        assert "Trip" in listed, listed
        added = await ann.call(
            "add_item",
            {
                "items": [
                    {"content": "book hotel", "project": "Trip", "assignee": "Bea Bauer"},
                    {"content": "buy adapters", "project": "Trip", "assignee": "BEA@example.com"},
                    {"content": "pack", "project": "Trip"},
                ]
            },
        )
        hotel, adapters, _ = _ids(added)

        bea.clock.advance(FIND_FRESH_SECONDS + 1)  # past the window in which find_items reuses its mirror
        found = await bea.call("find_items", {"filter": "assigned to: me"})
        assert {t["id"] for t in structured(found)["lists"][0]["tasks"]} == {hotel, adapters}
        assert f"{hotel} book hotel · #Trip · assigned to me by Local user" in text_of(found), text_of(found)

        await bea.call("complete_items", {"ids": [hotel]})
        changes = text_of(await ann.call("query_changes", {"cursor": cursor}))
        assert f"completed {hotel}" in changes, changes

        unshare = [{"op": "unshare", "kind": "project", "id": "Trip", "email": "bea@example.com"}]
        await ann.call("manage_projects", {"ops": unshare})
        after = text_of(await bea.call("query_changes", {}))
        assert "Trip" not in after and "buy adapters" not in after, after
        bea.clock.advance(FIND_FRESH_SECONDS + 1)
        gone = await bea.call("find_items", {"filter": "all"})
        assert adapters not in {t["id"] for t in structured(gone)["lists"][0]["tasks"]}


async def test_assigning_to_someone_outside_the_project_is_refused_and_nothing_is_sent() -> None:
    async with members(A, B) as (ann, bea):
        await ann.call("manage_projects", {"ops": [{"op": "add", "kind": "project", "name": "Trip"}]})
        share = [{"op": "share", "kind": "project", "id": "Trip", "email": "bea@example.com"}]
        await ann.call("manage_projects", {"ops": share})
        await _accept_invitation(bea)
        await ann.call("query_changes", {})
        writes = ann.sent.writes()
        refused = await ann.client.call_tool(
            "add_item", {"items": [{"content": "visa", "project": "Trip", "assignee": "cee@example.com"}]}
        )
        assert "assignee: no collaborator of Trip named 'cee@example.com'; closest: Bea Bauer" in text_of(refused)
        assert ann.sent.writes() == writes
        tasks = (await bea.raw({"sync_token": "*", "resource_types": ["items"]}))["items"]
        assert "visa" not in {t["content"] for t in tasks}
