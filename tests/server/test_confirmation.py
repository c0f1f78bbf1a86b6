"""Confirmation by effect: the tasks a delete or an undo removes (subtasks included) are counted against the
threshold, also across calls; the user is asked through 2026-07-28 input_required rounds, the older mid-call request,
or confirm=<number of tasks>. Undo by write handle."""

from __future__ import annotations

from typing import Any, Literal

import pytest
from mcp import Client
from mcp.types import ElicitRequestParams, ElicitResult

from tests.support import connected, harness, structured, text_of
from tools_server.plans.undo import UndoRecord
from tools_server.state.sessions import SessionRegistry

pytestmark = pytest.mark.anyio


async def add(client: Client, *items: dict[str, Any]) -> list[str]:
    data = structured(await client.call_tool("add_item", {"items": list(items)}))
    assert data["failed"] == 0, data
    ids: list[str] = data["ids"]
    return ids


def tree(children: int) -> dict[str, Any]:
    return {"content": "parent", "subtasks": [{"content": f"sub {i}"} for i in range(children)]}


async def test_deleting_one_parent_counts_its_subtasks_and_confirm_is_the_number_of_tasks() -> None:
    async with harness() as h, connected(h) as client:
        [parent, *_] = await add(client, tree(50))
        refused = await client.call_tool("delete_items", {"ids": [parent]})
        assert refused.is_error and "51 tasks" in text_of(refused) and "confirm=51" in text_of(refused)
        assert len(await h.active_items()) == 51
        wrong = await client.call_tool("delete_items", {"ids": [parent], "confirm": 1})
        assert wrong.is_error and len(await h.active_items()) == 51
        done = structured(await client.call_tool("delete_items", {"ids": [parent], "confirm": 51}))
        assert done["ok"] == 1 and await h.active_items() == []


async def test_small_deletes_in_a_row_need_confirmation_once_they_add_up_within_the_window() -> None:
    async with harness() as h, connected(h) as client:
        ids = await add(client, *({"content": f"t{i}"} for i in range(7)))
        assert structured(await client.call_tool("delete_items", {"ids": ids[:3]}))["ok"] == 3
        second = await client.call_tool("delete_items", {"ids": ids[3:5]})
        assert second.is_error and "confirm=2" in text_of(second) and "3 were already removed" in text_of(second)
        assert len(await h.active_items()) == 4
        h.clock.advance(601)  # the window has passed
        assert structured(await client.call_tool("delete_items", {"ids": ids[3:5]}))["ok"] == 2
        assert len(await h.active_items()) == 2


async def test_undo_of_a_big_add_needs_the_number_of_tasks_it_deletes() -> None:
    async with harness() as h, connected(h) as client:
        await add(client, tree(4))
        refused = await client.call_tool("undo", {})
        assert refused.is_error and "confirm=5" in text_of(refused) and len(await h.active_items()) == 5
        assert structured(await client.call_tool("undo", {"confirm": 5}))["ok"] == 1
        assert await h.active_items() == []


def answering(accept: bool, asked: list[str]) -> Any:
    async def callback(_context: Any, params: ElicitRequestParams) -> ElicitResult:
        asked.append(params.message)
        return ElicitResult(action="accept", content={"confirm": accept})

    return callback


async def test_a_2026_client_is_asked_through_input_required_rounds() -> None:
    asked: list[str] = []
    async with harness() as h:
        async with Client(h.server(), elicitation_callback=answering(False, asked)) as client:
            assert client.protocol_version == "2026-07-28"
            [parent, *_] = await add(client, tree(3))
            declined = await client.call_tool("delete_items", {"ids": [parent]})
            assert declined.is_error and len(await h.active_items()) == 4
        async with Client(h.server(), elicitation_callback=answering(True, asked)) as client:
            accepted = structured(await client.call_tool("delete_items", {"ids": [parent]}))
            assert accepted["ok"] == 1 and await h.active_items() == []
    assert asked == ["Delete 4 tasks (subtasks included)? This cannot be undone."] * 2


async def test_an_older_client_is_asked_mid_call_about_an_undo_that_deletes_many() -> None:
    asked: list[str] = []
    async with harness() as h:
        async with Client(h.server(), mode="legacy", elicitation_callback=answering(True, asked)) as client:
            await add(client, tree(3))
            assert structured(await client.call_tool("undo", {}))["ok"] == 1
        assert await h.active_items() == []
    assert asked == ["Delete 4 tasks (subtasks included)? This cannot be undone."]


async def test_every_undoable_write_carries_a_handle_that_undo_takes() -> None:
    async with harness() as h, connected(h) as client:
        first = structured(await client.call_tool("add_item", {"items": [{"content": "first"}]}))
        second = structured(await client.call_tool("add_item", {"items": [{"content": "second"}]}))
        assert first["write"] != second["write"]
        undone = structured(await client.call_tool("undo", {"write": first["write"]}))
        assert undone["ok"] == 1 and [i["content"] for i in await h.active_items()] == ["second"]
        again = await client.call_tool("undo", {"write": first["write"]})
        assert again.is_error and text_of(again).startswith("Error executing tool undo: write: unknown")
        unknown = await client.call_tool("undo", {"write": "u_nope"})
        assert unknown.is_error and "write: unknown" in text_of(unknown)


@pytest.mark.anyio
async def test_write_handles_belong_to_one_account() -> None:
    registry = SessionRegistry()
    mine = registry.get("a:http:shared", attributed=False, account="a")
    other_session = registry.get("a:http:s2", account="a")
    stranger = registry.get("b:http:shared", attributed=False, account="b")
    handle = await mine.state.mint_write(UndoRecord("add", created=["x"]))
    assert await other_session.state.find_write(handle) is not None
    assert await stranger.state.find_write(handle) is None
    # One mirror per account: both sessions of "a" read the same one, "b" its own.
    assert other_session.mirror is mine.mirror and stranger.mirror is not mine.mirror


def declining(action: Literal["accept", "decline", "cancel"], asked: list[str]) -> Any:
    """Every way a user says no: the box left unticked, the decline button, the dialog dismissed."""

    async def callback(_context: Any, params: ElicitRequestParams) -> ElicitResult:
        asked.append(params.message)
        return ElicitResult(action=action, content={"confirm": False} if action == "accept" else None)

    return callback


@pytest.mark.parametrize("action", ["accept", "decline", "cancel"])
@pytest.mark.parametrize("mode", ["legacy", "2026"])
async def test_a_user_who_says_no_is_reported_as_declining_and_never_told_how_to_bypass_it(
    mode: str, action: Literal["accept", "decline", "cancel"]
) -> None:
    asked: list[str] = []
    async with harness() as h:
        options: dict[str, Any] = {"mode": "legacy"} if mode == "legacy" else {}
        async with Client(h.server(), elicitation_callback=declining(action, asked), **options) as client:
            [parent, *_] = await add(client, tree(4))
            declined = await client.call_tool("delete_items", {"ids": [parent]})
        assert declined.is_error and len(await h.active_items()) == 5
    said = text_of(declined)
    assert "the user declined deleting 5 tasks" in said and "nothing was sent" in said, said
    assert "confirm" not in said.removeprefix("Error executing tool delete_items: "), said
    assert len(asked) == 1


async def completed_ids(h: Any) -> set[str]:
    found = await h.completed("completion", since="2026-11-01T00:00:00Z", until="2026-12-01T00:00:00Z")
    return {t["id"] for t in found}


async def test_a_parent_whose_subtasks_were_completed_elsewhere_counts_them_read_fresh() -> None:
    async with harness() as h:
        async with connected(h) as client:
            nested = {"content": "sub 0", "subtasks": [{"content": "sub 0.0"}]}
            tree = {"content": "parent", "subtasks": [nested, *({"content": f"sub {i}"} for i in range(1, 4))]}
            parent, sub0, _, *subs = await add(client, tree)
        for done in (sub0, *subs):  # another client completes them (sub 0 takes sub 0.0 along)
            await h.raw_sync({"commands": [{"type": "item_close", "uuid": f"c-{done}", "args": {"id": done}}]})
        assert len(await completed_ids(h)) == 5
        async with connected(h) as client:  # a new process: its mirror never held the completed subtasks
            refused = await client.call_tool("delete_items", {"ids": [parent]})
            assert refused.is_error and "confirm=6" in text_of(refused), text_of(refused)
            assert [i["id"] for i in await h.active_items()] == [parent] and len(await completed_ids(h)) == 5
            done = structured(await client.call_tool("delete_items", {"ids": [parent], "confirm": 6}))
            assert done["ok"] == 1 and await h.active_items() == [] and await completed_ids(h) == set()


@pytest.mark.parametrize("parent_first", [True, False])
async def test_a_listed_subtask_of_a_listed_parent_is_reported_deleted_not_failed(parent_first: bool) -> None:
    async with harness() as h, connected(h) as client:
        parent, child, grandchild = await add(
            client, {"content": "parent", "subtasks": [{"content": "child", "subtasks": [{"content": "grandchild"}]}]}
        )
        listed = [parent, grandchild, child] if parent_first else [grandchild, child, parent]
        h.transport.reset()
        result = await client.call_tool("delete_items", {"ids": listed})
        data = structured(result)
        assert (data["ok"], data["failed"]) == (3, 0), text_of(result)
        assert "Deleted 3 tasks" in text_of(result) and await h.active_items() == []
        assert h.transport.commands_sent() == 1  # the parent's deletion; the rest go with it
