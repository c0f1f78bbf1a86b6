"""Assignments (issue 23, item 1, in part): a task's assignee (``responsible_uid``) is shown in listings, by name
from the mirrored ``collaborators``, as "me" for the user; assigning, sharing and the filter terms are not built."""

from __future__ import annotations

from typing import Any

import pytest

from tests.corpus import CorpusServer, clean_full_sync, corpus_client, item_of
from tests.support import connected, harness, structured, text_of

pytestmark = pytest.mark.anyio

STAND_UP, RENT, LUNCH = "6X7rfFVPjhvv84XM", "6X7rfFVPjhvv84XG", "6X7rfFVPjhvv84XK"


async def test_a_task_assigned_to_a_collaborator_or_to_the_user_is_shown_with_who() -> None:
    data = clean_full_sync()  # its collaborators: 2671362 "Example Friend"; the user is 2671355
    item_of(data, STAND_UP)["responsible_uid"] = "2671362"
    item_of(data, RENT)["responsible_uid"] = "2671355"
    item_of(data, LUNCH)["responsible_uid"] = "9999999"  # someone no longer among the collaborators
    corpus = CorpusServer(full=data, incremental=None)
    async with corpus_client(corpus) as client:
        overview = text_of(await client.call_tool("query_changes", {}))
        found = text_of(await client.call_tool("find_items", {"filter": "all"}))
    lines = {line.split(" ", 1)[0]: line for line in overview.splitlines()}
    assert "assigned to Example Friend" in lines[STAND_UP]
    assert "assigned to me" in lines[RENT]
    assert "assigned to 9999999" in lines[LUNCH]
    assert "assigned to Example Friend" in found
    # and the corpus's own assigned task (to Example Friend), as Todoist sent it
    assert sum("assigned to" in line for line in overview.splitlines()) == 4


async def test_the_local_backend_keeps_an_assignment_and_the_listing_shows_it() -> None:
    async with harness() as h, connected(h) as client:
        [task] = structured(await client.call_tool("add_item", {"items": [{"content": "file taxes"}]}))["ids"]
        user = (await h.raw_sync({"sync_token": "*", "resource_types": ["user"]}))["user"]["id"]
        assign = {"type": "item_update", "uuid": "assign-1", "args": {"id": task, "responsible_uid": user}}
        await h.raw_sync({"sync_token": "*", "commands": [assign]})
        overview = text_of(await client.call_tool("query_changes", {}))
        assert f"{task} file taxes · #Inbox · assigned to me" in overview


async def test_find_items_reads_the_assignment_terms_of_the_filter_language() -> None:
    data = clean_full_sync()
    item_of(data, STAND_UP)["responsible_uid"] = "2671362"  # Example Friend (the corpus's own 6X7rfFVPjhvv84XP too)
    item_of(data, RENT)["responsible_uid"] = "2671355"  # the user
    item_of(data, RENT)["assigned_by_uid"] = "2671362"
    corpus = CorpusServer(full=data, incremental=None)

    async def ids(client: Any, query: str) -> set[str]:
        result = await client.call_tool("find_items", {"filter": query})
        assert not result.is_error, text_of(result)
        return {t["id"] for t in structured(result)["lists"][0]["tasks"]}

    async with corpus_client(corpus) as client:
        everyone = await ids(client, "all")
        friend = {STAND_UP, "6X7rfFVPjhvv84XP"}
        assert await ids(client, "assigned to: Example Friend") == friend
        assert await ids(client, "assigned to: you@example.com") == friend  # by email too
        assert await ids(client, "assigned to: me") == {RENT}
        assert await ids(client, "assigned to: others") == friend
        assert await ids(client, "assigned") == friend | {RENT}
        assert await ids(client, "!assigned") == everyone - friend - {RENT}
        assert await ids(client, "assigned by: Example Friend") == {RENT}
        assert await ids(client, "assigned by: me") == {"6X7rfFVPjhvv84XP"}  # as the corpus has it
        unknown = await client.call_tool("find_items", {"filter": "assigned to: Nobody"})
        assert "no such assigned to: Nobody in this account" in text_of(unknown)
        bad = await client.call_tool("find_items", {"filter": "assigned to:"})
        assert bad.is_error and "expected me, others or a name after 'assigned to:'" in text_of(bad)


async def test_assigned_to_me_on_the_local_backend() -> None:
    async with harness() as h, connected(h) as client:
        added = structured(await client.call_tool("add_item", {"items": [{"content": "a"}, {"content": "b"}]}))
        user = (await h.raw_sync({"sync_token": "*", "resource_types": ["user"]}))["user"]["id"]
        assign = {"type": "item_update", "uuid": "assign-1", "args": {"id": added["ids"][0], "responsible_uid": user}}
        await h.raw_sync({"sync_token": "*", "commands": [assign]})
        h.clock.advance(60)  # past find_items' freshness window: it syncs the assignment made elsewhere
        mine = structured(await client.call_tool("find_items", {"filter": "assigned to: me"}))
        assert [t["content"] for t in mine["lists"][0]["tasks"]] == ["a"]
        rest = structured(await client.call_tool("find_items", {"filter": "!assigned"}))
        assert [t["content"] for t in rest["lists"][0]["tasks"]] == ["b"]
