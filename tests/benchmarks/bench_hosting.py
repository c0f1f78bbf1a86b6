"""Memory and first-sync cost of `tools-server http` (issue 15, item 3): figures only, not a test.

    .venv/bin/python -m tests.benchmarks.bench_hosting            # 10k and 100k tasks
    .venv/bin/python -m tests.benchmarks.bench_hosting --quick    # 10k and 20k

Real processes: `tools-server local-api` serves a SQLite account of N tasks, `tools-server http` (personal mode,
TODOIST_SYNC_URL pointed at it) is the server measured; RSS is read from /proc/<pid>/status (VmRSS). Legacy MCP
clients each get their own session (and today their own mirror); sessionless (2026-07-28) clients without a session
id share one. Wall-clock times on a shared machine: read them as orders of magnitude. The first full sync is timed
after the client listed tools (see ``_clients``), on fresh servers, best of ``RUNS`` against the best raw request.
"""

from __future__ import annotations

import argparse
import importlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Generator
from contextlib import AsyncExitStack, contextmanager
from pathlib import Path

import anyio
import httpx
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.benchmarks.bench_store import item_adds
from tests.support import free_port, local_api
from tools_server.local.store import SyncStore
from tools_server.sync.commands import MIRRORED_RESOURCE_TYPES

SCRIPT = Path(sys.executable).with_name("tools-server")
TOKEN = "secret"
# Both timings are the best of this many runs: on a shared machine a single run varies by a third either way.
RUNS = 3


def _seconds(samples: list[float]) -> str:
    return " ".join(f"{s:.2f}" for s in samples)


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def _seed(db: Path, n: int) -> None:
    store = SyncStore(str(db))
    try:
        for start in range(0, n, 100):
            store.sync(commands=item_adds(min(100, n - start), f"task {start}"))
    finally:
        store.close()


@contextmanager
def _http_server(home: Path, sync_url: str) -> Generator[tuple[int, str]]:
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "TOOLS_SERVER_BACKEND": "todoist",
        "TODOIST_API_TOKEN": TOKEN,
        "TODOIST_SYNC_URL": sync_url,
    }
    process = subprocess.Popen(
        [str(SCRIPT), "http", "--port", str(port)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stderr is not None
        while "Uvicorn running" not in (line := process.stderr.readline()):
            assert line, "http server exited"
        yield process.pid, f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        process.wait(timeout=30)


async def _clients(url: str, count: int, mode: str) -> float:
    """``count`` clients each make their first call; returns the seconds of the first one (a full sync).

    Each client lists the tools first, as MCP clients do before calling one: otherwise the SDK's client lists them
    inside its first call_tool (to validate the result) and imports jsonschema there, and that client-side setup
    would be timed as part of the server's full sync. Listing tools syncs nothing."""
    importlib.import_module("jsonschema")  # what the SDK's client imports in its first call_tool: untimed here
    first = 0.0
    async with AsyncExitStack() as stack:
        http = await stack.enter_async_context(httpx2.AsyncClient(timeout=600))
        for i in range(count):
            client = await stack.enter_async_context(Client(streamable_http_client(url, http_client=http), mode=mode))
            await client.list_tools()
            started = time.perf_counter()
            await client.call_tool("query_changes", {"limit": 1})
            if i == 0:
                first = time.perf_counter() - started
    return first


def _raw_full_sync(url: str) -> float:
    started = time.perf_counter()
    body = {"sync_token": "*", "resource_types": list(MIRRORED_RESOURCE_TYPES)}
    reply = httpx.post(url, json=body, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=600)
    reply.json()
    return time.perf_counter() - started


async def measure(n: int, with_twenty: bool) -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "account.db"
        _seed(db, n)
        lines: list[str] = []
        with local_api(db, token=TOKEN) as sync:
            raws = [_raw_full_sync(sync.url) for _ in range(RUNS)]
            firsts: list[float] = []
            idle = one = 0.0  # RSS of the first run's server
            for run in range(RUNS):  # each run a fresh server, so each first call is a first full sync
                with _http_server(Path(tmp), sync.url) as (pid, url):
                    before = _rss_mb(pid)
                    firsts.append(await _clients(url, 1, "legacy"))
                    if run == 0:
                        idle, one = before, _rss_mb(pid)
            raw, first = min(raws), min(firsts)
            lines.append(f"{n} tasks: idle RSS {idle:.0f} MB, after 1 client {one:.0f} MB")
            lines.append(
                f"{n} tasks: RSS per mirrored task {(one - idle) * 1024 * 1024 / n / 1024:.2f} kB (target <= 1.5 kB)"
            )
            lines.append(
                f"{n} tasks: first full sync through the server {first:.2f} s vs raw request {raw:.2f} s "
                f"= {first / raw:.2f}x (target <= 1.3x; best of {RUNS} each: "
                f"server {_seconds(firsts)}, raw {_seconds(raws)})"
            )
            if with_twenty:
                with _http_server(Path(tmp), sync.url) as (pid, url):
                    await _clients(url, 20, "legacy")
                    twenty = _rss_mb(pid)
                with _http_server(Path(tmp), sync.url) as (pid, url):
                    await _clients(url, 20, "auto")
                    shared = _rss_mb(pid)
                lines.append(
                    f"{n} tasks: 20 legacy clients (20 sessions) {twenty:.0f} MB = {twenty / one:.2f}x one client's "
                    "(target <= 1.3x)"
                )
                lines.append(f"{n} tasks: 20 sessionless clients (one shared session) {shared:.0f} MB")
        return lines


async def main(quick: bool) -> None:
    print(f"tools-server http memory, {os.cpu_count()} CPU(s), Python {sys.version.split()[0]}")
    for n, twenty in ((10_000, True), (20_000 if quick else 100_000, False)):
        for line in await measure(n, twenty):
            print(line, flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    anyio.run(main, parser.parse_args().quick)
