"""The console script's first impressions: tools/help from the server, handles kept between `call`s, start-up errors
with their exit codes, and Ctrl-C / SIGTERM stopping every server with exit 0."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import signal
import socket
import subprocess
import sys
import termios
import time
from pathlib import Path

import httpx
import pytest

from tests.support import connected, free_port, harness, local_env
from tools_server.cli.backends import LOCAL_SYNC_URL
from tools_server.cli.checks import EXIT_PORT, EXIT_STORE, EXIT_UNREACHABLE
from tools_server.local.store import SyncStore
from tools_server.local.transport import LocalTransport

SCRIPT = Path(sys.executable).with_name("tools-server")
pytestmark = pytest.mark.slow  # every test here runs the console script as a subprocess


def _run(home: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=local_env(home, **extra),
        stdin=subprocess.DEVNULL,
    )


async def _server_tool_names() -> list[str]:
    async with harness() as h, connected(h) as client:
        return [t.name for t in (await client.list_tools()).tools]


@pytest.mark.anyio
async def test_tools_lists_every_tool_the_server_offers_one_line_each(tmp_path: Path) -> None:
    done = _run(tmp_path, "tools")
    assert done.returncode == 0, done.stderr
    listed = re.findall(r"^  ([a-z_]+)  +\S", done.stdout, flags=re.MULTILINE)
    assert listed == await _server_tool_names()
    assert str(SCRIPT) in done.stdout  # the hint names the path that works, not a bare command


def test_tools_name_prints_the_arguments_from_the_schema(tmp_path: Path) -> None:
    done = _run(tmp_path, "tools", "move_items")
    assert done.returncode == 0, done.stderr
    for line in ("ids (list of string; required)", "to_project (string): Project id or name", "dry_run (boolean"):
        assert line in done.stdout
    nested = _run(tmp_path, "tools", "add_item").stdout
    assert "  items (list of object; required)" in nested and "      content (string; required)" in nested
    unknown = _run(tmp_path, "tools", "add_items")
    assert unknown.returncode == 2 and "add_item, " in unknown.stderr


@pytest.mark.anyio
async def test_help_is_dash_dash_help_and_call_help_names_every_tool(tmp_path: Path) -> None:
    assert _run(tmp_path, "help").stdout == _run(tmp_path, "--help").stdout
    text = _run(tmp_path, "help", "call").stdout
    assert text == _run(tmp_path, "call", "--help").stdout
    for name in await _server_tool_names():
        assert f"  {name} " in text
    assert "exit status" in _run(tmp_path, "--help").stdout


def _cursor(text: str) -> str:
    found = re.search(r"cursor: (c_\S+)", text)
    assert found, text
    return found.group(1)


async def _add_elsewhere(db: Path, content: str) -> None:
    """A change made by another client: a plain Sync request to the same store."""
    store = SyncStore(str(db))
    try:
        async with httpx.AsyncClient(transport=LocalTransport(store)) as http:
            command = {"type": "item_add", "uuid": os.urandom(8).hex(), "temp_id": "t1", "args": {"content": content}}
            body = {"commands": [command], "sync_token": "*", "resource_types": []}
            response = await http.post(LOCAL_SYNC_URL, json=body, headers={"Authorization": "Bearer local"})
            assert response.json()["sync_status"][command["uuid"]] == "ok"
    finally:
        store.close()


@pytest.mark.anyio
async def test_a_cursor_printed_by_one_call_works_in_the_next(tmp_path: Path) -> None:
    assert _run(tmp_path, "call", "add_item", '{"items":[{"content":"first"}]}').returncode == 0
    cursor = _cursor(_run(tmp_path, "call", "query_changes").stdout)
    await _add_elsewhere(tmp_path / "tasks.db", "made elsewhere")
    later = _run(tmp_path, "call", "query_changes", json.dumps({"cursor": cursor}))
    assert later.returncode == 0, later.stderr
    assert "Unknown or expired cursor" not in later.stdout
    assert "1 change(s)" in later.stdout and "made elsewhere" in later.stdout and "first" not in later.stdout


@pytest.mark.anyio
async def test_undo_in_a_separate_call_reverts_the_previous_calls_add(tmp_path: Path) -> None:
    added = _run(tmp_path, "call", "add_item", '{"items":[{"content":"keep"}]}')
    assert added.returncode == 0, added.stderr
    added = _run(tmp_path, "call", "add_item", '{"items":[{"content":"oops","subtasks":[{"content":"child"}]}]}')
    assert added.returncode == 0, added.stderr
    undone = _run(tmp_path, "call", "undo")
    assert undone.returncode == 0, undone.stderr
    assert "Undid the add: reverted 1 task" in undone.stdout, undone.stdout
    store = SyncStore(str(tmp_path / "tasks.db"))
    try:
        async with httpx.AsyncClient(transport=LocalTransport(store)) as http:
            body = {"sync_token": "*", "resource_types": ["items"]}
            response = await http.post(LOCAL_SYNC_URL, json=body, headers={"Authorization": "Bearer local"})
    finally:
        store.close()
    assert [i["content"] for i in response.json()["items"] if not i["is_deleted"]] == ["keep"]
    again = _run(tmp_path, "call", "undo")
    assert again.returncode == 1 and "nothing to undo" in again.stderr


def _local_api(tmp_path: Path, token: str) -> tuple[subprocess.Popen[str], int]:
    port = free_port()
    process = subprocess.Popen(
        [str(SCRIPT), "local-api", "--port", str(port), "--token", token, "--db", str(tmp_path / "api.db")],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env=local_env(tmp_path),
    )
    assert process.stderr is not None
    assert "local Sync API on" in process.stderr.readline()
    return process, port


def test_todoist_api_key_is_an_alias_and_the_state_file_never_holds_the_token(tmp_path: Path) -> None:
    token = "alias-token-0123456789abcdef"
    process, port = _local_api(tmp_path, token)
    try:
        env = {"TOOLS_SERVER_BACKEND": "", "TODOIST_SYNC_URL": f"http://127.0.0.1:{port}/api/v1/sync"}
        add = ("call", "add_item", '{"items":[{"content":"via key"}]}')
        added = _run(tmp_path, *add, TODOIST_API_KEY=token, **env)
        for _ in range(50):  # the server may still be binding: the start-up probe says so with exit 4
            if added.returncode != EXIT_UNREACHABLE:
                break
            added = _run(tmp_path, *add, TODOIST_API_KEY=token, **env)
        assert added.returncode == 0, added.stderr
        listed = _run(tmp_path, "call", "query_changes", TODOIST_API_KEY=token, **env)
        assert "via key" in listed.stdout
        wrong = _run(tmp_path, "call", "query_changes", TODOIST_API_KEY="not-the-token-at-all", **env)
        assert wrong.returncode == 1 and "rejected the API token" in wrong.stderr
    finally:
        process.terminate()
        process.wait(timeout=20)
        if process.stderr is not None:
            process.stderr.close()
    # The state file (with its write-ahead log: a process may not have checkpointed it yet) holds the account's
    # copy of its tasks, never the token.
    state = b"".join(p.read_bytes() for p in tmp_path.glob("tasks.db.state.sqlite*"))
    assert b"via key" in state and token.encode() not in state


def test_an_unreachable_sync_url_is_one_line_naming_the_host_with_exit_4(tmp_path: Path) -> None:
    port = free_port()  # nobody listens: the connection is refused
    env = {"TOOLS_SERVER_BACKEND": "", "TODOIST_API_TOKEN": "x" * 40, "TODOIST_SYNC_URL": f"http://127.0.0.1:{port}/s"}
    for args in (("call", "query_changes"), ("http", "--port", str(free_port()))):
        done = _run(tmp_path, *args, **env)
        assert done.returncode == EXIT_UNREACHABLE, done.stderr
        assert done.stderr.count("\n") == 1 and f"127.0.0.1:{port}" in done.stderr and "TODOIST_SYNC_URL" in done.stderr


def test_an_unusable_store_path_is_one_line_with_exit_5(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a directory")
    for db in (tmp_path / "file" / "tasks.db", tmp_path):
        done = _run(tmp_path, "call", "query_changes", TOOLS_SERVER_DB=str(db))
        assert done.returncode == EXIT_STORE, done.stderr
        assert done.stderr.count("\n") == 1 and str(db) in done.stderr and "Traceback" not in done.stderr


def test_a_busy_port_is_one_line_with_exit_6_and_http_prints_its_url(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        for command in ("http", "local-api"):
            done = _run(tmp_path, command, "--port", str(port))
            assert done.returncode == EXIT_PORT, done.stderr
            assert done.stderr.strip().endswith(f"port {port} on 127.0.0.1 is in use; pass --port with a free port")
    free = free_port()
    process = subprocess.Popen(
        [str(SCRIPT), "http", "--port", str(free)], stderr=subprocess.PIPE, text=True, env=local_env(tmp_path)
    )
    try:
        assert process.stderr is not None
        assert f"MCP over HTTP at http://127.0.0.1:{free}/mcp" in process.stderr.readline()
    finally:
        process.terminate()
        process.wait(timeout=20)
        if process.stderr is not None:
            process.stderr.close()


def _on_a_terminal(tmp_path: Path) -> tuple[subprocess.Popen[bytes], int]:
    """The stdio server with a pseudo-terminal as its controlling terminal (so Ctrl-C there sends SIGINT)."""
    controller, terminal = pty.openpty()

    def take_terminal() -> None:
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    process = subprocess.Popen(
        [str(SCRIPT)],
        stdin=terminal,
        stdout=subprocess.PIPE,
        stderr=terminal,
        env=local_env(tmp_path),
        preexec_fn=take_terminal,
    )
    os.close(terminal)
    seen = b""
    while b"inspector" not in seen:  # the banner is printed just before the server starts reading stdin
        ready, _, _ = select.select([controller], [], [], 30)
        assert ready, seen
        seen += os.read(controller, 4096)
    assert str(SCRIPT).encode() in seen and b"Ctrl-C" in seen
    return process, controller


def test_ctrl_c_on_a_terminal_stops_the_server_at_once_with_exit_0(tmp_path: Path) -> None:
    process, controller = _on_a_terminal(tmp_path)
    try:
        os.write(controller, b"\x03")  # Ctrl-C, with no Enter after it
        stdout, _ = process.communicate(timeout=10)
    finally:
        os.close(controller)
    assert process.returncode == 0 and stdout == b""


def test_sigterm_stops_the_stdio_server_at_once_with_exit_0(tmp_path: Path) -> None:
    process, controller = _on_a_terminal(tmp_path)
    try:
        process.send_signal(signal.SIGTERM)
        stdout, _ = process.communicate(timeout=10)
    finally:
        os.close(controller)
    assert process.returncode == 0 and stdout == b""


def _serving(tmp_path: Path, command: str) -> tuple[subprocess.Popen[str], int]:
    """`tools-server http` or `local-api` as a user starts it, once its port accepts connections."""
    port = free_port()
    token = ["--token", "secret"] if command == "local-api" else []
    process = subprocess.Popen(
        [str(SCRIPT), command, "--port", str(port), *token],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=local_env(tmp_path),
    )
    deadline = time.monotonic() + 30
    while True:
        assert process.poll() is None, f"{command} exited with {process.returncode}"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process, port
        except OSError:
            assert time.monotonic() < deadline, f"{command} never accepted a connection"


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
@pytest.mark.parametrize("command", ["http", "local-api"])
def test_the_http_servers_stop_on_sigterm_and_ctrl_c_with_exit_0_as_the_readme_promises(
    tmp_path: Path, command: str, stop: signal.Signals
) -> None:
    process, port = _serving(tmp_path, command)
    try:
        process.send_signal(stop)
        stdout, stderr = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)
    assert (process.returncode, stdout) == (0, ""), stderr
    assert "Traceback" not in stderr, stderr
    with pytest.raises(OSError):  # it has really stopped, not left its port bound
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_a_stdio_server_starts_without_loading_the_redis_client_which_http_with_state_still_gets(
    tmp_path: Path,
) -> None:
    """Importing redis.asyncio was 53 ms of every stdio start, which never uses Redis: the state wing loads its Redis
    store when a name of it is first asked for."""
    probe = (
        "import sys, tools_server.cli.main, tools_server.server.app, tools_server.cli.state_option as option\n"
        "print('redis' in sys.modules)\n"
        "from tools_server.state import SCHEMES, redis_state\n"
        "print('redis.asyncio' in sys.modules, SCHEMES, redis_state.__module__)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, env=local_env(tmp_path)
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["False", "True ('redis', 'rediss', 'unix') tools_server.state.redis"]
