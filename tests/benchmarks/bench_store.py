"""Local store benchmark (not a test): item_add throughput in 100-command batches, and the latency of an incremental
sync carrying 10 changes at 1k and at 100k stored items.

    .venv/bin/python -m tests.benchmarks.bench_store [--big 100000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from tools_server.local.store import SyncStore


def item_adds(n: int, prefix: str) -> list[dict[str, Any]]:
    return [
        {
            "type": "item_add",
            "uuid": str(uuid.uuid4()),
            "temp_id": str(uuid.uuid4()),
            "args": {"content": f"{prefix} {i}"},
        }
        for i in range(n)
    ]


def fill(store: SyncStore, total: int) -> float:
    """Add ``total`` items in 100-command requests; returns commands per second."""
    started = time.perf_counter()
    for start in range(0, total, 100):
        response = store.sync(commands=item_adds(min(100, total - start), f"t{start}"))
        assert all(s == "ok" for s in response["sync_status"].values())
    return total / (time.perf_counter() - started)


def incremental_latency(store: SyncStore, rounds: int = 30) -> tuple[float, float]:
    """Median and p95 milliseconds of an incremental items sync that returns exactly 10 changed items."""
    token = store.sync(sync_token="*", resource_types=["items"])["sync_token"]
    samples: list[float] = []
    for _ in range(rounds):
        store.sync(commands=item_adds(10, "change"))
        started = time.perf_counter()
        response = store.sync(sync_token=token, resource_types=["items"])
        samples.append((time.perf_counter() - started) * 1000)
        assert len(response["items"]) == 10 and response["full_sync"] is False
        token = response["sync_token"]
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--big", type=int, default=100_000)
    parser.add_argument("--sync", choices=["NORMAL", "FULL"], default="NORMAL", help="SQLite synchronous setting")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows: list[tuple[int, float, float, float]] = []
        for size in (1_000, args.big):
            store = SyncStore(str(Path(tmp) / f"bench-{size}.db"), synchronous=args.sync)
            try:
                rate = fill(store, size)
                median, p95 = incremental_latency(store)
                rows.append((size, rate, median, p95))
            finally:
                store.close()
    print(f"stored items | item_add cmds/s (100/batch, WAL, synchronous={args.sync}) | incremental sync of 10 changes")
    for size, rate, median, p95 in rows:
        print(f"{size:>12,} | {rate:>10,.0f} | {median:.2f} ms, {p95:.2f} ms")
    ratio = rows[1][2] / rows[0][2]
    print(f"incremental sync cost {rows[1][0]:,} vs {rows[0][0]:,} items: {ratio:.2f}x (target <= 2x)")
    print(f"item_add throughput: {min(r[1] for r in rows):,.0f} cmds/s at worst (target >= 10,000)")


if __name__ == "__main__":
    main()
