"""The durable file store of stdio and `tools-server call` (issue 21 item 3, issue 24 item 5): what a process leaves
(a pending batch, its last write, a cursor) is found by the next one, a write cut by a killed process included.

The account is `tools-server local-api` behind the test proxy (tests/sync_proxy.py), which holds a request's answer
while the test kills the process that sent it; what each test asserts is read from local-api's store itself.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections import Counter
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp import Client, StdioServerParameters

from tests.support import SCRIPT, command, local_api, local_env, structured, text_of
from tests.sync_proxy import SyncProxy, has_commands, sync_proxy

pytestmark = [pytest.mark.slow, pytest.mark.anyio]  # real processes: local-api, stdio servers, `call`

TOKEN = "durable-state-token-0123456789"
WAIT = 30.0  # seconds any single awaited event may take before the test fails


async def _within(event: anyio.Event, what: str) -> None:
    with anyio.move_on_after(WAIT):
        await event.wait()
    assert event.is_set(), f"{what} did not happen within {WAIT:g} s"


def _tasks(n: int) -> list[dict[str, Any]]:
    return [{"content": f"t{i:03d}"} for i in range(n)]


@asynccontextmanager
async def _account(tmp_path: Path) -> AsyncGenerator[tuple[SyncProxy, str]]:
    """local-api for TOKEN behind the proxy; yields the proxy and local-api's own URL (past the proxy)."""
    with local_api(tmp_path / "account.db", token=TOKEN) as server:
        async with sync_proxy({TOKEN: server.url.removesuffix("/api/v1/sync")}) as proxy:
            yield proxy, server.url


async def _contents(url: str) -> Counter[str]:
    """How many active tasks of each content the account has, as local-api's store says."""
    async with httpx.AsyncClient(timeout=30) as http:
        reply = await http.post(
            url, json={"sync_token": "*", "resource_types": ["items"]}, headers={"Authorization": f"Bearer {TOKEN}"}
        )
    items: list[dict[str, Any]] = reply.json()["items"]
    return Counter(item["content"] for item in items)


def _env(home: Path, sync_url: str) -> dict[str, str]:
    """A user's machine: a fresh HOME (no data directory yet), a Todoist token, nothing from the developer's shell."""
    home.mkdir(parents=True, exist_ok=True)
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "TODOIST_API_TOKEN": TOKEN,
        "TODOIST_SYNC_URL": sync_url,
    }


@asynccontextmanager
async def _stdio(env: dict[str, str], pid_file: Path | None = None) -> AsyncGenerator[Client]:
    """The console script as an MCP host starts it (stdio); its pid written to ``pid_file`` (the shell execs it)."""
    if pid_file is None:
        params = StdioServerParameters(command=str(SCRIPT), args=[], env=env)
    else:
        params = StdioServerParameters(
            command="/bin/sh", args=["-c", f'echo $$ > "{pid_file}"; exec "{SCRIPT}"'], env=env
        )
    async with Client(params) as client:
        yield client


async def _call_until_killed(client: Client, arguments: dict[str, Any]) -> None:
    # The server dies under this call: whatever the client raises then is expected; the store says what happened.
    with suppress(Exception):
        await client.call_tool("add_item", arguments)


async def test_a_stdio_server_killed_mid_write_leaves_the_rest_to_the_next_ones_resend_writes_each_task_once(
    tmp_path: Path,
) -> None:
    async with _account(tmp_path) as (proxy, url):
        env = _env(tmp_path / "home", proxy.sync_url("stdio"))
        # 250 tasks: three Sync requests (100, 100, 50); the second runs in the account and its answer is held.
        held = proxy.hold(has_commands, forward_first=True, skip=1)
        pid_file = tmp_path / "stdio.pid"
        with suppress(Exception):  # the killed server's closed pipes, raised from the MCP client's own task group
            async with _stdio(env, pid_file) as doomed, anyio.create_task_group() as group:
                group.start_soon(_call_until_killed, doomed, {"items": _tasks(250)})
                await _within(held.answered, "the second Sync request of the 250-task add running")
                os.kill(int(pid_file.read_text()), signal.SIGKILL)  # as a host that quits mid-write
                group.cancel_scope.cancel()
        assert held.seen is not None and len(held.seen.commands) == 100
        assert sum((await _contents(url)).values()) == 200  # the last 50 were never sent
        async with _stdio(env) as client:
            done = await client.call_tool("resend_writes", {})
        assert not done.is_error, text_of(done)
        # Only what the killed process had not seen confirmed is resent, with its uuids: the 100 that ran are not
        # applied twice, the 50 never sent are added; the result tells the whole write.
        assert text_of(done).startswith("Resent 150 unconfirmed commands. Added 250 tasks."), text_of(done)
        assert structured(done)["ok"] == 250 and not structured(done).get("resend")
        assert await _contents(url) == Counter(f"t{i:03d}" for i in range(250))


async def test_a_write_timed_out_on_a_stdio_server_is_finished_by_the_next_server_after_a_kill(tmp_path: Path) -> None:
    async with _account(tmp_path) as (proxy, url):
        env = {**_env(tmp_path / "home", proxy.sync_url("stdio")), "TOOLS_SERVER_CALL_BUDGET": "2"}
        held = proxy.hold(has_commands, forward_first=True, skip=1)  # the second request runs; its answer is late
        pid_file = tmp_path / "stdio.pid"
        async with _stdio(env, pid_file) as client:
            reply = await client.call_tool("add_item", {"items": _tasks(250)})
            await _within(held.answered, "the second Sync request of the 250-task add running")
            batch = structured(reply)["resend"]
            assert batch and batch in text_of(reply), text_of(reply)
            os.kill(int(pid_file.read_text()), signal.SIGKILL)  # the host restarts its server
            held.release()
        assert sum((await _contents(url)).values()) == 200
        async with _stdio(env) as client:
            done = await client.call_tool("resend_writes", {"batch": batch})
        assert not done.is_error, text_of(done)
        assert text_of(done).startswith("Resent 150 unconfirmed commands. Added 250 tasks."), text_of(done)
        assert await _contents(url) == Counter(f"t{i:03d}" for i in range(250))


async def test_a_stdio_server_per_call_undoes_the_last_write_and_takes_the_last_cursor(tmp_path: Path) -> None:
    # As LangChain's MultiServerMCPClient does by default: a new stdio process for every tool call.
    async with _account(tmp_path) as (proxy, url):
        env = _env(tmp_path / "home", proxy.sync_url("stdio"))
        async with _stdio(env) as client:
            added = structured(await client.call_tool("add_item", {"items": [{"content": "undo me"}]}))
        assert added["ok"] == 1 and await _contents(url) == Counter(["undo me"])
        async with _stdio(env) as client:
            undone = await client.call_tool("undo", {})
        assert not undone.is_error, text_of(undone)
        assert await _contents(url) == Counter()

        async with _stdio(env) as client:
            cursor = structured(await client.call_tool("query_changes", {}))["cursor"]
        async with httpx.AsyncClient(timeout=30) as http:  # a change made elsewhere (the Todoist app, say)
            made = {"commands": [command("item_add", {"content": "made elsewhere"}, temp_id="x")]}
            await http.post(url, json=made, headers={"Authorization": f"Bearer {TOKEN}"})
        async with _stdio(env) as client:  # the client's own write, from yet another process
            await client.call_tool("add_item", {"items": [{"content": "mine"}]})
        async with _stdio(env) as client:
            since = await client.call_tool("query_changes", {"cursor": cursor})
        assert not text_of(since).startswith("Unknown or expired cursor"), text_of(since)
        data = structured(since)
        assert data["overview"] is False
        # Its own write is not news to the cursor it handed out; the other one is.
        assert [(c["kind"], c["content"]) for c in data["changes"]] == [("added", "made elsewhere")]
        assert await _contents(url) == Counter(["made elsewhere", "mine"])


async def _call(env: dict[str, str], tool: str, arguments: dict[str, Any]) -> anyio.abc.Process:
    return await anyio.open_process(
        [str(SCRIPT), "call", tool, json.dumps(arguments), "--json"], env=env, stdin=subprocess.DEVNULL
    )


async def test_a_call_killed_mid_write_leaves_its_batch_to_the_next_calls_resend_writes(tmp_path: Path) -> None:
    async with _account(tmp_path) as (proxy, url):
        env = _env(tmp_path / "home", proxy.sync_url("call"))
        held = proxy.hold(has_commands, forward_first=True, skip=1)
        process = await _call(env, "add_item", {"items": _tasks(250)})
        async with process:
            await _within(held.answered, "the second Sync request of the 250-task add running")
            process.kill()
            await process.wait()
        assert sum((await _contents(url)).values()) == 200
        resent = await anyio.run_process(
            [str(SCRIPT), "call", "resend_writes", "{}"], env=env, check=False, stdin=subprocess.DEVNULL
        )
        out = resent.stdout.decode()
        assert resent.returncode == 0, resent.stderr.decode()
        assert out.startswith("Resent 150 unconfirmed commands. Added 250 tasks."), out
        assert await _contents(url) == Counter(f"t{i:03d}" for i in range(250))
        assert TOKEN not in out + resent.stderr.decode()


async def test_a_local_call_and_a_stdio_server_share_the_accounts_last_write(tmp_path: Path) -> None:
    # Both on one machine at once: the stdio server stays up while `call` writes; its undo reverts that write.
    env = local_env(tmp_path)
    async with _stdio(env) as client:
        await client.call_tool("query_changes", {})
        made = await anyio.run_process(
            [str(SCRIPT), "call", "add_item", json.dumps({"items": [{"content": "by call"}]})], env=env, check=False
        )
        assert made.returncode == 0, made.stderr.decode()
        undone = await client.call_tool("undo", {})
        assert not undone.is_error, text_of(undone)
        overview = structured(await client.call_tool("query_changes", {}))
    assert not overview.get("tasks"), overview
