"""`tools-server http` under concurrent MCP clients: writes applied once, sessions kept apart, secrets kept out.

Each test starts the real console script on a temporary SQLite file and talks to it with `mcp.Client` over
streamable HTTP on 127.0.0.1. Readiness comes from the server's own "Uvicorn running" log line; stderr is drained by a
thread the whole time (a busy server would otherwise block on a full pipe) and kept for the secret checks.
"""

from __future__ import annotations

import json
import random
import re
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Generator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from anyio.abc import ByteReceiveStream
from mcp import Client
from mcp.client.client import ConnectMode
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult

from tests.support import free_port, local_env, structured, text_of

pytestmark = pytest.mark.slow  # subprocess servers

SCRIPT = Path(sys.executable).with_name("tools-server")
CLIENTS = 20
CALLS_PER_CLIENT = 50
UNKNOWN_CURSOR = "Unknown or expired cursor"
CANARY = "CANARY-0123456789abcdef"


@dataclass
class _Running:
    port: int
    lines: list[str]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    def log(self) -> str:
        return "".join(self.lines)


@contextmanager
def _http_server(tmp_path: Path, **extra: str) -> Generator[_Running]:
    """`tools-server http` on a free port; the log lines stay readable after it stops."""
    port = free_port()
    process = subprocess.Popen(
        [str(SCRIPT), "http", "--port", str(port)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=local_env(tmp_path, **extra),
    )
    lines: list[str] = []
    ready = threading.Event()

    def drain() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.append(line)
            if "Uvicorn running" in line:
                ready.set()
        ready.set()  # end of output: the server exited

    reader = threading.Thread(target=drain, name="tools-server-stderr", daemon=True)
    reader.start()
    try:
        assert ready.wait(60), "no 'Uvicorn running' line within 60 s: " + "".join(lines)
        assert process.poll() is None, "http server exited early: " + "".join(lines)
        yield _Running(port, lines)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=20)
        reader.join(timeout=20)
        if process.stderr is not None:
            process.stderr.close()


class _Barrier:
    """All workers reach a point before any goes on (anyio has no barrier of its own)."""

    def __init__(self, parties: int) -> None:
        self._parties = parties
        self._arrived = 0
        self._event = anyio.Event()

    async def wait(self) -> None:
        self._arrived += 1
        if self._arrived >= self._parties:
            self._event.set()
        await self._event.wait()


@dataclass
class _ClientRecord:
    """What one client did and saw; checked after the run so a failure reports everything at once."""

    number: int
    calls: int = 0
    problems: list[str] = field(default_factory=list[str])
    added: dict[str, str] = field(default_factory=dict[str, str])  # content -> id
    completed: set[str] = field(default_factory=set[str])
    moved: set[str] = field(default_factory=set[str])
    cursor: str = ""
    by_tool: Counter[str] = field(default_factory=Counter[str])
    # Legacy-protocol clients have a session; 2026-07-28 clients are sessionless, so the server cannot tell their
    # writes apart and their own writes show up in their cursor's changes too.
    sessions: bool = True

    @property
    def prefix(self) -> str:
        return f"c{self.number}-"


async def _call(client: Client, record: _ClientRecord, name: str, arguments: dict[str, Any]) -> CallToolResult:
    result = await client.call_tool(name, arguments)
    record.calls += 1
    record.by_tool[name] += 1
    if result.is_error:
        record.problems.append(f"{name} {json.dumps(arguments)} is_error: {text_of(result)}")
    return result


def _check_own_cursor_reply(record: _ClientRecord, result: CallToolResult, where: str) -> list[dict[str, Any]]:
    """A query_changes with the client's own cursor: only changes, never a fresh overview or another cursor."""
    if result.is_error:
        return []
    text = text_of(result)
    data = structured(result)
    if UNKNOWN_CURSOR in text or data["overview"] or data["cursor"] != record.cursor:
        record.problems.append(f"{where}: own cursor {record.cursor} answered with {data['cursor']}: {text[:200]}")
    changes: list[dict[str, Any]] = data.get("changes") or []
    own = [c for c in changes if str(c["content"]).startswith(record.prefix)]
    if own and record.sessions:
        record.problems.append(f"{where}: own writes listed as changes made elsewhere: {own}")
    return changes


async def _workload(client: Client, record: _ClientRecord, calls: int) -> None:
    """`calls` mixed calls: adds (some into the client's own project), reads with its cursor, completes, moves."""
    rng = random.Random(record.number)
    project = f"P{record.number}"
    in_project: list[str] = []  # own open tasks in the client's project
    in_inbox: list[str] = []  # own open tasks in the Inbox
    serial = 0

    async def add(count: int, new_project: bool = False) -> None:
        nonlocal serial
        into_project = new_project or rng.random() < 0.5
        items: list[dict[str, Any]] = []
        for _ in range(count):
            item: dict[str, Any] = {"content": f"{record.prefix}{serial}"}
            serial += 1
            if into_project:
                item["project"] = project
            items.append(item)
        arguments: dict[str, Any] = {"items": items}
        if new_project:
            arguments["new_projects"] = [{"name": project}]
        result = await _call(client, record, "add_item", arguments)
        if result.is_error:
            return
        data = structured(result)
        ids: list[str | None] = data.get("ids") or []
        if data["ok"] != count or data["failed"] != 0 or len(ids) != count:
            record.problems.append(f"add_item {items}: {text_of(result)}")
        for item, task_id in zip(items, ids, strict=False):
            if task_id is not None:
                record.added[item["content"]] = task_id
                (in_project if into_project else in_inbox).append(task_id)

    await add(2, new_project=True)
    overview = await _call(client, record, "query_changes", {})
    if overview.is_error:
        return
    record.cursor = structured(overview)["cursor"]
    while record.calls < calls:
        roll = rng.random()
        if roll < 0.3:
            result = await _call(client, record, "query_changes", {"cursor": record.cursor, "limit": 500})
            _check_own_cursor_reply(record, result, f"call {record.calls}")
        elif roll < 0.45 and (in_project or in_inbox):
            pool = in_project if in_project and (not in_inbox or rng.random() < 0.5) else in_inbox
            chosen = rng.sample(pool, min(len(pool), rng.randint(1, 2)))
            result = await _call(client, record, "complete_items", {"ids": chosen})
            if not result.is_error:
                if structured(result)["ok"] != len(chosen):
                    record.problems.append(f"complete_items {chosen}: {text_of(result)}")
                record.completed.update(chosen)
            for task_id in chosen:
                pool.remove(task_id)
        elif roll < 0.65 and in_project:
            chosen = rng.sample(in_project, min(len(in_project), rng.randint(1, 3)))
            result = await _call(client, record, "move_items", {"ids": chosen, "to_project": "Inbox"})
            if not result.is_error:
                if structured(result)["ok"] != len(chosen):
                    record.problems.append(f"move_items {chosen}: {text_of(result)}")
                record.moved.update(chosen)
            for task_id in chosen:
                in_project.remove(task_id)
                in_inbox.append(task_id)
        else:
            await add(rng.randint(1, 3))


def _read_store(db: Path) -> tuple[list[dict[str, Any]], str]:
    """Every item row (active or not) and the Inbox id, read from the SQLite file after the server stopped."""
    with closing(sqlite3.connect(db)) as conn:
        items = [json.loads(data) for (data,) in conn.execute("SELECT data FROM objects WHERE kind = 'item'")]
        projects = [json.loads(data) for (data,) in conn.execute("SELECT data FROM objects WHERE kind = 'project'")]
    inbox = [p["id"] for p in projects if p.get("inbox_project")]
    assert len(inbox) == 1, projects
    return items, inbox[0]


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_twenty_concurrent_clients_apply_every_write_once_and_keep_their_sessions_apart(
    tmp_path: Path, mode: ConnectMode
) -> None:
    records = [_ClientRecord(n, sessions=mode == "legacy") for n in range(CLIENTS)]
    workloads_done, finals_done, own_reads_done = _Barrier(CLIENTS), _Barrier(CLIENTS), _Barrier(CLIENTS)
    # Per client, after its workload: the changes its own cursor lists once every client added one more task, and
    # what a neighbour's cursor gives it.
    seen_finals: dict[int, list[str]] = {}
    foreign: dict[int, tuple[str, str, bool]] = {}

    async def client_task(record: _ClientRecord, url: str) -> None:
        async with Client(url, mode=mode) as client:
            await _workload(client, record, CALLS_PER_CLIENT - 3)
            await workloads_done.wait()
            # Every client writes once more; each must then see the other 19 writes as changes, and not its own.
            final = f"{record.prefix}final"
            result = await _call(client, record, "add_item", {"items": [{"content": final}]})
            if not result.is_error:
                record.added[final] = structured(result)["ids"][0]
            await finals_done.wait()
            result = await _call(client, record, "query_changes", {"cursor": record.cursor, "limit": 500})
            changes = _check_own_cursor_reply(record, result, "after the final adds")
            seen_finals[record.number] = sorted(
                c["content"]
                for c in changes
                if c["kind"] == "added" and str(c["content"]).endswith("-final") and c["content"] != final
            )
            await own_reads_done.wait()
            # Another client's cursor of the same account: a handle of this account, so it reads that view.
            neighbour = records[(record.number + 1) % CLIENTS]
            result = await _call(client, record, "query_changes", {"cursor": neighbour.cursor})
            if not result.is_error:
                data = structured(result)
                foreign[record.number] = (text_of(result), data["cursor"], data["overview"])

    with _http_server(tmp_path, TOOLS_SERVER_LOG_LEVEL="INFO") as server:
        started = time.monotonic()
        with anyio.fail_after(120):
            async with anyio.create_task_group() as group:
                for record in records:
                    group.start_soon(client_task, record, server.url)
        wall = time.monotonic() - started
    total = sum(r.calls for r in records)
    mix = sum((r.by_tool for r in records), Counter[str]())
    print(f"\n{CLIENTS} clients x {CALLS_PER_CLIENT} calls: {total} calls in {wall:.2f} s ({total / wall:.0f} calls/s)")
    print(f"mix: {dict(mix)}; tasks added {sum(len(r.added) for r in records)}")

    problems = [f"client {r.number}: {p}" for r in records for p in r.problems]
    assert not problems, "\n".join(problems)
    assert total == CLIENTS * CALLS_PER_CLIENT

    # The store after the server stopped: every added task exactly once, completed ones checked, moved ones in Inbox.
    items, inbox = _read_store(tmp_path / "tasks.db")
    by_content: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        by_content.setdefault(item["content"], []).append(item)
    expected = {content: (record, task_id) for record in records for content, task_id in record.added.items()}
    client_made = {c for c in by_content if re.fullmatch(r"c\d+-(\d+|final)", c)}
    assert client_made == set(expected), (
        f"unexpected: {client_made - set(expected)}, missing: {set(expected) - client_made}"
    )
    for content, (record, task_id) in expected.items():
        rows = by_content[content]
        assert len(rows) == 1, f"{content} stored {len(rows)} times: {rows}"
        row = rows[0]
        assert row["id"] == task_id and not row["is_deleted"], row
        assert row["checked"] == (task_id in record.completed), row
        if task_id in record.moved:
            assert row["project_id"] == inbox, row
    assert sum(len(r.completed) for r in records) > 0 and sum(len(r.moved) for r in records) > 0

    # Sessions: each client's cursor lists the other 19 clients' final tasks (written elsewhere) and never its own;
    # a neighbour's cursor (same account) answers as the neighbour's view.
    missed = {n: 19 - len(seen) for n, seen in sorted(seen_finals.items()) if len(seen) != 19}
    all_cursors = {r.cursor for r in records}
    # A cursor is a handle of the account (issue 15: state keyed by account, not by session id), in both protocols:
    # whoever holds one with the same token reads that view; it must answer as that view, not as a fresh overview.
    accepted: dict[int, str] = {}
    wrong = {n: text[:80] for n, (text, cursor, overview) in foreign.items() if overview or cursor not in all_cursors}
    assert len(foreign) == CLIENTS and not wrong, wrong
    assert not missed and not accepted, (
        f"sessions are not kept apart: {len(missed)} of {CLIENTS} cursors missed other clients' writes "
        f"(client: missed of 19) {missed}; {len(accepted)} of {CLIENTS} clients had a neighbour's cursor accepted "
        f"(client: first reply line) {accepted}"
    )


@pytest.mark.anyio
async def test_concurrent_calls_in_one_session_are_serialized_safely(tmp_path: Path) -> None:
    record = _ClientRecord(0)
    with _http_server(tmp_path) as server:
        async with Client(server.url, mode="legacy") as client:  # one session: legacy clients have one
            first = await _call(client, record, "query_changes", {})
            record.cursor = structured(first)["cursor"]
            added: dict[int, CallToolResult] = {}
            reads: list[CallToolResult] = []

            async def add(n: int) -> None:
                added[n] = await _call(client, record, "add_item", {"items": [{"content": f"burst-{n}"}]})

            async def read() -> None:
                reads.append(await _call(client, record, "query_changes", {"cursor": record.cursor, "limit": 500}))

            with anyio.fail_after(60):
                async with anyio.create_task_group() as group:
                    for n in range(10):
                        group.start_soon(add, n)
                        if n % 2 == 0:
                            group.start_soon(read)
            for reply in reads:
                _check_own_cursor_reply(record, reply, "concurrent read")
            assert not record.problems, "\n".join(record.problems)
            ids = {n: structured(result)["ids"] for n, result in added.items()}
            assert all(len(v) == 1 and v[0] for v in ids.values()) and len({v[0] for v in ids.values()}) == 10, ids
        async with Client(server.url) as fresh:
            overview = structured(await fresh.call_tool("query_changes", {"limit": 500}))
            # A sessionless client cannot undo "its last write": nothing says which write was its own. It undoes a
            # write by the handle its result carried, from any client of the same account.
            refused = await fresh.call_tool("undo", {})
            assert refused.is_error and "sessionless" in text_of(refused)
            handle = structured(await fresh.call_tool("add_item", {"items": [{"content": "undo me"}]}))["write"]
        async with Client(server.url) as other:
            assert structured(await other.call_tool("undo", {"write": handle}))["ok"] == 1
            left = structured(await other.call_tool("query_changes", {"limit": 500}))
    assert sorted(t["content"] for t in left["tasks"]) == sorted(f"burst-{n}" for n in range(10))
    contents = sorted(t["content"] for t in overview["tasks"])
    assert contents == sorted(f"burst-{n}" for n in range(10)), contents
    assert {t["id"] for t in overview["tasks"]} == {v[0] for v in ids.values()}


async def _read_all(stream: ByteReceiveStream | None) -> str:
    assert stream is not None
    return b"".join([chunk async for chunk in stream]).decode()


@pytest.mark.anyio
async def test_a_bearer_canary_never_reaches_logs_or_results(tmp_path: Path) -> None:
    (tmp_path / "cli").mkdir()
    results: list[str] = []
    # A bound socket that never listens: connecting to it is refused for as long as it stays open.
    with socket.socket() as closed, anyio.fail_after(40):
        closed.bind(("127.0.0.1", 0))
        cli_env = local_env(
            tmp_path / "cli",
            TOOLS_SERVER_BACKEND="todoist",
            TODOIST_API_TOKEN=CANARY,
            TODOIST_SYNC_URL=f"http://127.0.0.1:{closed.getsockname()[1]}/api/v1/sync",
            TOOLS_SERVER_LOG_LEVEL="DEBUG",
        )
        port = closed.getsockname()[1]
        async with await anyio.open_process(
            [str(SCRIPT), "call", "add_item", '{"items":[{"content":"canary task"}]}'],
            stdin=subprocess.DEVNULL,
            env=cli_env,
        ) as cli:
            with _http_server(tmp_path, TOOLS_SERVER_LOG_LEVEL="DEBUG") as server:
                headers = {"Authorization": f"Bearer {CANARY}"}
                for mode in ("auto", "legacy"):
                    async with (
                        httpx2.AsyncClient(headers=headers, timeout=30) as http,
                        Client(streamable_http_client(server.url, http_client=http), mode=mode) as client,
                    ):
                        replies = [
                            await client.call_tool("add_item", {"items": [{"content": f"{mode} one"}]}),
                            await client.call_tool("query_changes", {}),
                            await client.call_tool("resend_writes", {"batch": "w_nothing"}),
                            await client.call_tool("find_items", {"filter": "search: one"}),
                        ]
                        cursor = structured(replies[1])["cursor"]
                        task_id = structured(replies[0])["ids"][0]
                        replies.append(await client.call_tool("move_items", {"ids": [task_id], "to_project": "Inbox"}))
                        replies.append(await client.call_tool("complete_items", {"ids": [task_id]}))
                        replies.append(await client.call_tool("query_changes", {"cursor": cursor}))
                        assert [r.is_error for r in replies] == [False, False, True, False, False, False, False]
                        results += [text_of(r) + json.dumps(r.structured_content) for r in replies]
            log = server.log()
            out, err = await _read_all(cli.stdout), await _read_all(cli.stderr)
            await cli.wait()
    assert "DEBUG" in log and "Uvicorn running" in log  # the debug log was really on
    for text in [log, *results]:
        assert CANARY not in text and "0123456789abcdef" not in text, text

    assert "Traceback" not in err, err
    # `call` checks the endpoint before sending anything: one line naming the host; the token is nowhere in it.
    assert out == "" and f"cannot reach the Sync endpoint 127.0.0.1:{port}" in err, (out, err)
    for text in (out, err):
        assert CANARY not in text and "0123456789abcdef" not in text, text
