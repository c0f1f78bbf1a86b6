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
    ]
    async with corpus_client(corpus) as client:
        result = await client.call_tool("add_item", {"items": items})
    text = text_of(result)
    sent = {a["content"]: a.get("responsible_uid") for a in _sent(corpus, "item_add")}
    assert sent == {"Pears": FRIEND, "Plums": FRIEND, "Figs": FRIEND, "Taxes": ME}
    assert "assignee: no collaborator of Shopping List named 'Nobody'; closest: Example Friend" in text
    assert "assignee: project Inbox is not shared; only me can be" in text


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
