"""Assignments (issue 23, item 1, in part): a task's assignee (``responsible_uid``) is shown in listings, by name
from the mirrored ``collaborators``, as "me" for the user; assigning, sharing and the filter terms are not built."""

from __future__ import annotations

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
