"""Does a write over stdio cost what it changes, or what the account holds? Figures only, not a test.

    .venv/bin/python -m tests.benchmarks.stdio_growth                 # 1k and 30k tasks, 30 pairs each
    .venv/bin/python -m tests.benchmarks.stdio_growth 1000 100000     # other sizes
    .venv/bin/python -m tests.benchmarks.stdio_growth --smoke         # 200 and 400 tasks, 3 pairs: that it runs (CI)

A stdio server (its own process, keeping its state in the state file as a host's server does) on an embedded
store seeded with N tasks (``bench_growth``'s account), one query_changes cursor open, then `add_item` of 100 tasks,
each call paired with the raw Sync request for the same commands on the same store. Prints the median of the
per-pair ratios per size: a write that costs what it changes has the same ratio at every size.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import anyio
import httpx
from mcp import Client, StdioServerParameters

from tests.benchmarks.__main__ import _raw_request  # pyright: ignore[reportPrivateUsage]
from tests.benchmarks.bench_growth import _seed  # pyright: ignore[reportPrivateUsage]
from tests.support import local_env
from tools_server.local.store import SyncStore
from tools_server.local.transport import LocalTransport

PAIRS = 30


async def ratio(size: int, pairs: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        env = local_env(Path(tmp))
        store = SyncStore(env["TOOLS_SERVER_DB"])
        try:
            _seed(store, size)
            server = StdioServerParameters(command=sys.executable, args=["-m", "tools_server"], env=env)
            async with httpx.AsyncClient(transport=LocalTransport(store)) as http, Client(server) as client:
                await client.call_tool("query_changes", {})
                _, token = await _raw_request(http, "*", 100)
                ratios: list[float] = []
                for n in range(pairs):
                    started = time.perf_counter()
                    reply = await client.call_tool(
                        "add_item", {"items": [{"content": f"t{n}-{k}"} for k in range(100)]}
                    )
                    tool = time.perf_counter() - started
                    assert not reply.is_error
                    raw, token = await _raw_request(http, token, 100)
                    ratios.append(tool / raw)
                return statistics.median(ratios)
        finally:
            store.close()


async def main(sizes: list[int], pairs: int) -> None:
    print(f"stdio add_item x100 / raw request, one cursor open, median of {pairs} pairs")
    figures = {size: await ratio(size, pairs) for size in sizes}
    for size, figure in figures.items():
        print(f"{size:>7} tasks | {figure:.2f}x")
    if len(sizes) > 1:
        print(f"growth {sizes[0]} -> {sizes[-1]}: {figures[sizes[-1]] / figures[sizes[0]]:.2f}x")


if __name__ == "__main__":
    if sys.argv[1:] == ["--smoke"]:
        anyio.run(main, [200, 400], 3)
    else:
        anyio.run(main, [int(a) for a in sys.argv[1:]] or [1000, 30000], PAIRS)
