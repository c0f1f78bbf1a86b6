"""Assigning (issue 23, item 1): ``assignee`` on add_item's top-level tasks and on update_items, by collaborator name,
email or id, or ``me``, resolved against the mirrored members of the task's project (``collaborators`` +
``collaborator_states``) and sent as ``responsible_uid``; anyone else fails for that task alone, and undo puts back
the responsible before."""

from __future__ import annotations

from typing import Any

import pytest

from tests.corpus import CorpusServer, clean_full_sync, corpus_client
from tests.support import connected, harness, structured, text_of

pytestmark = pytest.mark.anyio

FRIEND, ME = "2671362", "2671355"  # the corpus's collaborator (a member of Shopping List) and its user
APPLES, GREEN_ONES, RENT = "6X7rfFVPjhvv84XP", "6X7rfFVPjhvv84XQ", "6X7rfFVPjhvv84XG"


def _sent(corpus: CorpusServer, kind: str) -> list[dict[str, Any]]:
    return [c["args"] for c in corpus.commands() if c["type"] == kind]


async def test_add_item_assigns_by_name_email_id_or_me_and_refuses_anyone_not_in_the_project() -> None:
    corpus = CorpusServer(full=clean_full_sync(), incremental=None)
    items = [
        {"content": "Pears", "project": "Shopping List", "assignee": "example friend"},
        {"content": "Plums", "project": "Shopping List", "assignee": "YOU@example.com"},
        {"content": "Figs", "parent": APPLES, "assignee": FRIEND},  # a subtask of a shared project's task
        {"content": "Taxes", "assignee": "me"},
        {"content": "Kiwis", "project": "Shopping List", "assignee": "Nobody"},
        {"content": "Rent", "assignee": "Example Friend"},  # the Inbox is not shared with them
        {"content": "Plan", "project": "Trip", "assignee": "Example Friend"},  # made in this call: no members yet
    ]
    async with corpus_client(corpus) as client:
        result = await client.call_tool("add_item", {"items": items, "new_projects": [{"name": "Trip"}]})
    text = text_of(result)
    sent = {a["content"]: a.get("responsible_uid") for a in _sent(corpus, "item_add")}
    assert sent == {"Pears": FRIEND, "Plums": FRIEND, "Figs": FRIEND, "Taxes": ME}
    assert "assignee: no collaborator of Shopping List named 'Nobody'; closest: Example Friend" in text
    assert "assignee: project Inbox is not shared; only me can be" in text
    assert "assignee: a project new in this call is not shared; only me can be" in text


async def test_update_items_assigns_and_clears_and_names_the_task_it_cannot_assign() -> None:
    corpus = CorpusServer(full=clean_full_sync(), incremental=None)
    changes = [
        {"id": GREEN_ONES, "assignee": "Example Friend"},
        {"id": APPLES, "clear": ["assignee"]},
        {"id": RENT, "assignee": "Example Friend", "priority": 4},  # refused whole: nothing is sent for it
    ]
    async with corpus_client(corpus) as client:
        result = await client.call_tool("update_items", {"items": changes})
        bad = await client.call_tool(
            "update_items", {"items": [{"id": APPLES, "assignee": "me", "clear": ["assignee"]}]}
        )
    assert _sent(corpus, "item_update") == [
        {"id": GREEN_ONES, "responsible_uid": FRIEND},
        {"id": APPLES, "responsible_uid": None},
    ]
    assert "Pay rent" in text_of(result) and "project Inbox is not shared" in text_of(result)
    assert bad.is_error and "assignee is both set and cleared" in text_of(bad)


async def test_undo_puts_back_the_responsible_before_on_the_local_backend() -> None:
    async with harness() as h, connected(h) as client:
        [task] = structured(
            await client.call_tool("add_item", {"items": [{"content": "file taxes", "assignee": "me"}]})
        )["ids"]
        user = (await h.raw_sync({"sync_token": "*", "resource_types": ["user"]}))["user"]["id"]
        [stored] = [i for i in await h.active_items() if i["id"] == task]
        assert stored["responsible_uid"] == user
        await client.call_tool("update_items", {"items": [{"id": task, "clear": ["assignee"]}]})
        [stored] = [i for i in await h.active_items() if i["id"] == task]
        assert stored["responsible_uid"] is None
        undone = await client.call_tool("undo", {})
        assert not undone.is_error, text_of(undone)
        [stored] = [i for i in await h.active_items() if i["id"] == task]
        assert stored["responsible_uid"] == user


async def test_the_overview_lists_who_each_shared_project_is_shared_with() -> None:
    async with corpus_client(CorpusServer(full=clean_full_sync(), incremental=None)) as client:
        result = await client.call_tool("query_changes", {})
    assert "Shared projects (assignees besides me): Shopping List: Example Friend (you@example.com)" in text_of(result)
    [shopping] = [p for p in structured(result)["projects"] if p["name"] == "Shopping List"]
    assert shopping["shared_with"] == ["Example Friend (you@example.com)"]


async def test_share_assign_and_unshare_through_the_tools_on_the_local_backend() -> None:
    async with harness() as h, connected(h) as client:
        ops = [
            {"op": "add", "kind": "project", "name": "Team"},
            {"op": "share", "kind": "project", "id": "Team", "email": "ana@example.com"},
        ]
        shared = await client.call_tool("manage_projects", {"ops": ops})
        assert not shared.is_error, text_of(shared)
        overview = text_of(await client.call_tool("query_changes", {}))
        assert "Shared projects (assignees besides me): Team: ana (ana@example.com)" in overview
        added = await client.call_tool(
            "add_item",
            {
                "items": [
                    {"content": "agenda", "project": "Team", "assignee": "ana@example.com"},
                    {"content": "lunch", "assignee": "ana"},  # the Inbox is not shared: refused, nothing sent
                ]
            },
        )
        assert "assignee: project Inbox is not shared; only me can be" in text_of(added)
        state = await h.raw_sync(
            {"sync_token": "*", "resource_types": ["items", "collaborators", "collaborator_states"]}
        )
        [ana] = state["collaborators"]
        assert ana["email"] == "ana@example.com"
        assert {(s["user_id"], s["state"]) for s in state["collaborator_states"]} == {
            (ana["id"], "invited"),
            ((await h.raw_sync({"sync_token": "*", "resource_types": ["user"]}))["user"]["id"], "active"),
        }
        assert [
            (i["content"], i["responsible_uid"]) for i in state["items"] if i["content"] in ("agenda", "lunch")
        ] == [("agenda", ana["id"])]
        found = await client.call_tool("find_items", {"filter": "assigned to: ana@example.com"})
        assert [t["content"] for t in structured(found)["lists"][0]["tasks"]] == ["agenda"]
        assert "agenda · #Team · assigned to ana" in text_of(found)
        unshare = [{"op": "unshare", "kind": "project", "id": "Team", "email": "ana@example.com"}]
        assert not (await client.call_tool("manage_projects", {"ops": unshare})).is_error
        after = await h.raw_sync({"sync_token": "*", "resource_types": ["collaborator_states", "projects"]})
        assert after["collaborator_states"] == []
        assert [p["shared"] for p in after["projects"] if p["name"] == "Team"] == [False]
        overview = text_of(await client.call_tool("query_changes", {}))
        assert "Shared projects" not in overview
        # Taken off the project, Ana can no longer be made responsible there: the tool says so, nothing is sent.
        [task] = [i["id"] for i in state["items"] if i["content"] == "agenda"]
        again = await client.call_tool("update_items", {"items": [{"id": task, "assignee": "ana"}]})
        assert "assignee: project Team is not shared; only me can be" in text_of(again)


async def test_the_local_backend_refuses_a_responsible_who_is_not_a_collaborator_of_the_project() -> None:
    async with harness() as h:
        body = {
            "sync_token": "*",
            "resource_types": ["items"],
            "commands": [
                {"type": "item_add", "uuid": "a", "temp_id": "t", "args": {"content": "x", "responsible_uid": "42"}},
                {"type": "item_add", "uuid": "b", "temp_id": "u", "args": {"content": "y"}},
                {"type": "item_update", "uuid": "c", "args": {"id": "u", "responsible_uid": "42"}},
            ],
        }
        reply = await h.raw_sync(body)
        for uuid in ("a", "c"):
            assert reply["sync_status"][uuid]["error_extra"]["argument"] == "responsible_uid"
        assert [(i["content"], i["responsible_uid"]) for i in reply["items"]] == [("y", None)]
