"""The removal window is the account's: removals made without confirmation by one session or process count against
the next removal of any other (sessions of one server, stdio servers and `tools-server call`s on one machine)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters

from tests.support import SCRIPT, connected, harness, local_env, structured, text_of
from tools_server.cli.checks import EXIT_OK, EXIT_TOOL_REFUSED
from tools_server.local.store import SyncStore
from tools_server.state import MemoryState

pytestmark = pytest.mark.anyio


async def test_two_sessions_of_one_server_share_the_window() -> None:
    async with harness() as h:
        server = h.server(state=MemoryState())  # what an HTTP server's sessions share (one lifespan)
        async with connected(h, server) as first, connected(h, server) as second:
            ids = structured(await first.call_tool("add_item", {"items": [{"content": f"t{i}"} for i in range(5)]}))[
                "ids"
            ]
            assert structured(await first.call_tool("delete_items", {"ids": ids[:3]}))["ok"] == 3
            refused = await second.call_tool("delete_items", {"ids": ids[3:]})
            assert refused.is_error and "3 were already removed" in text_of(refused)
            assert len(await h.active_items()) == 2


def _call(home: Path, tool: str, arguments: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), "call", tool, json.dumps(arguments), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        env=local_env(home),
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.slow  # a stdio server and `tools-server call` processes
async def test_removals_of_a_stdio_server_count_in_a_call_and_in_another_stdio_server(tmp_path: Path) -> None:
    added = _call(tmp_path, "add_item", {"items": [{"content": f"t{i}"} for i in range(7)]})
    assert added.returncode == EXIT_OK, added.stderr
    ids: list[str] = json.loads(added.stdout)["ids"]
    params = StdioServerParameters(command=str(SCRIPT), args=[], env=local_env(tmp_path))
    async with Client(params) as first, Client(params) as second:
        assert structured(await first.call_tool("delete_items", {"ids": ids[:3]}))["ok"] == 3
        refused = await anyio.to_thread.run_sync(lambda: _call(tmp_path, "delete_items", {"ids": ids[3:5]}))
        assert refused.returncode == EXIT_TOOL_REFUSED and "3 were already removed" in refused.stderr, refused.stderr
        other = await second.call_tool("delete_items", {"ids": ids[5:]})
        assert other.is_error and "3 were already removed" in text_of(other), text_of(other)
    store = SyncStore(str(tmp_path / "tasks.db"))
    try:
        left = {i["id"] for i in store.sync(sync_token="*", resource_types=["items"])["items"]}
    finally:
        store.close()
    assert left == set(ids[3:])
