"""The board's MCP Apps surface through a real client: the ui:// resource (self-contained, strict CSP, hashed URI,
small), the read tools bound to it, and results unchanged for a client without the extension."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import pytest
from mcp.client import Client
from mcp.client.extension import ClientExtension
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID
from mcp.types import TextResourceContents

from tests.support import connected, harness, structured, text_of
from tools_server.server.board import BOARD_URI, META_KEY

pytestmark = pytest.mark.anyio

UI_BUDGET = 150_000


class AppsHost(ClientExtension):
    """What a host that renders MCP Apps advertises."""

    identifier = EXTENSION_ID

    def settings(self) -> dict[str, Any]:
        return {"mimeTypes": [APP_MIME_TYPE]}


async def _seed(client: Client) -> None:
    items = [
        {"content": "Water plants", "due": "every day"},
        {"content": "Report", "due_date": "2026-11-24", "priority": 4, "labels": ["work"]},
        {"content": "Someday"},
    ]
    added = await client.call_tool("add_item", {"items": items})
    assert not added.is_error, text_of(added)


async def test_the_board_is_one_inline_page_with_a_strict_policy_under_its_content_hash() -> None:
    async with harness() as h, connected(h) as client:
        listed = await client.list_resources()
        [board] = [r for r in listed.resources if str(r.uri).startswith("ui://")]
        assert str(board.uri) == BOARD_URI and board.mime_type == APP_MIME_TYPE
        read = await client.read_resource(BOARD_URI)
        [content] = read.contents
        assert isinstance(content, TextResourceContents)
        html = content.text
        size = len(html.encode())
        print(f"board UI: {size} bytes ({UI_BUDGET} budget)")
        assert size < UI_BUDGET
        assert hashlib.sha256(html.encode()).hexdigest()[:12] in BOARD_URI
        policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)
        assert policy is not None
        rules = dict(part.strip().split(" ", 1) for part in policy.group(1).split(";"))
        assert rules["default-src"] == "'none'" and rules["connect-src"] == "'none'"
        assert rules["script-src"].startswith("'sha256-") and "unsafe" not in policy.group(1)
        # Nothing fetched: no external script, style, image or font.
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
        assert "@import" not in html and "url(" not in html
        assert content.meta is not None and content.meta["ui"]["csp"] == {"connectDomains": [], "resourceDomains": []}


async def test_the_read_tools_name_the_board_and_the_server_advertises_the_extension() -> None:
    async with harness() as h, connected(h) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        for name in ("find_items", "query_changes"):
            meta = tools[name].meta
            assert meta is not None and meta["ui"]["resourceUri"] == BOARD_URI, name
        assert "ui" not in (tools["add_item"].meta or {})
        capabilities = client.server_capabilities
        assert capabilities is not None and capabilities.extensions is not None
        assert EXTENSION_ID in capabilities.extensions


async def test_a_client_without_apps_reads_the_same_results_and_no_board_extras() -> None:
    calls: list[tuple[str, dict[str, Any]]] = [
        ("find_items", {"filter": "today | overdue | no date"}),
        ("find_items", {"filter": "7 days"}),
        ("query_changes", {}),
    ]
    async with harness() as h:
        async with connected(h) as plain:
            await _seed(plain)
            without = [await plain.call_tool(name, args) for name, args in calls]
        async with Client(h.server(), raise_exceptions=True, extensions=[AppsHost()]) as host:
            with_apps = [await host.call_tool(name, args) for name, args in calls]
    for (name, _), a, b in zip(calls, without, with_apps, strict=True):
        assert a.meta is None or META_KEY not in a.meta, name
        assert text_of(a) == text_of(b).replace(_cursor_of(b), _cursor_of(a)), name
        left, right = structured(a), structured(b)
        left.pop("cursor", None)
        right.pop("cursor", None)
        assert left == right, name
        assert b.meta is not None, name
        extras = b.meta[META_KEY]
        assert (extras["today"], extras["week_start"]) == ("2026-11-23", 1), name
        assert set(extras["order"]) == {t["id"] for t in _tasks(left)}, name
        assert extras["assignees"] == {} and list(extras["projects"].values()) == ["Inbox"], name


def _cursor_of(result: Any) -> str:
    cursor = structured(result).get("cursor")
    return cursor if isinstance(cursor, str) else "\0"


def _tasks(data: dict[str, Any]) -> list[dict[str, Any]]:
    return data.get("tasks") or [t for found in data.get("lists", []) for t in found["tasks"]]
