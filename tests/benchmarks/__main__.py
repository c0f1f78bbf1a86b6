"""The benchmark suite (not tests): prints one table per question, with the target next to each figure.

    .venv/bin/python -m tests.benchmarks            # everything (about a minute)
    .venv/bin/python -m tests.benchmarks --quick    # smaller repeat counts and a 20k-task account instead of 100k

Everything runs against the embedded local backend on this machine; request counts are exact, times are wall clock.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import math
import os
import statistics
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import httpx
from mcp import Client, StdioServerParameters
from mcp.server import MCPServer

from tests.benchmarks.bench_store import item_adds
from tests.support import connected, harness, local_env, structured, text_of
from tools_server.cli.backends import freeze_startup_heap
from tools_server.local.store import SyncStore
from tools_server.local.transport import LocalTransport
from tools_server.sync.commands import MIRRORED_RESOURCE_TYPES

SCRIPT = Path(sys.executable).with_name("tools-server")
SYNC_URL = "http://local.invalid/api/v1/sync"


def _table(title: str, header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows, strict=True)]
    print(f"\n## {title}")
    print(" | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("-+-".join("-" * w for w in widths))
    for row in rows:
        print(" | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))


def _stats(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[max(0, math.ceil(len(ordered) * 0.95) - 1)]


def _fill(store: SyncStore, n: int) -> None:
    for start in range(0, n, 100):
        store.sync(commands=item_adds(min(100, n - start), f"existing {start}"))


# ---------------------------------------------------------------------------------------------------------------------
# 1. Requests per tool call


async def requests_per_call() -> None:
    rows: list[list[str]] = []
    for n in (1, 10, 100, 250, 1000):
        async with harness() as h, connected(h) as client:
            await client.call_tool("add_item", {"new_projects": [{"name": "Dest"}], "items": [{"content": "seed"}]})
            counts: list[int] = []
            h.transport.reset()
            added = structured(await client.call_tool("add_item", {"items": [{"content": f"t{i}"} for i in range(n)]}))
            counts.append(h.transport.count)
            ids = added["ids"]
            h.transport.reset()
            await client.call_tool("move_items", {"ids": ids, "to_project": "Dest"})
            counts.append(h.transport.count)
            h.transport.reset()
            await client.call_tool("complete_items", {"ids": ids})
            counts.append(h.transport.count)
        limit = math.ceil(n / 100)
        verdict = "= limit" if all(c == limit for c in counts) else "MISSES"
        rows.append([str(n), *map(str, counts), str(limit), str(2 * n), str(n), verdict])
    _table(
        "1. HTTP requests per tool call (warm session)",
        [
            "N",
            "add_item",
            "move_items",
            "complete_items",
            "ceil(N/100)",
            "official add (2N)",
            "official complete (N)",
            "",
        ],
        rows,
    )


# ---------------------------------------------------------------------------------------------------------------------
# 2. Tool-call latency vs the raw Sync request


async def _raw_request(http: httpx.AsyncClient, token: str, n: int) -> tuple[float, str]:
    """The same commands as raw Sync requests of at most 100 commands, each with the incremental read a session does."""
    commands = item_adds(n, "raw")
    started = time.perf_counter()
    for first in range(0, n, 100):
        body = {"commands": commands[first : first + 100], "sync_token": token,
                "resource_types": list(MIRRORED_RESOURCE_TYPES)}  # fmt: skip
        data = (await http.post(SYNC_URL, json=body, headers={"Authorization": "Bearer local"})).json()
        assert all(s == "ok" for s in data["sync_status"].values()), data
        token = data["sync_token"]
    return time.perf_counter() - started, token


async def _compare(
    call: Callable[[int], Awaitable[None]], http: httpx.AsyncClient, n: int, repeats: int
) -> tuple[list[float], list[float]]:
    """Alternating samples of the tool call and the raw request, after one unmeasured pair to warm both paths."""
    tool: list[float] = []
    raw: list[float] = []
    token = (await http.post(SYNC_URL, json={"sync_token": "*"}, headers={"Authorization": "Bearer local"})).json()[
        "sync_token"
    ]
    for round_ in range(repeats + 1):
        started = time.perf_counter()
        await call(n)
        elapsed_tool = time.perf_counter() - started
        elapsed_raw, token = await _raw_request(http, token, n)
        if round_:
            tool.append(elapsed_tool)
            raw.append(elapsed_raw)
    return tool, raw


def _floor_server(http: httpx.AsyncClient) -> MCPServer:
    """The least an MCP server can do for add_item: one tool that turns its items into item_add commands and posts
    them with the incremental read, unchecked and unsummarised. add_item next to it is what the product's own work
    (validation, planning, the mirror, the summary, undo records) costs over the protocol and the request."""
    server = MCPServer("floor")
    token = ["*"]

    @server.tool()
    async def add(items: list[dict[str, str]]) -> str:  # pyright: ignore[reportUnusedFunction]
        if token[0] == "*":  # as the product does: commands never travel with a full read (issue 21 item 6)
            body = {"sync_token": "*", "resource_types": list(MIRRORED_RESOURCE_TYPES)}
            token[0] = (await http.post(SYNC_URL, json=body, headers={"Authorization": "Bearer local"})).json()[
                "sync_token"
            ]
        commands = [{"type": "item_add", "uuid": str(uuid.uuid4()), "temp_id": str(uuid.uuid4()), "args": item}
                    for item in items]  # fmt: skip
        for first in range(0, len(commands), 100):
            body = {"commands": commands[first : first + 100], "sync_token": token[0],
                    "resource_types": list(MIRRORED_RESOURCE_TYPES)}  # fmt: skip
            data = (await http.post(SYNC_URL, json=body, headers={"Authorization": "Bearer local"})).json()
            token[0] = data["sync_token"]
        return f"added {len(commands)}"

    return server


Samples = tuple[list[float], list[float], list[float], list[float]]  # wall tool, wall floor, CPU tool, CPU floor


async def _pair_calls(
    tool: Callable[[int], Awaitable[None]], floor: Callable[[int], Awaitable[None]], n: int, repeats: int
) -> Samples:
    """Alternating samples of add_item and the floor server's add, after one unmeasured pair. CPU time (this
    process, every thread: the store answers in a worker thread) beside wall time, because on a shared VM other
    processes stretch the wall clock of a 15 ms call by more than the difference measured here."""
    samples: Samples = ([], [], [], [])
    for round_ in range(repeats + 1):
        measured: list[float] = []
        for call in (tool, floor):
            wall, cpu = time.perf_counter(), time.process_time()
            await call(n)
            measured += [time.perf_counter() - wall, time.process_time() - cpu]
        if round_:
            for series, value in zip(samples, (measured[0], measured[2], measured[1], measured[3]), strict=True):
                series.append(value)
    return samples


def _floor_row(n: int, samples: Samples) -> list[str]:
    wall_tool, wall_floor, cpu_tool, cpu_floor = samples
    wall = statistics.median(t / f for t, f in zip(wall_tool, wall_floor, strict=True))
    cpu = statistics.median(t / f for t, f in zip(cpu_tool, cpu_floor, strict=True))
    target = "" if n == 1 else ("<= 1.15x ok" if max(wall, cpu) <= 1.15 else "> 1.15x MISSES")
    return [str(n), f"{statistics.median(wall_tool) * 1000:.1f}", f"{statistics.median(wall_floor) * 1000:.1f}",
            f"{wall:.2f}x", f"{statistics.median(cpu_tool) * 1000:.1f}", f"{statistics.median(cpu_floor) * 1000:.1f}",
            f"{cpu:.2f}x", target]  # fmt: skip


async def latency(repeats: int) -> None:
    rows: list[list[str]] = []
    floor_rows: list[list[str]] = []

    def row(where: str, n: int, samples: tuple[list[float], list[float]]) -> list[str]:
        tool_samples, raw_samples = samples
        tool, raw = _stats(tool_samples), _stats(raw_samples)
        # Each tool call is paired with the raw request right after it, so the machine's speed drifting during the
        # run (a shared VM) cancels out of the per-pair ratio; the median of those is the figure held to the target.
        ratio = statistics.median(t / r for t, r in zip(tool_samples, raw_samples, strict=True))
        target = "" if n == 1 else ("<= 1.5x ok" if ratio <= 1.5 else "> 1.5x MISSES")
        timing = f"{tool[0] * 1000:.1f} / {tool[1] * 1000:.1f}"
        raw_timing = f"{raw[0] * 1000:.1f} / {raw[1] * 1000:.1f}"
        return [where, str(n), timing, raw_timing, f"{ratio:.2f}x", target]

    async with harness() as h, connected(h) as client:
        await client.call_tool("query_changes", {})

        async def in_process(n: int) -> None:
            result = await client.call_tool("add_item", {"items": [{"content": f"t{i}"} for i in range(n)]})
            assert not result.is_error and structured(result)["ok"] == n

        for n in (1, 100, 1000):
            samples = await _compare(in_process, h.http, n, repeats if n < 1000 else max(5, repeats // 2))
            rows.append(row("in process", n, samples))

        async with Client(_floor_server(h.http)) as floor:
            await floor.call_tool("add", {"items": []})

            async def at_floor(n: int) -> None:
                result = await floor.call_tool("add", {"items": [{"content": f"f{i}"} for i in range(n)]})
                assert not result.is_error

            for n in (1, 100):
                samples = await _pair_calls(in_process, at_floor, n, repeats)
                floor_rows.append(_floor_row(n, samples))

    with tempfile.TemporaryDirectory() as tmp:
        env = local_env(Path(tmp))
        store = SyncStore(env["TOOLS_SERVER_DB"])
        try:
            async with (
                httpx.AsyncClient(transport=LocalTransport(store)) as http,
                Client(StdioServerParameters(command=str(SCRIPT), env=env)) as client,
            ):
                await client.call_tool("query_changes", {})

                async def over_stdio(n: int) -> None:
                    result = await client.call_tool("add_item", {"items": [{"content": f"t{i}"} for i in range(n)]})
                    assert not result.is_error and structured(result)["ok"] == n

                for n in (1, 100, 1000):
                    samples = await _compare(over_stdio, http, n, repeats if n < 1000 else max(5, repeats // 2))
                    rows.append(row("stdio", n, samples))
        finally:
            store.close()
    _table(
        "2. add_item latency, ms median / p95, vs the raw Sync request for the same commands on the same store",
        ["where", "N", "tool call", "raw request", "tool/raw (median of pairs)", "target"],
        rows,
    )
    _table(
        "2b. add_item in process vs the floor: a minimal MCP server posting the same commands (medians, ms)",
        ["N", "add_item", "floor", "wall ratio", "add_item CPU", "floor CPU", "CPU ratio", "target"],
        floor_rows,
    )


# ---------------------------------------------------------------------------------------------------------------------
# 3. What the model reads


async def context_size() -> None:
    async with harness() as h, connected(h) as client:
        tools = (await client.list_tools()).tools
        listed = json.dumps([t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools])
        ok = await client.call_tool("add_item", {"items": [{"content": f"task {i}"} for i in range(100)]})
        items: list[dict[str, Any]] = [{"content": f"task {i}"} for i in range(95)]
        items += [{"content": f"lost {i}", "project": "No such project"} for i in range(5)]
        failed = await client.call_tool("add_item", {"items": items})
    rows = [
        ["tools/list (all tools, JSON)", f"{len(listed):,}", "< 12,000", "ok" if len(listed) < 12_000 else "MISSES"],
        ["100-task add, all ok: text", str(len(text_of(ok))), "< 300", "ok" if len(text_of(ok)) < 300 else "MISSES"],
        ["100-task add, all ok: structured JSON", f"{len(json.dumps(ok.structured_content)):,}", "", ""],
        ["100-task add, 5 failures: text", str(len(text_of(failed))), "", ""],
        ["100-task add, 5 failures: structured JSON", f"{len(json.dumps(failed.structured_content)):,}", "", ""],
    ]
    _table("3. Characters the model receives", ["what", "characters", "target", ""], rows)


# ---------------------------------------------------------------------------------------------------------------------
# 4. Session mirror


async def mirror(big: int, repeats: int) -> None:
    rows: list[list[str]] = []
    async with harness() as h:
        _fill(h.store, 10_000)
        async with connected(h) as client:
            gc.collect()
            tracemalloc.start()
            before = tracemalloc.take_snapshot()
            await client.call_tool("query_changes", {"limit": 1})
            gc.collect()
            after = tracemalloc.take_snapshot()
            tracemalloc.stop()
            grown = sum(s.size_diff for s in after.compare_to(before, "filename"))
    rows.append(["memory held after syncing a 10,000-task account", f"{grown / 1e6:.1f} MB", "", ""])

    medians: list[float] = []
    for size in (1_000, big):
        async with harness() as h:
            _fill(h.store, size)
            async with connected(h) as client:
                cursor = structured(await client.call_tool("query_changes", {"limit": 1}))["cursor"]
                samples: list[float] = []
                for round_ in range(repeats):
                    h.store.sync(commands=item_adds(10, f"elsewhere {round_}"))
                    started = time.perf_counter()
                    changes = structured(await client.call_tool("query_changes", {"cursor": cursor}))
                    samples.append(time.perf_counter() - started)
                    assert len(changes["changes"]) == 10, changes
        median, p95 = _stats(samples)
        medians.append(median)
        rows.append(
            [f"query_changes, 10 changes, {size:,} tasks", f"{median * 1000:.2f} ms", f"p95 {p95 * 1000:.2f} ms", ""]
        )
    ratio = medians[1] / medians[0]
    rows.append([f"ratio {big:,} / 1,000", f"{ratio:.2f}x", "<= 2x", "ok" if ratio <= 2 else "MISSES"])
    _table("4. Session mirror", ["what", "figure", "", "target"], rows)


# ---------------------------------------------------------------------------------------------------------------------
# 5. Cold start


async def cold_start(repeats: int) -> None:
    starts: list[float] = []
    imports: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        env = local_env(Path(tmp))
        for _ in range(repeats):
            started = time.perf_counter()
            async with Client(StdioServerParameters(command=str(SCRIPT), env=env)) as client:
                await client.list_tools()
                starts.append(time.perf_counter() - started)
            started = time.perf_counter()
            await anyio.run_process([sys.executable, "-c", "import mcp.server"], check=True, env=env)
            imports.append(time.perf_counter() - started)
    start, imp = statistics.median(starts), statistics.median(imports)
    ratio = start / imp
    rows = [
        ["launch tools-server -> first tools/list answer (stdio)", f"{start * 1000:.0f} ms", "", ""],
        ["python -c 'import mcp.server'", f"{imp * 1000:.0f} ms", "", ""],
        ["ratio", f"{ratio:.2f}x", "<= 1.5x", "ok" if ratio <= 1.5 else "MISSES"],
    ]
    _table(f"5. Cold start (median of {repeats})", ["what", "time", "target", ""], rows)


async def main(quick: bool) -> None:
    repeats = 5 if quick else 31
    print(f"tools-server benchmarks on {os.cpu_count()} CPU(s), Python {sys.version.split()[0]}")
    # The in-process server runs in this process: the collector set as `tools-server` sets it once started (what
    # importing left frozen out of full collections, young ones less often).
    freeze_startup_heap()
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request would bury the tables
    await requests_per_call()
    await latency(repeats)
    await context_size()
    await mirror(20_000 if quick else 100_000, repeats)
    await cold_start(3 if quick else 7)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    anyio.run(main, parser.parse_args().quick)
