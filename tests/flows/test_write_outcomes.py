"""Every sent command ends confirmed, failed with Todoist's error, or pending in a resend batch that finishes it.

Also the call budget (retries and Retry-After waits never run past it), cancelled calls, and progress notifications.
All waiting is on the injected clock: the harness's sleep moves it.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx
import pytest

from tests.support import Harness, connected, harness, structured, text_of
from tools_server.state.sessions import MAX_PENDING_COMMANDS
from tools_server.sync.client import RetryPolicy

pytestmark = pytest.mark.anyio


def items(count: int, prefix: str = "t") -> list[dict[str, Any]]:
    return [{"content": f"{prefix}{i}"} for i in range(count)]


async def contents(h: Harness) -> Counter[str]:
    return Counter(i["content"] for i in await h.active_items())


@dataclass
class Gate(httpx.AsyncBaseTransport):
    """Answers command requests per ``mode`` (reads always pass): how a test makes the backend misbehave."""

    inner: httpx.AsyncBaseTransport
    mode: str = "pass"  # pass | drop (commit, lose the response) | 401 | 429 | hang
    retry_after: str = "120"
    drop_status_of: int = 0  # commit, then leave out this many statuses from the 200
    hang_on: int = 0  # with mode "hang": pass this many command requests first
    commands_seen: int = 0
    entered: anyio.Event = field(default_factory=anyio.Event)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(await request.aread())
        if not body.get("commands"):
            return await self.inner.handle_async_request(request)
        self.commands_seen += 1
        if self.mode == "401":
            return httpx.Response(401, json={"error": "Unauthorized", "http_code": 401})
        if self.mode == "429":
            return httpx.Response(429, headers={"Retry-After": self.retry_after}, json={"error_tag": "LIMITS_REACHED"})
        if self.mode == "hang" and self.commands_seen > self.hang_on:
            self.entered.set()
            await anyio.sleep_forever()
        response = await self.inner.handle_async_request(request)
        data = json.loads(await response.aread())
        if self.mode == "drop":
            raise httpx.ReadError("connection reset after commit", request=request)
        if self.drop_status_of:
            for uuid in list(data["sync_status"])[: self.drop_status_of]:
                del data["sync_status"][uuid]
            return httpx.Response(200, json=data)
        return httpx.Response(response.status_code, headers=response.headers, content=json.dumps(data).encode())


def gated(gates: list[Gate], **options: Any) -> Any:
    def wrap(inner: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        gates.append(Gate(inner, **options))
        return gates[0]

    return wrap


# ---------------------------------------------------------------------------------------------------------------------
# Item 1: confirmed, failed, or pending


async def test_a_status_missing_from_a_200_leaves_the_command_pending_and_resend_confirms_it() -> None:
    gates: list[Gate] = []
    async with harness(wrap=gated(gates, drop_status_of=2)) as h, connected(h) as client:
        data = structured(await client.call_tool("add_item", {"items": items(5)}))
        assert data["ok"] == 3 and Counter(f["error_tag"] for f in data["failures"]) == {"UNCONFIRMED": 2}
        assert data["resend"], "commands without a status need a resend batch"
        gates[0].drop_status_of = 0
        done = structured(await client.call_tool("resend_writes", {"batch": data["resend"]}))
        assert done["ok"] == 5 and done.get("resend") is None
        assert await contents(h) == Counter(f"t{i}" for i in range(5))  # each once: the resend replayed uuids


async def test_a_failed_resend_keeps_its_batch_for_the_next_one() -> None:
    gates: list[Gate] = []
    async with harness(wrap=gated(gates, mode="drop")) as h, connected(h, h.server(RetryPolicy(max_attempts=1))) as c:
        data = structured(await c.call_tool("add_item", {"items": items(3)}))
        assert data["ok"] == 0 and data["resend"]
        gates[0].mode = "401"
        failed = await c.call_tool("resend_writes", {"batch": data["resend"]})
        assert failed.is_error and "token" in text_of(failed).lower()
        gates[0].mode = "pass"
        done = structured(await c.call_tool("resend_writes", {"batch": data["resend"]}))
        assert done["ok"] == 3
        assert await contents(h) == Counter(f"t{i}" for i in range(3))


async def test_unconfirmed_writes_are_never_evicted_by_later_ones() -> None:
    gates: list[Gate] = []
    async with harness(wrap=gated(gates, mode="drop")) as h, connected(h, h.server(RetryPolicy(max_attempts=1))) as c:
        batches = [
            structured(await c.call_tool("add_item", {"items": items(1, f"w{n}-")}))["resend"] for n in range(20)
        ]
        assert len(set(batches)) == 20
        gates[0].mode = "pass"
        for batch in batches:  # the oldest first: a 17th write used to evict it silently
            reply = await c.call_tool("resend_writes", {"batch": batch})
            assert not reply.is_error, text_of(reply)
            assert structured(reply)["ok"] == 1
        assert await contents(h) == Counter(f"w{n}-0" for n in range(20))


async def test_a_session_full_of_pending_commands_refuses_new_writes_until_resend_writes_finishes_them() -> None:
    gates: list[Gate] = []
    per_call = 1000
    async with harness(wrap=gated(gates, mode="drop")) as h, connected(h, h.server(RetryPolicy(max_attempts=1))) as c:
        for n in range(MAX_PENDING_COMMANDS // per_call):
            assert structured(await c.call_tool("add_item", {"items": items(per_call, f"b{n}-")}))["resend"]
        before = await contents(h)
        full = await c.call_tool("add_item", {"items": items(1, "late")})
        assert full.is_error
        assert "resend_writes" in text_of(full) and "nothing was sent" in text_of(full)
        assert await contents(h) == before
        gates[0].mode = "pass"
        everything = await c.call_tool("resend_writes", {})  # no batch: everything pending in the session
        assert not everything.is_error, text_of(everything)
        done = structured(everything)
        assert done["ok"] == MAX_PENDING_COMMANDS and done.get("resend") is None and done.get("pending") is None
        assert structured(await c.call_tool("add_item", {"items": items(1, "late")}))["ok"] == 1
        final = await contents(h)
        assert len(final) == MAX_PENDING_COMMANDS + 1 and set(final.values()) == {1}
        nothing = await c.call_tool("resend_writes", {})
        assert nothing.is_error and "nothing is pending" in text_of(nothing)


# ---------------------------------------------------------------------------------------------------------------------
# Item 2: the call budget


async def test_a_retry_after_longer_than_the_budget_returns_a_pending_batch_at_once_with_the_wait() -> None:
    gates: list[Gate] = []
    async with harness(wrap=gated(gates, mode="429", retry_after="50")) as h, connected(h) as client:
        start = h.clock.monotonic()
        reply = await client.call_tool("add_item", {"items": items(250)})
        data = structured(reply)
        assert h.sleeps == [] and h.clock.monotonic() == start, "no wait that cannot end inside the budget"
        assert data["ok"] == 0 and data["resend"] and data["retry_after"] == 50
        assert "retry after 50 s" in text_of(reply)
        gates[0].mode = "pass"
        assert structured(await client.call_tool("resend_writes", {"batch": data["resend"]}))["ok"] == 250
        assert len(await contents(h)) == 250


async def test_retries_and_waits_stop_at_the_call_budget() -> None:
    gates: list[Gate] = []
    async with harness(wrap=gated(gates, mode="429", retry_after="25")) as h, connected(h) as client:
        start = h.clock.monotonic()
        data = structured(await client.call_tool("add_item", {"items": items(300)}))
        assert h.clock.monotonic() - start <= 45.0 and sum(h.sleeps) == 25.0
        assert data["ok"] == 0 and data["resend"] and data["retry_after"] == 25
        assert await contents(h) == Counter()
        gates[0].mode = "pass"
        assert structured(await client.call_tool("resend_writes", {}))["ok"] == 300


async def test_the_budget_is_configurable_and_bounds_hung_attempts() -> None:
    @dataclass
    class Hang(httpx.AsyncBaseTransport):
        """Every command request commits, then hangs until the client's read timeout (on the injected clock)."""

        inner: httpx.AsyncBaseTransport
        h: list[Harness] = field(default_factory=list[Harness])
        hanging: bool = True

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            response = await self.inner.handle_async_request(request)
            body = json.loads(await request.aread())
            if self.hanging and body.get("commands"):
                timeout: dict[str, float | None] = request.extensions.get("timeout", {})
                self.h[0].clock.advance(min(timeout.get("read") or 30.0, 30.0))
                raise httpx.ReadTimeout("no answer", request=request)
            return response

    hangs: list[Hang] = []

    def wrap(inner: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        hangs.append(Hang(inner))
        return hangs[0]

    async with harness(wrap=wrap) as h:
        hangs[0].h.append(h)
        async with connected(h, h.server(call_budget=20.0)) as client:
            start = h.clock.monotonic()
            data = structured(await client.call_tool("add_item", {"items": items(3)}))
            assert h.clock.monotonic() - start <= 20.0
            assert data["resend"] and {f["error_tag"] for f in data["failures"]} == {"UNCONFIRMED"}
            hangs[0].hanging = False
            assert structured(await client.call_tool("resend_writes", {}))["ok"] == 3
            assert await contents(h) == Counter(f"t{i}" for i in range(3))


async def test_a_cancelled_call_keeps_its_pending_batch_and_the_next_result_names_it() -> None:
    gates: list[Gate] = []
    async with harness(wrap=gated(gates, mode="hang", hang_on=1)) as h, connected(h) as client:
        async with anyio.create_task_group() as tg:
            tg.start_soon(client.call_tool, "add_item", {"items": items(250)})
            await gates[0].entered.wait()  # the first chunk is confirmed, the second hangs
            tg.cancel_scope.cancel()
        assert len(await contents(h)) == 100
        gates[0].mode = "pass"
        reply = await client.call_tool("query_changes", {})
        text = text_of(reply)
        assert "cancelled" in text and "150 of its commands are unconfirmed" in text
        batch = text.split("batch '")[1].split("'")[0]
        done = structured(await client.call_tool("resend_writes", {"batch": batch}))
        assert done["ok"] == 250
        assert await contents(h) == Counter(f"t{i}" for i in range(250))
        assert "cancelled" not in text_of(await client.call_tool("query_changes", {}))


# ---------------------------------------------------------------------------------------------------------------------
# Item 3: progress


async def test_a_thousand_task_add_reports_progress_after_every_chunk() -> None:
    seen: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total, message))

    async with harness() as h, connected(h) as client:
        reply = await client.call_tool("add_item", {"items": items(1000)}, progress_callback=on_progress)
        assert structured(reply)["ok"] == 1000
    assert [p for p, _, _ in seen] == [float(n) for n in range(100, 1001, 100)]
    assert {t for _, t, _ in seen} == {1000.0}
    assert seen[-1][2] == "1000 of 1000 commands sent"


async def test_progress_continues_during_a_retry_after_wait() -> None:
    gates: list[Gate] = []
    seen: list[float] = []
    messages: list[str] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append(progress)
        messages.append(message or "")

    async with harness(wrap=gated(gates, mode="429", retry_after="25")) as h, connected(h) as client:

        async def recover(seconds: float) -> None:
            h.sleeps.append(seconds)
            h.clock.advance(seconds)
            gates[0].mode = "pass"

        h._sleep = recover  # type: ignore[method-assign]
        async with connected(h) as fresh:
            reply = await fresh.call_tool("add_item", {"items": items(150)}, progress_callback=on_progress)
        assert structured(reply)["ok"] == 150
        del client
    assert seen == sorted(seen) and len(set(seen)) == len(seen), "progress must increase"
    assert any("waiting" in m and "HTTP 429" in m for m in messages)
    assert seen[-1] == 150.0 and 100.0 in seen
