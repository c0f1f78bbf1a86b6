"""Does a call cost what it changes, or what the account holds? (issue 27, item 6): figures only, not a test.

    .venv/bin/python -m tests.benchmarks.bench_growth            # 1k / 10k / 100k tasks, 7 pairs per figure
    .venv/bin/python -m tests.benchmarks.bench_growth --quick    # 1k / 10k / 20k tasks, 3 pairs
    .venv/bin/python -m tests.benchmarks.bench_growth --smoke    # 300 / 600 tasks, 1 pair: that it runs (CI)

In process against the embedded backend (the suite's harness), one account per size: two thirds of its tasks dated
from 20 days ago to 19 days ahead (some timed), a third undated, priorities mixed. Each tool call is paired with the
raw Sync request for the same commands on other tasks of the same store, with the incremental read a session does;
reads are paired with a bare incremental read. Figures are medians; tool/raw is the median of the per-pair ratios
(the machine's drift cancels out of each pair). Then the same calls with 16 cursors open on the account: a cursor is
a view of every task, and writes must not cost more per cursor. The growth table divides each figure by the one at
the previous size: a call that costs what it changes grows as its raw request does.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import os
import statistics
import sys
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import anyio
import httpx
from mcp import Client

from tests.benchmarks.__main__ import SYNC_URL, _stats, _table  # pyright: ignore[reportPrivateUsage]
from tests.benchmarks.bench_store import item_adds
from tests.support import FIXED_NOW, Harness, command, connected, harness, structured
from tools_server.cli.backends import freeze_startup_heap
from tools_server.local.store import SyncStore
from tools_server.sync.commands import MIRRORED_RESOURCE_TYPES

CURSORS = (1, 16)
FINDS = ("today | overdue", "#Inbox")  # a third of the account, and all of it (every match ordered before the cut)


def _seed(store: SyncStore, n: int) -> deque[str]:
    """``n`` tasks in 100-command requests; their ids, oldest first."""
    ids: deque[str] = deque()
    today = FIXED_NOW.date()
    for start in range(0, n, 100):
        commands = item_adds(min(100, n - start), f"task {start}")
        for k, c in enumerate(commands, start):
            c["args"]["priority"] = k % 4 + 1
            if k % 3:
                day = (today + timedelta(days=k % 40 - 20)).isoformat()
                c["args"]["due"] = {"date": f"{day}T{k % 24:02}:00:00" if k % 7 == 0 else day}
        mapping: dict[str, str] = store.sync(commands=commands)["temp_id_mapping"]
        ids.extend(mapping[c["temp_id"]] for c in commands)
    return ids


@dataclass
class Raw:
    """Raw Sync requests on the harness's store, past the server, each with the incremental read a session does."""

    http: httpx.AsyncClient
    token: str = "*"

    async def send(self, commands: list[dict[str, Any]]) -> dict[str, str]:
        """The temp id mapping."""
        body = {"commands": commands, "sync_token": self.token, "resource_types": list(MIRRORED_RESOURCE_TYPES)}
        data = (await self.http.post(SYNC_URL, json=body, headers={"Authorization": "Bearer local"})).json()
        assert all(s == "ok" for s in data.get("sync_status", {}).values()), data
        self.token = data["sync_token"]
        mapping: dict[str, str] = data.get("temp_id_mapping", {})
        return mapping


@dataclass
class Account:
    """One seeded account and a warm session on it."""

    h: Harness
    client: Client
    raw: Raw
    ids: deque[str]  # open tasks the session knows, oldest first: completions take from the front
    cursors: list[str] = field(default_factory=list[str])
    added: int = 0
    extra: list[str] = field(default_factory=list[str])  # tasks the add_item figures made, deleted after them

    async def call(self, tool: str, args: dict[str, Any]) -> dict[str, Any]:
        result = await self.client.call_tool(tool, args)
        assert not result.is_error, result
        return structured(result)

    def take(self, n: int) -> list[str]:
        return [self.ids.popleft() for _ in range(n)]

    async def refill(self, n: int) -> None:
        """Add ``n`` tasks elsewhere, so completions do not shrink the account, and let the session and the raw
        token read them now (untimed) rather than in the next measured call."""
        for first in range(0, n, 100):  # a Sync request carries at most 100 commands
            commands = item_adds(min(100, n - first), f"refill {self.added}")
            self.added += len(commands)
            mapping: dict[str, str] = self.h.store.sync(commands=commands)["temp_id_mapping"]
            self.ids.extend(mapping[c["temp_id"]] for c in commands)
        await self.absorb()

    async def discard(self) -> None:
        """Delete the tasks the add figures made, so the account is back to its size for the next figures."""
        for first in range(0, len(self.extra), 100):
            deletes = [command("item_delete", {"id": i}) for i in self.extra[first : first + 100]]
            assert set(self.h.store.sync(commands=deletes)["sync_status"].values()) == {"ok"}
        self.extra.clear()
        await self.absorb()

    async def absorb(self) -> None:
        self.h.clock.advance(60)  # past the freshness window: the next read syncs once
        if self.cursors:
            # A read that costs the changes: a find would scan every task, and its leftovers were charged to the
            # call after it (complete_items x1 at 100k read 1.5-1.7 ms over its raw request after one, the same
            # as add_item's 0.7 without: 2.11x vs 2.15x over 300 pairs).
            await self.call("query_changes", {"cursor": self.cursors[0]})
        else:
            await self.call("find_items", {"filter": "#Nowhere", "limit": 1})
        await self.raw.send([])


# Wall seconds of the tool calls and of their raw requests, then the same calls' CPU seconds (this process, every
# thread: the store answers in a worker thread). On a shared VM other processes stretch a few-ms call's wall time by
# more than what is measured; CPU time moves far less with them, so both ratios are printed.
Pair = tuple[list[float], list[float], list[float], list[float]]


async def _pairs(
    tool: Callable[[], Awaitable[object]],
    raw: Callable[[], Awaitable[object]],
    repeats: int,
    before: Callable[[], Awaitable[None]] | None = None,
) -> Pair:
    """Alternating samples of the tool call and its raw request, after one unmeasured pair to warm both paths."""
    pair: Pair = ([], [], [], [])
    for round_ in range(repeats + 1):
        if before is not None:
            await before()
        measured: list[float] = []
        for call in (tool, raw):
            wall, cpu = time.perf_counter(), time.process_time()
            await call()
            measured += [time.perf_counter() - wall, time.process_time() - cpu]
        if round_:
            for series, value in zip(pair, (measured[0], measured[2], measured[1], measured[3]), strict=True):
                series.append(value)
    return pair


# A one-task write takes 1-3 ms, so a few pairs leave its median ratio to the machine's noise (7 pairs moved it by
# 0.5x between runs): it gets five times as many.
SINGLE_WRITE_PAIRS = 5


async def _calls(a: Account, repeats: int) -> dict[str, Pair]:
    figures: dict[str, Pair] = {}

    for n in (1, 100):

        async def add(n: int = n) -> None:
            a.extra += (await a.call("add_item", {"items": [{"content": f"mine {i}"} for i in range(n)]}))["ids"]

        async def item_add(n: int = n) -> None:
            a.extra += (await a.raw.send(item_adds(n, "raw"))).values()

        figures[f"add_item x{n}"] = await _pairs(add, item_add, _pair_count(n, repeats))
    await a.discard()

    for n in (1, 100):
        figures[f"complete_items x{n}"] = await _completions(a, n, _pair_count(n, repeats))

    target = a.ids[0]
    rounds = iter(range(10_000))

    async def update() -> object:
        return await a.call("update_items", {"items": [{"id": target, "content": f"renamed {next(rounds)}"}]})

    async def item_update() -> None:
        await a.raw.send([command("item_update", {"id": target, "content": f"renamed {next(rounds)}"})])

    figures["update_items x1"] = await _pairs(update, item_update, _pair_count(1, repeats))

    for text, limit in [*((f, 50) for f in FINDS), (FINDS[-1], 1)]:

        async def find(text: str = text, limit: int = limit) -> object:
            return await a.call("find_items", {"filter": text, "limit": limit})

        # The mirror is fresh (the harness clock stands still), so a find sends nothing: its pair is the bare read
        # that a find on a stale mirror would add.
        figures[f"find_items '{text}' limit {limit}"] = await _pairs(find, lambda: a.raw.send([]), repeats)

    async def elsewhere() -> None:
        a.h.store.sync(commands=item_adds(10, "elsewhere"))

    async def changes() -> object:
        found = await a.call("query_changes", {"cursor": a.cursors[0]})
        assert len(found["changes"]) == 10, found
        return found

    await a.call("query_changes", {"cursor": a.cursors[0]})  # untimed: what the cursor missed during the writes
    figures["query_changes, 10 changes elsewhere"] = await _pairs(changes, lambda: a.raw.send([]), repeats, elsewhere)
    return figures


def _pair_count(tasks: int, repeats: int) -> int:
    return repeats * SINGLE_WRITE_PAIRS if tasks == 1 else repeats


async def _completions(a: Account, n: int, repeats: int) -> Pair:
    """complete_items of ``n`` tasks next to item_close of ``n`` others; the account keeps its size."""
    chosen: list[list[str]] = []

    async def before() -> None:
        await a.refill(2 * n)
        chosen[:] = [a.take(n), a.take(n)]

    async def complete() -> object:
        return await a.call("complete_items", {"ids": chosen[0]})

    async def close() -> None:
        await a.raw.send([command("item_close", {"id": i}) for i in chosen[1]])

    return await _pairs(complete, close, repeats, before)


async def _size(n: int, repeats: int) -> dict[int, dict[str, Pair]]:
    """Figures by number of open cursors, for one account of ``n`` tasks."""
    by_cursors: dict[int, dict[str, Pair]] = {}
    async with harness() as h:
        ids = _seed(h.store, n)
        async with connected(h) as client:
            a = Account(h, client, Raw(h.http), ids)
            await a.raw.send([])
            for count in CURSORS:
                while len(a.cursors) < count:
                    opened = await a.call("query_changes", {"limit": 1})
                    a.cursors.append(opened["cursor"])
                await a.absorb()
                by_cursors[count] = await _calls(a, repeats)
                print(f"  {n:,} tasks, {count} cursor(s) done", file=sys.stderr, flush=True)
    return by_cursors


def _ms(samples: list[float]) -> str:
    median, p95 = _stats(samples)
    return f"{median * 1000:.1f} / {p95 * 1000:.1f}"


def _excess(pair: Pair) -> str:
    """What the tool call adds to its raw request, in CPU ms: the median of the per-pair differences."""
    return f"{statistics.median(t - r for t, r in zip(pair[2], pair[3], strict=True)) * 1000:.2f}"


def _ratio(pair: Pair, cpu: bool = False) -> float:
    tool, raw = (pair[2], pair[3]) if cpu else (pair[0], pair[1])
    return statistics.median(t / r for t, r in zip(tool, raw, strict=True) if r > 0)


async def main(size: str) -> None:
    sizes, repeats = {
        "smoke": ((300, 600), 1),
        "quick": ((1_000, 10_000, 20_000), 3),
        "full": ((1_000, 10_000, 100_000), 7),
    }[size]
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request would bury the tables
    freeze_startup_heap()  # the collector as a started tools-server sets it
    print(f"tools-server growth benchmark on {os.cpu_count()} CPU(s), Python {sys.version.split()[0]}")
    results = {n: await _size(n, repeats) for n in sizes}
    calls = list(results[sizes[0]][CURSORS[0]])
    for count in CURSORS:
        rows = [
            [call, f"{n:,}", _ms(results[n][count][call][0]), _ms(results[n][count][call][1]),
             f"{_ratio(results[n][count][call]):.2f}x", f"{_ratio(results[n][count][call], cpu=True):.2f}x",
             _excess(results[n][count][call])]
            for call in calls
            for n in sizes
        ]  # fmt: skip
        _table(
            f"{count} cursor(s) open: ms median / p95 of {repeats} pairs, {repeats * SINGLE_WRITE_PAIRS} for x1 writes",
            [
                "call",
                "tasks",
                "tool call",
                "raw request",
                "tool/raw (median of pairs)",
                "tool/raw CPU",
                "tool-raw CPU ms",
            ],
            rows,
        )
    for measure, sides in (("wall", (0, 1)), ("CPU", (2, 3))):
        header = ["call", "cursors"]
        for smaller, larger in itertools.pairwise(sizes):
            header += [f"tool {larger:,}/{smaller:,}", f"raw {larger:,}/{smaller:,}"]
        growth: list[list[str]] = []
        for count in CURSORS:
            for call in calls:
                row = [call, str(count)]
                for smaller, larger in itertools.pairwise(sizes):
                    for side in sides:
                        ratio = statistics.median(results[larger][count][call][side]) / statistics.median(
                            results[smaller][count][call][side]
                        )
                        row.append(f"{ratio:.2f}x")
                growth.append(row)
        _table(f"Growth between sizes ({measure} medians)", header, growth)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--smoke", action="store_true")
    parsed = parser.parse_args()
    anyio.run(main, "smoke" if parsed.smoke else "quick" if parsed.quick else "full")
