"""What sharing state through Redis costs per call (issue 15, item 4): figures only, not a test.

    .venv/bin/python -m tests.benchmarks.bench_replicas            # 10k tasks, 21 calls of each kind
    .venv/bin/python -m tests.benchmarks.bench_replicas --quick    # 2k tasks, 7 calls

Real processes: one `tools-server local-api` account of N tasks behind the test proxy, and either two
`tools-server http --multi-user --state redis://...` replicas with one sessionless client alternating between them
call by call, or one replica with no --state. Per call: a query_changes with the client's cursor after a change made
elsewhere, and a one-task add_item. Medians of wall-clock times on a shared machine: compare the two rows, not the
absolute numbers.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import anyio

from tests.benchmarks.bench_hosting import _rss_mb, _seed  # pyright: ignore[reportPrivateUsage]
from tests.replicas_support import cluster
from tests.support import structured

TOKEN = "bench"


async def _row(n: int, calls: int, shared: bool) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        _seed(Path(tmp) / "account0.db", n)
        async with cluster(Path(tmp), [TOKEN], replicas=2 if shared else 1, shared_state=shared) as c:
            async with c.client(TOKEN, replicas=(0, 1) if shared else (0,)) as (client, _turns):
                started = time.perf_counter()
                cursor = structured(await client.call_tool("query_changes", {"limit": 1}))["cursor"]
                first = time.perf_counter() - started
                started = time.perf_counter()
                await client.call_tool("query_changes", {"cursor": cursor})  # shared: the other replica's first
                second = time.perf_counter() - started
                reads: list[float] = []
                writes: list[float] = []
                for k in range(calls):
                    await c.add_raw(TOKEN, f"elsewhere {k}")
                    started = time.perf_counter()
                    changes = structured(await client.call_tool("query_changes", {"cursor": cursor}))
                    reads.append(time.perf_counter() - started)
                    assert changes["cursor"] == cursor and not changes["overview"], changes
                    started = time.perf_counter()
                    added = structured(await client.call_tool("add_item", {"items": [{"content": f"mine {k}"}]}))
                    writes.append(time.perf_counter() - started)
                    assert added["ok"] == 1, added
            rss = " + ".join(f"{_rss_mb(r.process.pid):.0f}" for r in c.replicas)
    how = "2 replicas on Redis, alternating" if shared else "1 replica, state in process"
    return (
        f"{n} tasks, {how}: first query_changes {first:.2f} s, second {second:.2f} s; per call (median of {calls}) "
        f"query_changes with cursor {1000 * statistics.median(reads):.1f} ms, add_item "
        f"{1000 * statistics.median(writes):.1f} ms; RSS {rss} MB"
    )


async def main(quick: bool) -> None:
    print(f"tools-server http replicas, {os.cpu_count()} CPU(s), Python {sys.version.split()[0]}")
    n, calls = (2_000, 7) if quick else (10_000, 21)
    for shared in (False, True):
        print(await _row(n, calls, shared), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    anyio.run(main, parser.parse_args().quick)
