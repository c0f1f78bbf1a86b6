"""Issue 15: `tools-server http --multi-user --state redis://...` as several replicas behind a load balancer.

Two replica processes share one real Redis and reach `tools-server local-api` (the account's Todoist) through the
test proxy (tests/sync_proxy.py), which can hold a request or its answer and counts what reaches the account. One
sessionless MCP client alternates between the replicas call by call (tests/replicas_support.py). What each test
asserts is read from the store itself (raw Sync reads of local-api), not only from the results' text.
"""

from __future__ import annotations

import socket
import subprocess
from collections import Counter
from collections.abc import Generator
from contextlib import suppress
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client

from tests.redis_support import redis_server
from tests.replicas_support import SCRIPT, cluster, launch_replica, replica_env
from tests.support import free_port, structured, text_of
from tests.sync_proxy import Seen, has_commands

pytestmark = pytest.mark.slow  # real processes: Redis, local-api, two replicas

ALICE, BOB = "alice-token-replicas-1", "bob-token-replicas-2"
WAIT = 20.0  # seconds any single awaited event may take before the test fails


async def _within(event: anyio.Event, what: str) -> None:
    with anyio.move_on_after(WAIT):
        await event.wait()
    assert event.is_set(), f"{what} did not happen within {WAIT:g} s"


def _alices_writes(seen: Seen) -> bool:
    return seen.account == ALICE and has_commands(seen)


def _tasks(n: int) -> list[dict[str, Any]]:
    return [{"content": f"t{i}"} for i in range(n)]


# ---------------------------------------------------------------------------------------------------------------------
# a-c: a cursor, an undo handle and a resend batch made on one replica are used on the other


@pytest.mark.anyio
async def test_a_cursor_from_one_replica_lists_exactly_the_later_change_on_the_other(tmp_path: Path) -> None:
    async with cluster(tmp_path, [ALICE]) as c:
        await c.add_raw(ALICE, "before")
        async with c.client(ALICE) as (client, turns):
            first = structured(await client.call_tool("query_changes", {}))
            await c.add_raw(ALICE, "added elsewhere")  # straight to the account, past both replicas
            reply = await client.call_tool("query_changes", {"cursor": first["cursor"]})
        assert turns.tool_calls() == [(0, "query_changes"), (1, "query_changes")]
        assert [t["content"] for t in first["tasks"]] == ["before"]
        since = structured(reply)
        assert not text_of(reply).startswith("Unknown or expired cursor"), text_of(reply)
        assert since["overview"] is False
        assert [(ch["kind"], ch["content"]) for ch in since["changes"]] == [("added", "added elsewhere")]
        assert await c.contents(ALICE) == Counter(["before", "added elsewhere"])


@pytest.mark.anyio
async def test_a_write_handle_from_one_replica_undoes_on_the_other(tmp_path: Path) -> None:
    async with cluster(tmp_path, [ALICE]) as c, c.client(ALICE) as (client, turns):
        added = structured(await client.call_tool("add_item", {"items": [{"content": "to undo"}]}))
        assert await c.contents(ALICE) == Counter(["to undo"])
        undone = await client.call_tool("undo", {"write": added["write"]})
        assert turns.tool_calls() == [(0, "add_item"), (1, "undo")]
        assert not undone.is_error, text_of(undone)
        assert await c.items(ALICE) == []


@pytest.mark.anyio
async def test_a_write_whose_answer_came_too_late_is_finished_by_the_other_replica_once(tmp_path: Path) -> None:
    async with cluster(tmp_path, [ALICE], env={"TOOLS_SERVER_CALL_BUDGET": "2"}) as c, c.client(ALICE) as (client, _):
        held = c.proxy.hold(_alices_writes, forward_first=True)  # it runs in the account; its answer waits
        reply = await client.call_tool("add_item", {"items": _tasks(3)})
        await _within(held.answered, "the held write reaching the account")
        held.release()  # too late: the replica has given up on it
        data = structured(reply)
        assert data["resend"], text_of(reply)
        assert "resend_writes" in text_of(reply) and data["resend"] in text_of(reply)
        assert await c.contents(ALICE) == Counter(f"t{i}" for i in range(3))  # it ran, unconfirmed
        done = await client.call_tool("resend_writes", {"batch": data["resend"]})
        assert not done.is_error, text_of(done)
        assert structured(done)["ok"] == 3 and structured(done).get("resend") is None
        assert await c.contents(ALICE) == Counter(f"t{i}" for i in range(3))  # each exactly once
        assert [len(s.commands) for s in c.proxy.requests(ALICE) if s.commands] == [3, 3]


# ---------------------------------------------------------------------------------------------------------------------
# d: a replica killed in the middle of a two-request write


async def _call_until_killed(client: Client, arguments: dict[str, Any]) -> None:
    # The replica dies under this call: whatever the client raises then is expected; the store says what happened.
    with suppress(Exception):
        await client.call_tool("add_item", arguments)


@pytest.mark.anyio
@pytest.mark.parametrize("forwarded", [False, True], ids=["second-request-never-sent", "second-request-ran"])
async def test_a_write_cut_by_a_sigkill_is_finished_by_the_other_replica_each_task_once(
    tmp_path: Path, forwarded: bool
) -> None:
    env = {"TOOLS_SERVER_LOCK_SECONDS": "3"}
    async with cluster(tmp_path, [ALICE], env=env) as c:
        # 150 tasks: two Sync requests (100 and 50 commands); the first is answered, the second held.
        held = c.proxy.hold(_alices_writes, forward_first=forwarded, skip=1)
        try:
            async with c.client(ALICE, replicas=(0,)) as (doomed, _), anyio.create_task_group() as group:
                group.start_soon(_call_until_killed, doomed, {"items": _tasks(150)})
                second = "the second Sync request of the 150-task add " + ("running" if forwarded else "arriving")
                await _within(held.answered if forwarded else held.arrived, second)
                c.replicas[0].kill()  # holding the account's write lock, with the batch half confirmed
                group.cancel_scope.cancel()
        except* httpx2.TransportError:
            pass  # the killed replica's dropped connection, raised from the MCP client's own task group
        assert held.seen is not None and len(held.seen.commands) == 50
        assert len(await c.items(ALICE)) == (150 if forwarded else 100)
        async with c.client(ALICE, replicas=(1,)) as (survivor, turns):
            with anyio.fail_after(WAIT):  # it may wait for the dead replica's lock to expire (3 s)
                done = await survivor.call_tool("resend_writes", {})
        assert turns.tool_calls() == [(0, "resend_writes")]  # turn 0 of this client: replica r1
        assert not done.is_error, text_of(done)
        result = structured(done)
        assert result["failed"] == 0 and result.get("resend") is None and not result.get("pending")
        # Only the second request's commands are resent (the stored batch was brought up to date before that request
        # went), and the result tells the whole write: all 150 confirmed.
        assert text_of(done).startswith("Resent 50 unconfirmed commands. Added 150 tasks."), text_of(done)
        assert result["ok"] == 150, text_of(done)
        assert await c.contents(ALICE) == Counter(f"t{i}" for i in range(150))


# ---------------------------------------------------------------------------------------------------------------------
# e: another account gets nothing of Alice's cursor, write handle or batch


@pytest.mark.anyio
async def test_another_account_cannot_use_alices_cursor_handle_or_batch_on_any_replica(tmp_path: Path) -> None:
    async with cluster(tmp_path, [ALICE, BOB], env={"TOOLS_SERVER_CALL_BUDGET": "2"}) as c:
        async with c.client(ALICE) as (alice, _):
            added = structured(await alice.call_tool("add_item", {"items": [{"content": "alice private"}]}))
            cursor = structured(await alice.call_tool("query_changes", {}))["cursor"]
            held = c.proxy.hold(_alices_writes, forward_first=True)
            late = structured(await alice.call_tool("add_item", {"items": [{"content": "alice pending"}]}))
            await _within(held.answered, "Alice's held write reaching her account")
            held.release()
        handle, batch = added["write"], late["resend"]
        assert handle and batch and cursor
        alices = [handle, batch, cursor, *(item["id"] for item in await c.items(ALICE))]
        alices += ["alice private", "alice pending"]

        async with c.client(BOB) as (bob, turns):
            stolen = await bob.call_tool("query_changes", {"cursor": cursor})
            undone = await bob.call_tool("undo", {"write": handle})
            resent = await bob.call_tool("resend_writes", {"batch": batch})
            none_pending = await bob.call_tool("resend_writes", {})
        assert [r for r, _ in turns.tool_calls()] == [0, 1, 0, 1]
        # An unknown cursor is a fresh overview of Bob's own (empty) account.
        assert text_of(stolen).startswith("Unknown or expired cursor") and structured(stolen)["tasks"] == []
        assert undone.is_error and resent.is_error and none_pending.is_error
        assert "unknown" in text_of(undone) and "unknown" in text_of(resent)
        for reply, echoed in ((stolen, cursor), (undone, handle), (resent, batch), (none_pending, None)):
            text = text_of(reply).replace(echoed, "<own input>") if echoed else text_of(reply)
            assert not [secret for secret in alices if secret in text], text
        assert await c.items(BOB) == []
        assert await c.contents(ALICE) == Counter(["alice private", "alice pending"])

        # Alice's handles survived Bob's attempts, on either replica.
        async with c.client(ALICE) as (alice, _):
            finished = await alice.call_tool("resend_writes", {"batch": batch})
            reverted = await alice.call_tool("undo", {"write": handle})
        assert not finished.is_error and structured(finished)["ok"] == 1, text_of(finished)
        assert not reverted.is_error, text_of(reverted)
        assert await c.contents(ALICE) == Counter(["alice pending"])


# ---------------------------------------------------------------------------------------------------------------------
# f: one request budget per account, shared by every replica

BUDGET = 8


@pytest.mark.anyio
async def test_the_request_budget_is_counted_across_replicas_and_a_call_past_it_sends_nothing(tmp_path: Path) -> None:
    async with cluster(tmp_path, [ALICE], env={"TOOLS_SERVER_ACCOUNT_REQUESTS": str(BUDGET)}) as c:
        async with c.client(ALICE) as (client, turns):
            turns.next = 1
            await client.list_tools()  # now both replicas have checked the token (one Sync read each, counted)
            assert {s.via for s in c.proxy.requests(ALICE)} == {"r0", "r1"}
            made: list[str] = []
            refused: list[tuple[str, int, int]] = []  # (text, requests before, requests after)
            for n in range(BUDGET + 2):
                before = len(c.proxy.requests(ALICE))
                reply = await client.call_tool("add_item", {"items": [{"content": f"t{n}"}]})
                if reply.is_error:
                    refused.append((text_of(reply), before, len(c.proxy.requests(ALICE))))
                    if len(refused) == 2:  # one on each replica
                        break
                else:
                    assert structured(reply)["ok"] == 1, text_of(reply)
                    made.append(f"t{n}")
        sent = c.proxy.requests(ALICE)
        # Never past the budget, and not refused early: an add of one task is one request (a call that would need
        # two with one left is refused whole). Then both replicas refuse, sending nothing.
        assert BUDGET - 1 <= len(sent) <= BUDGET, [(s.via, len(s.commands)) for s in sent]
        assert len(refused) == 2, (made, refused)
        for text, before, after in refused:
            assert "request budget" in text and after == before, text
        by_replica = Counter(s.via for s in sent)
        assert set(by_replica) == {"r0", "r1"} and max(by_replica.values()) < BUDGET, by_replica
        assert await c.contents(ALICE) == Counter(made) and len(made) >= 2


# ---------------------------------------------------------------------------------------------------------------------
# g: start-up errors


@pytest.fixture
def sync_endpoint() -> Generator[str]:
    """Something listening where TODOIST_SYNC_URL points, so the start-up reachability probe passes and only the
    state URL can be what fails."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/api/v1/sync"


def _start(tmp_path: Path, sync_url: str, state: str, *, in_env: bool) -> subprocess.CompletedProcess[str]:
    argv = [str(SCRIPT), "http", "--multi-user", "--port", str(free_port())]
    extra = {"TOOLS_SERVER_STATE_URL": state} if in_env else {}
    if not in_env:
        argv += ["--state", state]
    return subprocess.run(
        argv,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
        env=replica_env(tmp_path, sync_url, **extra),
    )


def test_a_state_url_of_another_scheme_is_refused_naming_the_flag(tmp_path: Path, sync_endpoint: str) -> None:
    done = _start(tmp_path, sync_endpoint, "memcached://x", in_env=False)
    assert done.returncode == 2, done.stderr
    # Refused by the option's own check, not by argparse as an option it does not know.
    assert "--state" in done.stderr and "unrecognized arguments" not in done.stderr, done.stderr
    assert "Uvicorn running" not in done.stderr


@pytest.mark.parametrize("in_env", [False, True], ids=["--state", "TOOLS_SERVER_STATE_URL"])
def test_an_unreachable_redis_stops_the_start_naming_its_url(tmp_path: Path, sync_endpoint: str, in_env: bool) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    done = _start(tmp_path, sync_endpoint, url, in_env=in_env)
    assert done.returncode == 4, done.stderr
    assert url in done.stderr and "Uvicorn running" not in done.stderr


@pytest.mark.parametrize("in_env", [False, True], ids=["--state", "TOOLS_SERVER_STATE_URL"])
def test_an_unreachable_redis_url_is_named_without_its_password(
    tmp_path: Path, sync_endpoint: str, in_env: bool
) -> None:
    port = free_port()
    done = _start(tmp_path, sync_endpoint, f"redis://:hunter2@127.0.0.1:{port}/0", in_env=in_env)
    assert done.returncode == 4, done.stderr
    assert f"127.0.0.1:{port}" in done.stderr
    assert "hunter2" not in done.stderr and "hunter2" not in done.stdout


@pytest.mark.parametrize("aof", [False, True], ids=["persistence-off", "appendonly-yes"])
def test_a_redis_without_persistence_is_warned_about_at_start(tmp_path: Path, sync_endpoint: str, aof: bool) -> None:
    with redis_server(tmp_path) as store:
        if aof:
            store.client().config_set("appendonly", "yes")  # pyright: ignore[reportUnknownMemberType]
        replica = launch_replica(tmp_path / "r0", sync_endpoint, store.url)
        try:
            replica.wait_ready()
        finally:
            replica.stop()
    said = replica.output()
    warned = [line for line in said.splitlines() if "warning: the state store" in line]
    if aof:
        assert warned == [], said
    else:
        assert len(warned) == 1 and store.url in warned[0], said
        assert "persistence is off" in warned[0] and "appendonly yes" in warned[0], said
