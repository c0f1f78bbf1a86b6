"""The installed console script as a subprocess: driven by mcp.Client over stdio, and by the MCP Inspector CLI."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters

from tests.support import local_env, structured, text_of
from tools_server.local.store import SyncStore

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
SCRIPT = Path(sys.executable).with_name("tools-server")
INSPECTOR = REPO / "node_modules" / ".bin" / "mcp-inspector"


async def test_console_script_serves_all_four_tools_over_stdio(tmp_path: Path) -> None:
    assert SCRIPT.exists(), f"{SCRIPT} missing: install the package (scripts/test does)"
    params = StdioServerParameters(command=str(SCRIPT), args=[], env=local_env(tmp_path))
    async with Client(params) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert {"add_item", "complete_items", "move_items", "query_changes"} <= names
        added = structured(await client.call_tool("add_item", {"items": [{"content": "over stdio"}, {"content": "b"}]}))
        first, second = added["ids"]
        overview = structured(await client.call_tool("query_changes", {}))
        assert {t["content"] for t in overview["tasks"]} == {"over stdio", "b"}
        moved = structured(await client.call_tool("move_items", {"ids": [second], "to_parent": first}))
        assert moved["ok"] == 1
        done = structured(await client.call_tool("complete_items", {"ids": [first]}))
        assert done["ok"] == 1
        changes = await client.call_tool("query_changes", {"cursor": overview["cursor"]})
        assert "No changes" in text_of(changes)
    # The data outlives the process: a second server on the same file sees the completed tree as gone.
    async with Client(StdioServerParameters(command=str(SCRIPT), args=[], env=local_env(tmp_path))) as client:
        assert not structured(await client.call_tool("query_changes", {})).get("tasks")


def _inspector(tmp_path: Path, *args: str) -> dict[str, Any]:
    assert shutil.which("node"), "Node.js is needed for the MCP Inspector"
    assert INSPECTOR.exists(), f"{INSPECTOR} missing: run scripts/test (npm ci installs the Inspector)"
    env = local_env(tmp_path)
    command = [str(INSPECTOR), "--cli", "-q", "--format", "json"]
    for key, value in env.items():
        if key.startswith("TOOLS_SERVER"):
            command += ["-e", f"{key}={value}"]
    command += [str(SCRIPT), *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env | {"HOME": str(tmp_path)})
    assert done.returncode == 0, f"inspector exit {done.returncode}: {done.stderr[-2000:]}"
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_mcp_inspector_cli_calls_all_four_tools(tmp_path: Path) -> None:
    listed = _inspector(tmp_path, "--method", "tools/list", "--strict")
    # The Inspector's portability check (unsupported keywords, references, ...) finds nothing in any schema but
    # one deliberate warning: nullable fields as `type: [X, "null"]`. Its own note says no spelling of null suits
    # every dialect; anyOf would cost about 2,400 more characters of the 15,000 a model reads, and the converters
    # checked in tests/clients/ (Gemini's included) read the type list as nullable.
    findings = [f for tool in listed.get("schemaFindings", []) for f in tool["findings"]]
    others = [f for f in findings if not (f["rule"] == "type-union" and f["severity"] == "warning")]
    assert others == [], others
    assert {t["name"] for t in listed["result"]["tools"]} >= {
        "add_item",
        "complete_items",
        "move_items",
        "query_changes",
    }

    call = ["--method", "tools/call", "--tool-name"]
    added = _inspector(
        tmp_path,
        *call,
        "add_item",
        "--tool-args-json",
        json.dumps({"items": [{"content": "Buy milk", "due": "tomorrow"}]}),
    )["result"]
    assert added["isError"] is False
    task_id = added["structuredContent"]["ids"][0]

    overview = _inspector(tmp_path, *call, "query_changes")["result"]
    assert task_id in {t["id"] for t in overview["structuredContent"]["tasks"]}

    moved = _inspector(
        tmp_path, *call, "move_items", "--tool-args-json", json.dumps({"ids": [task_id], "to_project": "Inbox"})
    )
    assert moved["result"]["structuredContent"]["ok"] == 1

    done = _inspector(tmp_path, *call, "complete_items", "--tool-args-json", json.dumps({"ids": [task_id]}))
    assert done["result"]["structuredContent"]["ok"] == 1
    after = _inspector(tmp_path, *call, "query_changes")["result"]["structuredContent"]
    assert not after.get("tasks")


async def test_a_1000_task_call_and_a_500_task_answer_cross_stdio(tmp_path: Path) -> None:
    # Both messages are single JSON-RPC lines well over a pipe's 64 KiB buffer.
    items = [{"content": f"{i:04d} " + "x" * 400} for i in range(1000)]
    assert len(json.dumps(items)) > 6 * 64 * 1024
    async with Client(StdioServerParameters(command=str(SCRIPT), args=[], env=local_env(tmp_path))) as client:
        added = structured(await client.call_tool("add_item", {"items": items}))
        assert added["ok"] == 1000 and len(set(added["ids"])) == 1000
        found = await client.call_tool("find_items", {"filter": "search: xxxx", "limit": 500})
        assert len(found.model_dump_json()) > 64 * 1024
        (listed,) = structured(found)["lists"]
        assert len(listed["tasks"]) == 500 and listed["more"] == 500


def test_every_request_with_an_id_gets_an_answer_over_stdio_even_one_that_cannot_be_parsed(tmp_path: Path) -> None:
    item: dict[str, Any] = {"content": "leaf"}
    for _ in range(120):
        item = {"content": "level", "subtasks": [item]}
    init = {
        "jsonrpc": "2.0",
        "id": 0,
        "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
    }
    lines = [
        json.dumps(init),
        json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json.dumps(
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "tools/call",
                "params": {"name": "add_item", "arguments": {"items": [item]}},
            }
        ),
        '{"jsonrpc": "2.0", "id": "two", "method": "tools/call", "params": {"name": "add_item", '
        '"arguments": {"items": [{"content": "a\\ud800b"}]}}}',
        '{"params": {"id": 99, "x": "\\udfff"}, "method": "ping", "jsonrpc": "2.0", "id": 3}',
        '{"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"x": "\\ud800"}}',  # no id: no answer
        json.dumps({"jsonrpc": "2.0", "id": 4, "method": "ping"}),
    ]
    done = subprocess.run(
        [str(SCRIPT)],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        env=local_env(tmp_path),
    )
    replies = [json.loads(line) for line in done.stdout.splitlines()]
    by_id = {r["id"]: r for r in replies}
    assert [r["id"] for r in replies] == [0, 1, "two", 3, 4]
    for ident in (1, "two", 3):
        assert by_id[ident]["error"]["code"] == -32700 and "Invalid JSON" in by_id[ident]["error"]["message"]
    assert "recursion limit" in by_id[1]["error"]["message"]
    assert by_id[4]["result"] == {}
    assert "Traceback" not in done.stderr


def test_a_client_that_leaves_mid_call_ends_the_server_quietly_and_the_write_lands_once(tmp_path: Path) -> None:
    """A host quitting while a write runs: stdin and stdout closed under the call. The server finishes what it read,
    finds nobody to answer and ends with 0, no traceback; the tasks are in the store once."""
    init = {
        "jsonrpc": "2.0",
        "id": 0,
        "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
    }
    add = {"name": "add_item", "arguments": {"items": [{"content": f"t{n}"} for n in range(1000)]}}
    lines = [
        json.dumps(init),
        json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": add}),
    ]
    env = local_env(tmp_path)
    server = subprocess.Popen(
        [str(SCRIPT)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    assert server.stdin is not None and server.stdout is not None and server.stderr is not None
    server.stdin.write(("\n".join(lines) + "\n").encode())
    server.stdin.flush()
    assert json.loads(server.stdout.readline())["id"] == 0
    server.stdin.close()
    server.stdout.close()  # gone before the add's answer
    assert server.wait(timeout=60) == 0
    with server.stderr:
        assert "Traceback" not in server.stderr.read().decode()
    store = SyncStore(env["TOOLS_SERVER_DB"])
    try:
        assert len(store.sync(resource_types=["items"])["items"]) == 1000
    finally:
        store.close()
