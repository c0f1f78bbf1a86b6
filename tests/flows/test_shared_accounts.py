"""Two accounts of one local store, each behind its own MCP server and token (issue 23, item 1): A shares a project
with B's email, B accepts (as Todoist's app does, with the invitation's id and secret), A assigns tasks to B by name
and by email, B finds them with ``assigned to: me`` and sees who assigned them, B completes one and A's
query_changes reports it; A unshares and the project leaves B's reads; assigning to someone outside the project is
refused before anything is sent."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import Harness, command, connected, harness, structured, text_of
from tools_server.local.account import LocalAccount
from tools_server.server.reads import FIND_FRESH_SECONDS

pytestmark = pytest.mark.anyio

A, B, C = "token-a", "token-b", "token-c"
ACCOUNTS = [LocalAccount(B, "bea@example.com", "Bea Bauer"), LocalAccount(C, "cee@example.com", "Cee")]


async def _ok(client: Any, tool: str, arguments: dict[str, Any]) -> Any:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, text_of(result)
    return result


async def _accept_invitation(h: Harness, token: str) -> None:
    """What Todoist's app sends when the invitee accepts: the invitation's id and secret from the live notification."""
    notices = await h.raw_sync({"sync_token": "*", "resource_types": ["live_notifications"]}, token=token)
    [invite] = [n for n in notices["live_notifications"] if n["state"] == "invited"]
    args = {"invitation_id": invite["invitation_id"], "invitation_secret": invite["invitation_secret"]}
    accept = command("accept_invitation", args)
    answer = await h.raw_sync({"commands": [accept]}, token=token)
    assert answer["sync_status"][accept["uuid"]] == "ok", answer


async def _share_trip(h: Harness, ann: Any, bea: Any) -> None:
    await _ok(ann, "manage_projects", {"ops": [{"op": "add", "kind": "project", "name": "Trip"}]})
    share = [{"op": "share", "kind": "project", "id": "Trip", "email": "bea@example.com"}]
    await _ok(ann, "manage_projects", {"ops": share})
    assert "Trip" not in text_of(await _ok(bea, "query_changes", {}))  # invited, not yet a member
    await _accept_invitation(h, B)


def _ids(result: Any) -> list[str]:
    ids: list[str] = structured(result)["ids"]
    return ids


async def test_two_accounts_share_assign_complete_and_unshare_through_their_own_servers() -> None:
    async with (
        harness(accounts=ACCOUNTS) as h,
        connected(h, h.server(token=A)) as ann,
        connected(h, h.server(token=B)) as bea,
    ):
        overview = text_of(await _ok(ann, "query_changes", {}))
        cursor = overview.rsplit("cursor: ", 1)[1].split()[0]
        await _share_trip(h, ann, bea)

        listed = text_of(await _ok(bea, "query_changes", {}))
        assert "Trip" in listed and "Trip: Local user (local@localhost)" in listed, listed
        added = await _ok(
            ann,
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

        h.clock.advance(FIND_FRESH_SECONDS + 1)  # past the window in which find_items reuses its mirror
        found = await _ok(bea, "find_items", {"filter": "assigned to: me"})
        assert {t["id"] for t in structured(found)["lists"][0]["tasks"]} == {hotel, adapters}
        assert f"{hotel} book hotel · #Trip · assigned to me by Local user" in text_of(found), text_of(found)

        await _ok(bea, "complete_items", {"ids": [hotel]})
        changes = text_of(await _ok(ann, "query_changes", {"cursor": cursor}))
        assert f"completed {hotel}" in changes, changes

        unshare = [{"op": "unshare", "kind": "project", "id": "Trip", "email": "bea@example.com"}]
        await _ok(ann, "manage_projects", {"ops": unshare})
        after = text_of(await _ok(bea, "query_changes", {}))
        assert "Trip" not in after and "buy adapters" not in after, after
        h.clock.advance(FIND_FRESH_SECONDS + 1)
        gone = await _ok(bea, "find_items", {"filter": "all"})
        assert adapters not in {t["id"] for t in structured(gone)["lists"][0]["tasks"]}


async def test_assigning_to_someone_outside_the_project_is_refused_and_nothing_is_sent() -> None:
    async with (
        harness(accounts=ACCOUNTS) as h,
        connected(h, h.server(token=A)) as ann,
        connected(h, h.server(token=B)) as bea,
    ):
        await _share_trip(h, ann, bea)
        await _ok(ann, "query_changes", {})
        writes = h.transport.writes()
        refused = await ann.call_tool(
            "add_item", {"items": [{"content": "visa", "project": "Trip", "assignee": "cee@example.com"}]}
        )
        assert "assignee: no collaborator of Trip named 'cee@example.com'; closest: Bea Bauer" in text_of(refused)
        assert h.transport.writes() == writes
        tasks = (await h.raw_sync({"sync_token": "*", "resource_types": ["items"]}, token=B))["items"]
        assert "visa" not in {t["content"] for t in tasks}
