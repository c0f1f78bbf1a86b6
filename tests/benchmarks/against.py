"""This checkout against an earlier commit, on the same machine in the same minutes. Figures only, not a test.

    .venv/bin/python -m tests.benchmarks.against 8eeb2b4            # 3 rounds
    .venv/bin/python -m tests.benchmarks.against 8eeb2b4 --rounds 1 # shorter
    .venv/bin/python -m tests.benchmarks.against HEAD --smoke       # that it runs (CI): tiny sizes, this tree twice

A figure written down on another day (the README's, an issue's) was measured on a machine whose speed drifts by up to
1.7x within minutes: "no worse than at filing" can only be read by measuring both codes now. The earlier commit is
checked out in a temporary git worktree; each round measures both (in turn first), each in a process of its own that
imports that tree's code (its server, its embedded store, its raw request): `add_item` of 1, 100 and 1000 tasks over
stdio (one cursor open) and of 100 in process, each call paired with the raw Sync request for the same commands on
the same store, and the cold start to the first `tools/list` against `import mcp.server`. The ratio to the raw
request cancels the machine's drift but moves with the store's own speed (a faster embedded store raises it): what a
call adds to its request, in ms, is printed beside it. This tree is measured over stdio a second time with its state
file unusable ("in memory"): cursors, undo records and resend batches kept in the server's memory, as an earlier
commit before issue 21 kept them, so the same work is compared apart from what making them durable costs. Both trees
use this checkout's virtualenv; the measuring code below sticks to what both have (``tests.benchmarks.__main__``'s
``_compare``, ``tests.support``)."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parents[2]

# Run in each tree's process (cwd and PYTHONPATH the tree): prints one JSON object.
_MEASURE = r"""
import json, os, statistics, subprocess, sys, tempfile, time
from pathlib import Path
import anyio, httpx
from mcp import Client, StdioServerParameters
from tests.benchmarks.__main__ import _compare
from tests.support import connected, harness, local_env, structured
from tools_server.local.store import SyncStore
from tools_server.local.transport import LocalTransport

SIZES = json.loads(sys.argv[1])  # [[n, pairs], ...]
STARTS = int(sys.argv[2])
# "memory": stdio only, with the state file unusable (a directory where it goes), so the server keeps cursors, undo
# records and resend batches in its memory, as every stdio server did before issue 21 made them durable.
MEMORY = sys.argv[3] == "memory"

async def stdio() -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        env = {**local_env(Path(tmp)), "PYTHONPATH": os.getcwd()}
        store = SyncStore(env["TOOLS_SERVER_DB"])
        kept = None
        if MEMORY:
            from tools_server.state.file import state_path
            kept = state_path(Path(env["TOOLS_SERVER_DB"]))
            kept.mkdir()
        try:
            server = StdioServerParameters(command=sys.executable, args=["-m", "tools_server"], env=env)
            async with httpx.AsyncClient(transport=LocalTransport(store)) as http, Client(server) as client:
                await client.call_tool("query_changes", {})

                async def add(n: int) -> None:
                    reply = await client.call_tool("add_item", {"items": [{"content": f"t{i}"} for i in range(n)]})
                    assert not reply.is_error and structured(reply)["ok"] == n

                for n, pairs in SIZES:
                    tool, raw = await _compare(add, http, n, pairs)
                    out[str(n)] = [statistics.median(t / r for t, r in zip(tool, raw)), statistics.median(tool),
                                   statistics.median(raw), statistics.median(t - r for t, r in zip(tool, raw))]
        finally:
            store.close()
        assert kept is None or (kept.is_dir() and not any(kept.iterdir())), "the state file was kept after all"
    return out

async def in_process() -> dict[str, list[float]]:
    async with harness() as h, connected(h) as client:
        await client.call_tool("query_changes", {})

        async def add(n: int) -> None:
            reply = await client.call_tool("add_item", {"items": [{"content": f"t{i}"} for i in range(n)]})
            assert not reply.is_error and structured(reply)["ok"] == n

        n, pairs = SIZES[1] if len(SIZES) > 1 else SIZES[0]
        tool, raw = await _compare(add, h.http, n, pairs)
        return {str(n): [statistics.median(t / r for t, r in zip(tool, raw)), statistics.median(tool),
                         statistics.median(raw), statistics.median(t - r for t, r in zip(tool, raw))]}

def cold() -> list[float]:
    msgs = [{"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18",
             "capabilities": {}, "clientInfo": {"name": "against", "version": "1"}}},
            {"jsonrpc": "2.0", "method": "notifications/initialized"},
            {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}]
    starts, imports = [], []
    with tempfile.TemporaryDirectory() as tmp:
        env = {**local_env(Path(tmp)), "PYTHONPATH": os.getcwd()}
        for _ in range(STARTS):
            started = time.perf_counter()
            proc = subprocess.Popen([sys.executable, "-m", "tools_server"], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write("".join(json.dumps(m) + "\n" for m in msgs).encode())
            proc.stdin.flush()
            while json.loads(proc.stdout.readline() or b'{"id": 2}').get("id") != 2:
                pass
            starts.append(time.perf_counter() - started)
            proc.stdin.close()
            proc.wait()
            started = time.perf_counter()
            subprocess.run([sys.executable, "-c", "import mcp.server"], check=True, env=env)
            imports.append(time.perf_counter() - started)
    return [statistics.median(starts), statistics.median(imports)]

if MEMORY:
    print(json.dumps({"stdio": anyio.run(stdio)}))
else:
    print(json.dumps({"stdio": anyio.run(stdio), "in process": anyio.run(in_process), "cold": cold()}))
"""


def _measure(tree: Path, sizes: list[tuple[int, int]], starts: int, *, memory: bool = False) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, json.dumps(sizes), str(starts), "memory" if memory else "file"],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree)},
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"measuring {tree} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _table(
    label: str, rounds: list[dict[str, Any]], sizes: list[tuple[int, int]], *, stdio_only: bool = False
) -> list[str]:
    def median(values: list[float]) -> float:
        return statistics.median(values)

    rows: list[str] = []
    for n, _ in sizes:
        figures = [r["stdio"][str(n)] for r in rounds]
        ratios = [f[0] for f in figures]
        each = ", ".join(f"{x:.2f}x" for x in ratios)
        tool, raw, added = (median([f[i] for f in figures]) * 1000 for i in (1, 2, 3))
        figure = f"{median(ratios):.2f}x ({each}); {tool:.1f} vs {raw:.1f} ms, +{added:.2f} ms"
        rows.append(f"{label:<10} stdio add_item x{n:<5} {figure}")
    if stdio_only:
        return rows
    n = sizes[1][0] if len(sizes) > 1 else sizes[0][0]
    figures = [r["in process"][str(n)] for r in rounds]
    tool, raw, added = (median([f[i] for f in figures]) * 1000 for i in (1, 2, 3))
    each = ", ".join(f"{f[0]:.2f}x" for f in figures)
    figure = f"{median([f[0] for f in figures]):.2f}x ({each}); {tool:.1f} vs {raw:.1f} ms, +{added:.2f} ms"
    rows.append(f"{label:<10} in process x{n:<8} {figure}")
    starts = [r["cold"][0] / r["cold"][1] for r in rounds]
    each = ", ".join(f"{x:.2f}x" for x in starts)
    start_ms, imp_ms = (median([r["cold"][i] for r in rounds]) * 1000 for i in (0, 1))
    rows.append(f"{label:<10} cold start          {median(starts):.2f}x ({each}); {start_ms:.0f} vs {imp_ms:.0f} ms")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("commit")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    sizes = [(1, 2), (100, 2)] if args.smoke else [(1, 31), (100, 31), (1000, 7)]
    starts = 1 if args.smoke else 7
    rounds = 1 if args.smoke else args.rounds
    with tempfile.TemporaryDirectory() as tmp:
        earlier = Path(tmp) / "earlier"
        if args.smoke:
            earlier = HERE  # no checkout in CI's clone to spare: the same tree twice
        else:
            subprocess.run(["git", "-C", str(HERE), "worktree", "add", "--detach", str(earlier), args.commit],
                           check=True, capture_output=True)  # fmt: skip
        try:
            theirs: list[dict[str, Any]] = []
            ours: list[dict[str, Any]] = []
            in_memory: list[dict[str, Any]] = []
            for round_ in range(rounds):
                print(f"round {round_ + 1} of {rounds}", file=sys.stderr)
                # Each tree first in every other round: the second of a pair ran measurably slower here.
                if round_ % 2:
                    ours.append(_measure(HERE, sizes, starts))
                    in_memory.append(_measure(HERE, sizes, starts, memory=True))
                    theirs.append(_measure(earlier, sizes, starts))
                else:
                    theirs.append(_measure(earlier, sizes, starts))
                    in_memory.append(_measure(HERE, sizes, starts, memory=True))
                    ours.append(_measure(HERE, sizes, starts))
        finally:
            if not args.smoke:
                subprocess.run(["git", "-C", str(HERE), "worktree", "remove", "--force", str(earlier)], check=False)
    print(f"tool call / raw request (median of the rounds' medians, each round's in brackets), {rounds} round(s);")
    print("then both times, and what the call adds to its request (median of per-pair differences): when the two")
    print("trees' stores differ in speed, the ratio moves with the store, and the added time is what compares.")
    label = "this tree" if args.smoke else args.commit[:10]
    print('"in memory": this tree over stdio with its state file unusable, keeping cursors, undo records and resend')
    print("batches in its memory as the earlier commit did (issue 21 made them durable): the same work as then.")
    rows = [*_table(label, theirs, sizes), *_table("this tree", ours, sizes)]
    rows += _table("in memory", in_memory, sizes, stdio_only=True)
    for row in rows:
        print(row)


if __name__ == "__main__":
    main()
