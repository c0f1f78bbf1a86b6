"""The console script as a user runs it: `call`, help, the terminal hint, and `http` with a real MCP client."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import Client

from tests.support import free_port, http_server, local_env, structured
from tools_server.local.store import SyncStore

pytestmark = pytest.mark.slow  # subprocess servers

REPO = Path(__file__).resolve().parents[2]
SCRIPT = Path(sys.executable).with_name("tools-server")


def _run(tmp_path: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=local_env(tmp_path, **extra),
        stdin=subprocess.DEVNULL,
    )


def test_readme_tour_add_then_query_changes_prints_the_new_task(tmp_path: Path) -> None:
    added = _run(tmp_path, "call", "add_item", '{"items":[{"content":"Buy milk","due":"tomorrow"}]}')
    assert added.returncode == 0, added.stderr
    assert "Added 1 task" in added.stdout and "Buy milk" in added.stdout
    listed = _run(tmp_path, "call", "query_changes")
    assert listed.returncode == 0, listed.stderr
    assert "Buy milk" in listed.stdout and "due " in listed.stdout


def test_call_json_prints_the_structured_result(tmp_path: Path) -> None:
    done = _run(tmp_path, "call", "add_item", '{"items":[{"content":"a"},{"content":"b"}]}', "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["ok"] == 2 and len(data["ids"]) == 2


def test_call_with_bad_json_or_a_tool_error_exits_nonzero_with_a_message(tmp_path: Path) -> None:
    bad = _run(tmp_path, "call", "add_item", "{not json")
    assert bad.returncode == 2 and "JSON" in bad.stderr
    invalid = _run(tmp_path, "call", "add_item", '{"items":[{"content":"x","priority":7}]}')
    assert invalid.returncode == 1 and "items.0.priority" in invalid.stderr


def _into_a_closed_pipe(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The command with its stdout a pipe nobody reads any more, as after `| head -1` has its line."""
    reader, writer = os.pipe()
    os.close(reader)
    try:
        return subprocess.run(
            [str(SCRIPT), *args],
            stdout=writer,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            env=local_env(tmp_path),
            stdin=subprocess.DEVNULL,
        )
    finally:
        os.close(writer)


@pytest.mark.parametrize(
    "args", [("call", "add_item", '{"items":[{"content":"Buy milk"}]}'), ("tools",)], ids=["call", "tools"]
)
def test_output_into_a_closed_pipe_ends_quietly_with_exit_0_and_a_write_still_lands(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    done = _into_a_closed_pipe(tmp_path, *args)
    assert (done.returncode, done.stderr) == (0, "")
    if args[0] == "call":
        assert "Buy milk" in _run(tmp_path, "call", "query_changes").stdout


def test_help_lists_the_subcommands_and_environment(tmp_path: Path) -> None:
    done = _run(tmp_path, "--help")
    assert done.returncode == 0
    for word in ("http", "local-api", "call", "TODOIST_API_TOKEN", "TOOLS_SERVER_DB"):
        assert word in done.stdout
    for sub in ("http", "local-api", "call"):
        assert _run(tmp_path, sub, "--help").returncode == 0


def test_a_bad_backend_setting_is_a_clear_error(tmp_path: Path) -> None:
    done = _run(tmp_path, "call", "query_changes", TOOLS_SERVER_BACKEND="todoist")
    assert done.returncode == 2 and "TODOIST_API_TOKEN" in done.stderr


def test_started_from_a_terminal_it_explains_itself_on_stderr(tmp_path: Path) -> None:
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [str(SCRIPT)], stdin=terminal, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=local_env(tmp_path)
    )
    os.close(terminal)
    assert process.stderr is not None
    text = ""
    try:
        # The terminal stays open until the hint is read: a hung-up terminal no longer counts as one.
        while "inspector" not in text:
            ready, _, _ = select.select([process.stderr], [], [], 30)
            chunk = os.read(process.stderr.fileno(), 4096) if ready else b""
            if not chunk:
                break
            text += chunk.decode()
    finally:
        os.close(controller)  # end of input: the server stops
        process.communicate(timeout=30)
    assert "embedded local backend" in text and "tools-server call" in text and "inspector" in text


@pytest.mark.anyio
async def test_http_mode_serves_mcp_on_localhost(tmp_path: Path) -> None:
    with http_server(tmp_path) as (port, _):
        async with Client(f"http://127.0.0.1:{port}/mcp") as client:
            added = structured(await client.call_tool("add_item", {"items": [{"content": "over http"}]}))
            assert added["ok"] == 1
            overview = structured(await client.call_tool("query_changes", {}))
            assert [t["content"] for t in overview["tasks"]] == ["over http"]


def test_http_mode_rejects_foreign_host_and_origin_headers(tmp_path: Path) -> None:
    body: dict[str, Any] = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    with http_server(tmp_path) as (port, _):
        url = f"http://127.0.0.1:{port}/mcp"
        host = httpx.post(url, json=body, headers=headers | {"Host": "evil.example.com"}, timeout=10)
        origin = httpx.post(url, json=body, headers=headers | {"Origin": "http://evil.example.com"}, timeout=10)
        assert host.status_code == 421
        assert origin.status_code == 403


def test_personal_mode_on_all_interfaces_is_refused_unless_asked_for_and_then_warns(tmp_path: Path) -> None:
    refused = _run(tmp_path, "http", "--host", "0.0.0.0", "--port", str(free_port()))
    assert refused.returncode == 2
    assert "refusing personal mode on 0.0.0.0" in refused.stderr and "--multi-user" in refused.stderr
    no_hosts = _run(tmp_path, "http", "--host", "0.0.0.0", "--allow-remote-personal", "--port", str(free_port()))
    assert no_hosts.returncode == 2 and "--allowed-hosts" in no_hosts.stderr
    args = ("--host", "0.0.0.0", "--allow-remote-personal", "--allowed-hosts", "tasks.example.com")
    with http_server(tmp_path, *args) as (port, seen):
        assert any("serves YOUR Todoist account to anyone" in line for line in seen)
        headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
        client = {"name": "curl", "version": "1"}
        params: dict[str, Any] = {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": client}
        body: dict[str, Any] = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": params}
        url = f"http://127.0.0.1:{port}/mcp"
        # Only the allowed Host name is served; /health answers any Host (load balancers probe by address).
        assert httpx.post(url, json=body, headers=headers, timeout=10).status_code == 421
        allowed = httpx.post(url, json=body, headers=headers | {"Host": "tasks.example.com"}, timeout=10)
        assert allowed.status_code == 200
        health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=10)
        assert health.status_code == 200 and health.json()["status"] == "ok"


def test_multi_user_mode_refuses_the_embedded_local_backend(tmp_path: Path) -> None:
    refused = _run(tmp_path, "http", "--multi-user", "--port", str(free_port()))
    assert refused.returncode == 2 and "embedded local backend holds one account" in refused.stderr


def test_http_access_log_is_off_by_default_and_on_with_the_flag(tmp_path: Path) -> None:
    for args, logged in (((), False), (("--access-log",), True)):
        with http_server(tmp_path, *args) as (port, seen):
            assert httpx.get(f"http://127.0.0.1:{port}/health", timeout=10).status_code == 200
        assert any('"GET /health HTTP/1.1" 200' in line for line in seen) is logged, seen


def test_call_attaches_a_local_file_which_a_later_process_lists_and_the_store_keeps(tmp_path: Path) -> None:
    """`call` is a local mode: it reads the path, uploads the file, and posts the comment (issue 23 item 7)."""
    notes = tmp_path / "notes.txt"
    notes.write_bytes(b"agenda: budget, hiring\n")
    added = _run(tmp_path, "call", "add_item", '{"items":[{"content":"Plan meeting"}]}', "--json")
    [task] = json.loads(added.stdout)["ids"]
    comment = {"add": [{"task": task, "content": "the agenda", "file_path": str(notes)}]}
    attached = _run(tmp_path, "call", "comment_items", json.dumps(comment))
    assert attached.returncode == 0, attached.stderr
    listed = _run(tmp_path, "call", "comment_items", json.dumps({"list": [task]}), "--json")
    [brief] = json.loads(listed.stdout)["comments"]
    assert (brief["attachment"]["name"], brief["attachment"]["type"], brief["attachment"]["size"]) == (
        "notes.txt", "text/plain", 23,
    )  # fmt: skip
    store = SyncStore(str(tmp_path / "tasks.db"))
    try:
        kept = store.read(lambda db, _now, _account: db.execute("SELECT file_name, content FROM uploads").fetchall())
    finally:
        store.close()
    assert kept == [("notes.txt", b"agenda: budget, hiring\n")]
