"""Issue 13's session: each call of it is one request; prints requests and result characters per call."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from mcp import Client

from tests.benchmarks.session import feature_rows, print_rows, session_rows
from tests.support import local_api, structured, text_of
from tools_server.cli.backends import backend_over
from tools_server.server import build_server

pytestmark = pytest.mark.anyio


async def test_each_call_of_the_session_is_one_request() -> None:
    rows = await session_rows()
    print_rows(rows)
    ran = [r for r in rows if r.requests is not None]
    assert {r.tool for r in ran} >= {"update_items", "move_items", "find_completed", "reopen_items"}
    assert [(r.call, r.requests, r.ok) for r in ran] == [(r.call, 1, True) for r in ran]
    assert all(r.characters < 1_000 for r in ran), rows


async def test_each_issue_23_feature_costs_one_request_at_most() -> None:
    """Saved filters, Quick Add, attachments, stats and the activity log: one request per call on a warm session, and
    none for a saved filter run on a fresh mirror (issue 23's budget)."""
    rows = await feature_rows()
    print_rows(rows)
    assert [(r.call, r.requests is not None, r.ok) for r in rows] == [(r.call, True, True) for r in rows]
    by_call = {r.call: r.requests for r in rows}
    assert by_call.pop("run a saved filter by name") == 0
    assert set(by_call.values()) == {1}, by_call


@pytest.mark.slow
async def test_find_completed_and_reopen_over_local_api(tmp_path: Path) -> None:
    """The same REST read and reopen through `tools-server local-api` over real HTTP."""
    with local_api(tmp_path / "api.db", extra_args=["--timezone", "Asia/Tokyo"]) as running:
        async with httpx.AsyncClient(timeout=30) as http:
            backend = backend_over(http, kind="todoist", url=running.url, token="secret")
            async with Client(build_server(backend), raise_exceptions=True) as client:
                added = structured(await client.call_tool("add_item", {"items": [{"content": "A"}, {"content": "B"}]}))
                await client.call_tool("complete_items", {"ids": added["ids"]})
                found = await client.call_tool("find_completed", {})
                data = structured(found)
                assert sorted(t["id"] for t in data["tasks"]) == sorted(added["ids"]), text_of(found)
                assert "Asia/Tokyo" in text_of(found)
                reopened = structured(await client.call_tool("reopen_items", {"ids": added["ids"][:1]}))
                assert reopened["ok"] == 1
                again = structured(await client.call_tool("find_completed", {}))
                assert [t["id"] for t in again["tasks"]] == added["ids"][1:]
