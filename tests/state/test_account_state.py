"""State keyed by account (issue 15, item 2): one mirror per account shared by all its sessions; cursors, pending
batches and undo handles belong to the account, not to a session; the in-process request budget."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import FixedClock, command, connected, harness, structured, text_of
from tools_server.plans.undo import UndoRecord
from tools_server.state import memory
from tools_server.state.memory import MemoryState
from tools_server.state.sessions import SessionRegistry
from tools_server.state.store import DEFAULT_ACCOUNT_REQUESTS, REQUEST_WINDOW_SECONDS

pytestmark = pytest.mark.anyio


async def test_sessions_of_one_account_share_one_mirror_and_handles_but_not_last_write() -> None:
    registry = SessionRegistry()
    one = registry.get("a:http:s1", account="a")
    two = registry.get("a:http:s2", account="a")
    other = registry.get("b:http:s1", account="b")
    assert one.mirror is two.mirror and one.state is two.state
    assert other.mirror is not one.mirror and other.state is not one.state
    cursor, view = await one.open_view()
    await one.state.save_view(cursor, view)
    assert await two.get_view(cursor) is view and await other.get_view(cursor) is None
    # Only its opener counts its own writes as seen in a cursor.
    assert cursor in one.own_cursors and cursor in two.own_cursors and cursor not in other.own_cursors


async def test_the_mirror_goes_with_the_accounts_last_session_and_handles_stay() -> None:
    clock = FixedClock()
    registry = SessionRegistry(idle_seconds=60, clock=clock.as_clock())
    first = registry.get("a:1", account="a")
    handle = await first.state.mint_write(UndoRecord("add"))
    clock.advance(61)
    again = registry.get("a:2", account="a")  # a:1 idled out, and with it the account's mirror
    assert again.mirror is not first.mirror and registry.account_of("a") is again.account
    assert await again.state.find_write(handle) is not None


async def test_a_cursor_still_lists_changes_after_its_accounts_mirror_was_rebuilt() -> None:
    # The rebuilt mirror counts versions from zero again: a cursor kept across it must compare everything once,
    # not trust a version number of the mirror that went (that would answer "No changes" here).
    clock = FixedClock()
    async with harness(clock=clock) as h:
        registry = SessionRegistry(idle_seconds=60, clock=clock.as_clock())
        async with connected(h, h.server(sessions=registry)) as client:
            await client.call_tool("add_item", {"items": [{"content": "before"}]})
            cursor = structured(await client.call_tool("query_changes", {}))["cursor"]
            await h.raw_sync({"commands": [command("item_add", {"content": "made elsewhere"}, temp_id="t")]})
            await client.call_tool("add_item", {"items": [{"content": "mine"}]})
            clock.advance(61)
            changes = structured(await client.call_tool("query_changes", {"cursor": cursor}))
        # Its own write ("mine") was marked as seen in its cursor when it was made.
        listed: list[dict[str, Any]] = changes.get("changes") or []
        assert [c["content"] for c in listed] == ["made elsewhere"]


async def test_a_later_connection_of_the_account_undoes_by_handle() -> None:
    async with harness() as h:
        # One registry: each in-process Client runs the server's lifespan anew, as a new process would.
        server = h.server(sessions=SessionRegistry(clock=h.clock.as_clock()))
        async with connected(h, server) as first:
            added = structured(await first.call_tool("add_item", {"items": [{"content": "x"}]}))
        # A new in-process client is a new session of the same account (same token) on the same server.
        async with connected(h, server) as second:
            undone = await second.call_tool("undo", {"write": added["write"]})
            assert not undone.is_error, text_of(undone)
        assert await h.active_items() == []


async def test_the_request_budget_refuses_a_call_before_sending_and_frees_with_the_next_window() -> None:
    clock = FixedClock()
    async with harness(clock=clock) as h:
        state = MemoryState(account_requests=2)
        async with connected(h, h.server(state=state)) as client:
            for _ in range(2):
                assert not (await client.call_tool("find_items", {"filter": "today"})).is_error
                clock.advance(31)  # past find_items' freshness, so each call makes one request
            before = len(h.transport.bodies)
            refused = await client.call_tool("add_item", {"items": [{"content": "x"}]})
            assert refused.is_error and "request budget (2 Sync requests per 15 minutes" in text_of(refused)
            assert len(h.transport.bodies) == before and await h.active_items() == []
            clock.advance(REQUEST_WINDOW_SECONDS)
            assert not (await client.call_tool("add_item", {"items": [{"content": "x"}]})).is_error
        assert [i["content"] for i in await h.active_items()] == ["x"]


def test_the_budget_is_off_in_personal_mode_and_on_by_default_for_many_users() -> None:
    from tools_server.cli.state_option import state_settings

    assert state_settings({}, None, multi_user=False).account_requests is None
    assert state_settings({}, None, multi_user=True).account_requests == DEFAULT_ACCOUNT_REQUESTS
    assert state_settings({"TOOLS_SERVER_ACCOUNT_REQUESTS": "5"}, None, multi_user=False).account_requests == 5


def test_shared_state_is_refused_for_the_embedded_backend_whose_account_lives_in_one_process() -> None:
    from tools_server.cli.checks import EXIT_CONFIG, StartupError
    from tools_server.cli.state_option import state_settings

    with pytest.raises(StartupError) as refused:
        state_settings({}, "redis://127.0.0.1:6379/0", multi_user=False, local_backend=True)
    assert refused.value.code == EXIT_CONFIG and "tools-server local-api" in str(refused.value)
    secret = {"TOOLS_SERVER_STATE_SECRET": "s" * 32}
    assert state_settings(secret, "redis://127.0.0.1:6379/0", multi_user=False).url == "redis://127.0.0.1:6379/0"


def test_http_with_shared_state_and_no_secret_stops_with_exit_2_naming_the_variable(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from tools_server.cli.checks import EXIT_CONFIG
    from tools_server.cli.main import main

    # Refused before anything is bound or connected (nothing listens on this Redis URL either).
    argv = ["http", "--multi-user", "--state", "redis://127.0.0.1:1/0"]
    for env in ({}, {"TOOLS_SERVER_STATE_SECRET": "too short"}):
        assert main(argv, env) == EXIT_CONFIG
        told = capsys.readouterr().err
        assert told.count("\n") == 1 and "TOOLS_SERVER_STATE_SECRET" in told and "same on every replica" in told


async def test_a_sessions_own_writes_to_task_trees_are_not_listed_in_any_of_its_cursors_and_anothers_are() -> None:
    async with harness() as h, connected(h) as alice, connected(h) as bob:
        tree = {"content": "trip", "subtasks": [{"content": "flight", "subtasks": [{"content": "prices"}]}]}
        added = structured(
            await alice.call_tool("add_item", {"new_projects": [{"name": "Later"}], "items": [tree, {"content": "a"}]})
        )
        trip, other = added["ids"][0], added["ids"][-1]
        cursors = [structured(await alice.call_tool("query_changes", {}))["cursor"] for _ in range(2)]
        moved = structured(await alice.call_tool("add_item", {"items": [{"content": "box", "subtasks": [tree]}]}))
        for cursor in cursors:
            await alice.call_tool("query_changes", {"cursor": cursor})
        await bob.call_tool("update_items", {"items": [{"id": other, "content": "edited by bob"}]})
        await alice.call_tool("complete_items", {"ids": [trip]})
        await alice.call_tool("move_items", {"ids": [moved["ids"][0]], "to_project": "Later"})
        for cursor in cursors:
            changes = structured(await alice.call_tool("query_changes", {"cursor": cursor}))["changes"]
            assert [(c["kind"], c["content"]) for c in changes] == [("updated", "edited by bob")]


async def test_a_long_write_stores_its_batch_before_it_starts_and_after_1_2_4_and_8_requests(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each keep rewrites the whole batch: a 1000-task add keeps it 5 times (was 10), and every task lands once."""
    kept: list[int] = []
    keep = memory.MemoryAccount.keep_pending

    async def counting(self: memory.MemoryAccount, write: Any) -> None:
        kept.append(len(write.outcome.statuses))
        await keep(self, write)

    monkeypatch.setattr(memory.MemoryAccount, "keep_pending", counting)
    async with harness() as h, connected(h) as client:
        await client.call_tool("query_changes", {})
        h.transport.reset()
        result = await client.call_tool("add_item", {"items": [{"content": f"t{n}"} for n in range(1000)]})
        assert structured(result)["ok"] == 1000 and h.transport.count == 10
        assert kept == [0, 100, 200, 400, 800]  # statuses confirmed when each keep ran
        assert len(h.store.sync(resource_types=["items"])["items"]) == 1000


async def test_an_undo_record_kept_in_process_is_read_back_through_the_codec_and_sealed_only_then(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """As a pending batch: a write's undo record is kept as minted and sealed when read (0.2 ms of a 100-task add
    that nobody undoes); what undo reads is a copy through the records codec, as from Redis or the state file."""
    state = SessionRegistry().get("a:1", account="a").state
    sealed: list[str] = []
    seal = memory.Sealer.seal

    def counting(self: memory.Sealer, slot: str, codec: Any, value: Any) -> Any:
        sealed.append(slot)
        return seal(self, slot, codec, value)

    monkeypatch.setattr(memory.Sealer, "seal", counting)
    record = UndoRecord("add", created=["t1"], created_all={"t1"})
    handle = await state.mint_write(record)
    assert sealed == []
    back = await state.find_write(handle)
    assert sealed == [f"write:{handle}"] and back is not None and back is not record
    assert (back.kind, back.created, back.created_all, back.handle) == ("add", ["t1"], {"t1"}, handle)
    back.created.append("t2")  # what a reader does to its copy stays with it
    again = await state.find_write(handle)
    assert again is not None and again.created == ["t1"]
