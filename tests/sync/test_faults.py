"""Faults between the server and the backend: lost responses after commit, 429, 5xx, timeouts, forgotten sync tokens.

The promise under test: nothing is applied twice, nothing is lost, and every tool result either says "ok" or names
exactly the tasks that were not confirmed (and how to finish them safely).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from mcp import Client

from tests.faults import FaultRates, FaultyTransport
from tests.support import connected, harness, structured, text_of
from tools_server.sync.client import RetryPolicy

pytestmark = pytest.mark.anyio

UNSURE = {"UNCONFIRMED", "NOT_SENT"}


@dataclass
class Tally:
    calls: int = 0
    unconfirmed: int = 0
    resends: int = 0
    statuses: Counter[str] = field(default_factory=Counter[str])


async def finish(client: Client, data: dict[str, Any], tally: Tally) -> dict[str, Any]:
    """Check a write result is either ok or names its unconfirmed tasks; resend until everything is confirmed."""
    for _ in range(30):
        failures: list[dict[str, Any]] = data.get("failures") or []
        for failure in failures:
            assert failure["error_tag"] in UNSURE, failure
            assert failure["retryable"] is True
            tally.statuses[failure["error_tag"]] += 1
        tally.statuses["ok"] += data["ok"]
        unsure = [f for f in failures if f["error_tag"] in UNSURE]
        if not unsure:
            assert data.get("resend") is None
            return data
        assert data["resend"], "unconfirmed tasks need a resend batch id"
        tally.unconfirmed += len(unsure)
        tally.resends += 1
        reply = await client.call_tool("resend_writes", {"batch": data["resend"]})
        assert not reply.is_error, text_of(reply)
        data = structured(reply)
    raise AssertionError("writes still unconfirmed after 30 resends")


async def test_a_thousand_writes_under_faults_lose_nothing_and_duplicate_nothing() -> None:
    rates = FaultRates(lost_response=0.20, rate_limited=0.10, server_error=0.10, timeout=0.05)
    faulty: list[FaultyTransport] = []

    def wrap(inner: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        faulty.append(FaultyTransport(inner, rates, seed=20261123))
        return faulty[0]

    tally = Tally()
    async with harness(wrap=wrap) as h, connected(h) as client:
        start_token = (await h.raw_sync({"sync_token": "*", "resource_types": ["items"]}))["sync_token"]
        expected: dict[str, str] = {}
        for batch in range(10):
            items = [{"content": f"task {batch}-{i}"} for i in range(100)]
            tally.calls += 1
            reply = await client.call_tool("add_item", {"items": items})
            assert not reply.is_error, text_of(reply)
            data = await finish(client, structured(reply), tally)
            assert data["ok"] == 100
            expected.update({task_id: f"task {batch}-{i}" for i, task_id in enumerate(data["ids"])})

        ids = list(expected)
        for start in range(0, 500, 100):
            tally.calls += 1
            reply = await client.call_tool("complete_items", {"ids": ids[start : start + 100]})
            assert not reply.is_error, text_of(reply)
            assert (await finish(client, structured(reply), tally))["ok"] == 100
        tally.calls += 1
        marker = {"new_projects": [{"name": "Dest"}], "items": [{"content": "marker"}]}
        await finish(client, structured(await client.call_tool("add_item", marker)), tally)
        for start in range(500, 750, 125):
            tally.calls += 1
            reply = await client.call_tool("move_items", {"ids": ids[start : start + 125], "to_project": "Dest"})
            assert not reply.is_error, text_of(reply)
            assert (await finish(client, structured(reply), tally))["ok"] == 125

        state = await h.raw_sync({"sync_token": "*", "resource_types": ["items", "projects"]})
        dest = next(p["id"] for p in state["projects"] if p["name"] == "Dest")
        active = [i for i in state["items"] if i["content"] != "marker"]
        contents = Counter(i["content"] for i in active)
        assert max(contents.values()) == 1, "a task was created twice"
        assert {i["id"]: i["content"] for i in active} == {i: expected[i] for i in ids[500:]}
        assert sum(i["project_id"] == dest for i in active) == 250
        # Every task ever created, completed ones included: exactly the thousand, each once.
        everything = await h.raw_sync({"sync_token": start_token, "resource_types": ["items"]})
        created = Counter(i["content"] for i in everything["items"] if i["content"].startswith("task "))
        assert len(created) == 1000 and set(created.values()) == {1}
        assert sum(i["checked"] for i in everything["items"]) == 500

    injected = faulty[0].injected
    print(
        f"\n1000 adds + 500 completes + 250 moves in {tally.calls} tool calls: {h.transport.count} HTTP requests, "
        f"faults injected {dict(injected)}, client retries {len(h.sleeps)}, "
        f"tasks reported unconfirmed {tally.unconfirmed}, resend_writes calls {tally.resends}, "
        f"final store: 1000 tasks, 0 duplicates, 0 lost"
    )
    assert injected["lost"] > 0 and injected["429"] > 0 and injected["5xx"] > 0 and injected["timeout"] > 0


@dataclass
class DropResponses(httpx.AsyncBaseTransport):
    """The backend commits every write but its response never arrives while ``dropping`` is set."""

    inner: httpx.AsyncBaseTransport
    dropping: bool = True
    delivered: int = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        await response.aread()
        # Writes only: the session's first read (no write goes with sync_token "*") still arrives.
        if self.dropping and b'"commands"' in request.content:
            raise httpx.ReadError("connection reset after commit", request=request)
        self.delivered += 1
        return response


async def test_unconfirmed_writes_are_named_and_resend_finishes_them_without_duplicates() -> None:
    drops: list[DropResponses] = []

    def wrap(inner: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        drops.append(DropResponses(inner))
        return drops[0]

    async with harness(wrap=wrap) as h, connected(h, h.server(RetryPolicy(max_attempts=2))) as client:
        reply = await client.call_tool("add_item", {"items": [{"content": "a", "subtasks": [{"content": "a1"}]},
                                                              {"content": "b"}]})  # fmt: skip
        data = structured(reply)
        assert data["ok"] == 0 and {f["error_tag"] for f in data["failures"]} == {"UNCONFIRMED"}
        text = text_of(reply)
        assert "3 tasks not confirmed" in text and data["resend"] in text and "resend_writes" in text
        # Every attempt committed on the backend: the tasks exist once each, though nobody was told.
        assert sorted(i["content"] for i in await h.active_items()) == ["a", "a1", "b"]

        drops[0].dropping = False
        done = structured(await client.call_tool("resend_writes", {"batch": data["resend"]}))
        assert done["ok"] == 3 and done.get("resend") is None
        items = {i["content"]: i for i in await h.active_items()}
        assert sorted(items) == ["a", "a1", "b"]
        assert done["ids"] == [items["a"]["id"], items["a1"]["id"], items["b"]["id"]]
        assert items["a1"]["parent_id"] == items["a"]["id"]

        again = await client.call_tool("resend_writes", {"batch": data["resend"]})
        assert again.is_error and "unknown or already confirmed" in text_of(again)


async def test_later_chunks_are_not_sent_after_a_failed_one_and_resend_sends_them_in_order() -> None:
    @dataclass
    class FailSecond(httpx.AsyncBaseTransport):
        inner: httpx.AsyncBaseTransport
        failing: bool = True
        seen: int = 0

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            body = json.loads(await request.aread())
            if body.get("commands"):
                self.seen += 1
                if self.failing and self.seen == 2:
                    return httpx.Response(503, json={"error": "Service unavailable", "http_code": 503})
            return await self.inner.handle_async_request(request)

    gates: list[FailSecond] = []

    def wrap(inner: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        gates.append(FailSecond(inner))
        return gates[0]

    async with harness(wrap=wrap) as h, connected(h, h.server(RetryPolicy(max_attempts=1))) as client:
        data = structured(await client.call_tool("add_item", {"items": [{"content": f"t{i}"} for i in range(250)]}))
        tags = Counter(f["error_tag"] for f in data["failures"])
        assert data["ok"] == 100 and tags == {"UNCONFIRMED": 100, "NOT_SENT": 50}
        assert len(await h.active_items()) == 100
        gates[0].failing = False
        done = structured(await client.call_tool("resend_writes", {"batch": data["resend"]}))
        assert done["ok"] == 250
        assert sorted(i["content"] for i in await h.active_items()) == sorted(f"t{i}" for i in range(250))


async def test_a_forgotten_sync_token_leads_to_one_full_resync_reported_to_the_model() -> None:
    @dataclass
    class ForgetTokens(httpx.AsyncBaseTransport):
        inner: httpx.AsyncBaseTransport
        forget: bool = False
        refusals: int = 0

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            body = json.loads(await request.aread())
            if self.forget and body.get("sync_token") != "*":
                self.refusals += 1
                error = {"error": "Invalid argument value", "error_code": 20, "error_tag": "INVALID_ARGUMENT_VALUE",
                         "http_code": 400, "error_extra": {"argument": "sync_token"}}  # fmt: skip
                return httpx.Response(400, json=error)
            return await self.inner.handle_async_request(request)

    forgetful: list[ForgetTokens] = []

    def wrap(inner: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        forgetful.append(ForgetTokens(inner))
        return forgetful[0]

    async with harness(wrap=wrap) as h, connected(h) as client:
        first = structured(await client.call_tool("query_changes", {}))
        forgetful[0].forget = True
        h.transport.reset()
        reply = await client.call_tool("query_changes", {"cursor": first["cursor"]})
        assert not reply.is_error
        assert structured(reply).get("resynced") is True and "resync" in text_of(reply).lower()
        assert forgetful[0].refusals == 1 and h.transport.full_syncs() == 1 and h.transport.count == 2


async def test_a_rejected_token_is_one_clear_error_not_a_retry_loop() -> None:
    def wrap(_inner: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        body = {"error": "Invalid token", "error_code": 401, "error_tag": "AUTH_INVALID_TOKEN", "http_code": 403}
        return httpx.MockTransport(lambda _request: httpx.Response(403, json=body))

    async with harness(wrap=wrap) as h, connected(h) as client:
        reply = await client.call_tool("add_item", {"items": [{"content": "x"}]})
        assert reply.is_error and "token" in text_of(reply).lower()
        assert h.transport.count == 1 and h.sleeps == []


CALL_BUDGET = 45.0


@dataclass
class Timed:
    """Tool calls through one client, each timed on the injected clock; a resend first waits what the backend asked."""

    client: Client
    h: Any
    longest: float = 0.0
    longest_tool: str = ""
    waited: float = 0.0

    async def call(self, tool: str, args: dict[str, Any]) -> dict[str, Any]:
        start = self.h.clock.monotonic()
        reply = await self.client.call_tool(tool, args)
        spent = self.h.clock.monotonic() - start
        if spent > self.longest:
            self.longest, self.longest_tool = spent, tool
        assert not reply.is_error, text_of(reply)
        return structured(reply)

    async def finish(self, data: dict[str, Any], tally: Tally) -> dict[str, Any]:
        """Resend (after the wait the backend asked for) until every command of the write is confirmed."""
        for _ in range(40):
            failures: list[dict[str, Any]] = data.get("failures") or []
            for failure in failures:
                assert failure["error_tag"] in UNSURE and failure["retryable"] is True, failure
                tally.statuses[failure["error_tag"]] += 1
            projects = [p for p in data.get("projects") or () if p.get("error_tag")]
            assert all(p["error_tag"] in UNSURE for p in projects), projects
            if not data.get("resend"):
                assert not failures and not projects, "unconfirmed tasks need a resend batch id"
                return data
            tally.unconfirmed += len(failures)
            tally.resends += 1
            wait = float(data.get("retry_after") or 0.0)
            self.h.clock.advance(wait)  # the model waits as told before resending
            self.waited += wait
            data = await self.call("resend_writes", {"batch": data["resend"]})
        raise AssertionError("writes still unconfirmed after 40 resends")


@pytest.mark.slow
async def test_two_thousand_writes_under_every_fault_end_confirmed_with_no_duplicates_within_the_budget() -> None:
    rates = FaultRates(
        lost_response=0.06, rate_limited=0.05, server_error=0.05, timeout=0.04, long_rate_limit=0.03,
        hang=0.04, truncated=0.04, html=0.03, missing_status=0.08,
    )  # fmt: skip
    faulty: list[FaultyTransport] = []
    clocks: list[Any] = []

    def wrap(inner: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        faulty.append(FaultyTransport(inner, rates, seed=20261202, advance=lambda s: clocks[0].advance(s)))
        return faulty[0]

    tally = Tally()
    async with harness(wrap=wrap) as h:
        clocks.append(h.clock)
        async with connected(h, h.server(call_budget=CALL_BUDGET)) as client:
            timed = Timed(client, h)
            start_token = (await h.raw_sync({"sync_token": "*", "resource_types": ["items"]}))["sync_token"]
            expected: dict[str, str] = {}
            for batch in range(20):
                tally.calls += 1
                first = await timed.call("add_item", {"items": [{"content": f"task {batch}-{i}"} for i in range(100)]})
                data = await timed.finish(first, tally)
                assert data["ok"] == 100
                expected.update({task_id: f"task {batch}-{i}" for i, task_id in enumerate(data["ids"])})
            ids = list(expected)
            for start in range(0, 500, 100):
                tally.calls += 1
                done = await timed.finish(await timed.call("complete_items", {"ids": ids[start : start + 100]}), tally)
                assert done["ok"] == 100
            tally.calls += 1
            marker = {"new_projects": [{"name": "Dest"}], "items": [{"content": "marker"}]}
            await timed.finish(await timed.call("add_item", marker), tally)
            for start in range(500, 750, 125):
                tally.calls += 1
                moved = await timed.call("move_items", {"ids": ids[start : start + 125], "to_project": "Dest"})
                assert (await timed.finish(moved, tally))["ok"] == 125

        state = await h.raw_sync({"sync_token": "*", "resource_types": ["items", "projects"]})
        dest = next(p["id"] for p in state["projects"] if p["name"] == "Dest")
        active = [i for i in state["items"] if i["content"] != "marker"]
        assert max(Counter(i["content"] for i in active).values()) == 1, "a task was created twice"
        assert {i["id"]: i["content"] for i in active} == {i: expected[i] for i in ids[500:]}
        assert sum(i["project_id"] == dest for i in active) == 250
        everything = await h.raw_sync({"sync_token": start_token, "resource_types": ["items"]})
        created = Counter(i["content"] for i in everything["items"] if i["content"].startswith("task "))
        assert len(created) == 2000 and set(created.values()) == {1}, "0 lost, 0 duplicates"
        assert sum(i["checked"] for i in everything["items"]) == 500

    injected = faulty[0].injected
    writes = 2000 + 500 + 250
    print(
        f"\n{writes} task writes (2000 adds, 500 completes, 250 moves) in {tally.calls} tool calls + "
        f"{tally.resends} resend_writes calls: {h.transport.count} HTTP requests, faults injected {dict(injected)}, "
        f"client retry waits {len(h.sleeps)} ({sum(h.sleeps):.1f}s), tasks reported unconfirmed {tally.unconfirmed}, "
        f"waited as told before resends {timed.waited:.0f}s; longest tool call {timed.longest:.1f}s "
        f"({timed.longest_tool}) against a budget of {CALL_BUDGET:g}s; final store: 2000 tasks, 0 duplicates, 0 lost"
    )
    assert timed.longest <= CALL_BUDGET
    assert all(injected[k] > 0 for k, _ in rates.edges()), injected


@dataclass
class StripIds:
    """The real local backend behind an ``httpx.MockTransport`` that takes ``temp_id_mapping`` out of every answer
    (Todoist may do so, Doist's server code says), and with ``blind`` the objects a created id could be found by."""

    inner: httpx.AsyncBaseTransport
    blind: bool = False
    stripping: bool = True

    async def forward(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        body = json.loads(await response.aread())
        sent: dict[str, Any] = json.loads(request.content) if request.content else {}  # REST reads (GET) carry no body
        if self.stripping and "commands" in sent:
            body.pop("temp_id_mapping", None)
        if self.blind and self.stripping:
            body.pop("items", None)
        return httpx.Response(response.status_code, json=body)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.forward)


async def test_created_tasks_whose_ids_the_answer_leaves_out_are_found_and_undo_reverts_them() -> None:
    strips: list[StripIds] = []

    def wrap(inner: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        strips.append(StripIds(inner))
        return strips[0].transport()

    async with harness(wrap=wrap) as h, connected(h) as client:
        reply = await client.call_tool("add_item", {"items": [{"content": "a", "subtasks": [{"content": "a1"}]},
                                                              {"content": "b"}]})  # fmt: skip
        data = structured(reply)
        items = {i["content"]: i["id"] for i in await h.active_items()}
        assert data["ok"] == 3 and data["ids"] == [items["a"], items["a1"], items["b"]], text_of(reply)
        assert all(i in text_of(reply) for i in items.values()) and data.get("resend") is None
        undone = await client.call_tool("undo", {"write": data["write"]})
        assert "reverted 2 tasks" in text_of(undone), text_of(undone)  # a1 goes with a
        assert await h.active_items() == []


async def test_created_tasks_whose_ids_cannot_be_found_are_pending_and_a_resend_brings_them() -> None:
    strips: list[StripIds] = []

    def wrap(inner: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        strips.append(StripIds(inner, blind=True))
        return strips[0].transport()

    async with harness(wrap=wrap) as h, connected(h) as client:
        reply = await client.call_tool("add_item", {"items": [{"content": "a"}, {"content": "b"}]})
        data = structured(reply)
        assert data["ok"] == 0 and data["ids"] == [None, None] and data["resend"] in text_of(reply), text_of(reply)
        assert {f["error_tag"] for f in data["failures"]} == {"UNCONFIRMED"}
        assert text_of(reply).startswith("Added 0 of 2"), text_of(reply)
        strips[0].stripping = False
        done = structured(await client.call_tool("resend_writes", {"batch": data["resend"]}))
        items = {i["content"]: i["id"] for i in await h.active_items()}
        assert sorted(items) == ["a", "b"]  # each once: the resend was answered from the backend's record
        assert done["ok"] == 2 and done["ids"] == [items["a"], items["b"]]
