"""add_item's quick: Todoist Quick Add lines through a real MCP client against the local store (issue 23 item 5)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.corpus import CorpusServer, clean_full_sync, corpus_client
from tests.support import FixedClock, connected, harness, structured, text_of

pytestmark = pytest.mark.anyio

FRIEND, ME = "2671362", "2671355"  # the corpus's collaborator (a member of Shopping List) and its user


async def test_quick_lines_land_in_the_store_in_one_write_and_the_result_says_how_each_was_read() -> None:
    async with harness() as h, connected(h) as client:
        result = await client.call_tool(
            "add_item",
            {
                "quick": True,
                "new_projects": [{"name": "Groceries", "sections": ["Dairy"]}],
                "items": [
                    {"content": "Buy milk tomorrow 5pm p1 #Groceries /Dairy @errand {2026-12-11} //semi-skimmed"},
                    {"content": "Water plants every friday @home p3"},
                    {"content": "Review PR +Alice"},
                ],
            },
        )
        assert not result.is_error, text_of(result)
        data = structured(result)
        # +Alice is read as the assignee, and the local Inbox is shared with no one: that line alone fails.
        assert data["failed"] == 1, text_of(result)
        assert "#2 'Review PR': ASSIGNEE_NOT_FOUND assignee: project Inbox is not shared; only me can be" in text_of(
            result
        )
        assert h.transport.writes() == 1
        milk_id, plants_id, review_id = data["ids"]
        assert review_id is None
        items = {i["id"]: i for i in await h.active_items()}
        projects = {
            p["id"]: p["name"]
            for p in (await h.raw_sync({"sync_token": "*", "resource_types": ["projects"]}))["projects"]
        }
        milk, plants = items[milk_id], items[plants_id]
        assert (milk["content"], projects[milk["project_id"]], milk["labels"], milk["priority"]) == (
            "Buy milk",
            "Groceries",
            ["errand"],
            4,
        )
        assert milk["section_id"] is not None and milk["description"] == "semi-skimmed"
        assert milk["due"]["string"] == "tomorrow 5pm" and milk["due"]["date"].endswith("T17:00:00")
        assert milk["deadline"]["date"] == "2026-12-11"
        assert (plants["content"], plants["labels"], plants["priority"]) == ("Water plants", ["home"], 2)
        assert plants["due"]["is_recurring"] is True and plants["due"]["string"] == "every friday"
        assert "Review PR" not in {i["content"] for i in items.values()}
        notes = data["notes"]
        assert any(
            n.startswith("#0 read as title 'Buy milk', project Groceries, section Dairy, labels errand") for n in notes
        )
        assert "#1 read as title 'Water plants', labels home, due 'every friday', p3" in notes
        assert "#2 read as title 'Review PR', no due, assignee Alice" in notes
        assert "#1 read as title 'Water plants'" in text_of(result)


async def test_a_quick_assignee_is_sent_as_the_collaborators_responsible_uid() -> None:
    corpus = CorpusServer(full=clean_full_sync(), incremental=None)
    items = [
        {"content": "Pears tomorrow +YOU@example.com", "project": "Shopping List"},
        {"content": "Plums +me p2"},
        {"content": "Figs +Nobody", "project": "Shopping List"},
    ]
    async with corpus_client(corpus) as client:
        result = await client.call_tool("add_item", {"quick": True, "items": items})
    sent = {c["args"]["content"]: c["args"] for c in corpus.commands() if c["type"] == "item_add"}
    assert {name: args.get("responsible_uid") for name, args in sent.items()} == {"Pears": FRIEND, "Plums": ME}
    assert (sent["Pears"]["due"], sent["Plums"]["priority"]) == ({"string": "tomorrow"}, 3)
    text = text_of(result)
    assert "#0 read as title 'Pears', due 'tomorrow', assignee YOU@example.com" in text
    assert "assignee: no collaborator of Shopping List named 'Nobody'; closest: Example Friend" in text


async def test_an_unknown_quick_project_fails_its_line_with_suggestions_and_a_bad_line_sends_nothing() -> None:
    async with harness() as h, connected(h) as client:
        made = await client.call_tool(
            "add_item", {"new_projects": [{"name": "Groceries"}], "items": [{"content": "x"}]}
        )
        assert not made.is_error, text_of(made)
        result = await client.call_tool(
            "add_item", {"quick": True, "items": [{"content": "Eggs #Grocerie"}, {"content": "Tea"}]}
        )
        data = structured(result)
        assert data["ok"] == 1 and data["failed"] == 1
        assert "no project named 'Grocerie'; closest: Groceries" in text_of(result)
        before = h.transport.writes()
        bad = await client.call_tool("add_item", {"quick": True, "items": [{"content": "Gift {someday}"}]})
        assert bad.is_error and "deadline {someday}: not read" in text_of(bad)
        assert h.transport.writes() == before
        assert "Gift {someday}" not in {i["content"] for i in await h.active_items()}


async def test_a_quick_deadline_phrase_is_computed_from_the_users_today_in_their_zone() -> None:
    # 11:30 UTC on Monday 23 November is 00:30 on Tuesday the 24th in Auckland: "tomorrow" there is the 25th.
    clock = FixedClock(datetime(2026, 11, 23, 11, 30, tzinfo=UTC))
    async with harness(clock=clock, timezone="Pacific/Auckland") as h, connected(h) as client:
        result = await client.call_tool("add_item", {"quick": True, "items": [{"content": "Visa {tomorrow}"}]})
        data = structured(result)
        assert data["failed"] == 0, text_of(result)
        (task,) = [i for i in await h.active_items() if i["id"] == data["ids"][0]]
        assert (task["content"], task["deadline"]["date"]) == ("Visa", "2026-11-25")
        assert "#0 read as title 'Visa', no due, deadline 2026-11-25" in data["notes"]


async def test_many_quick_lines_go_in_one_sync_request_per_100_commands() -> None:
    async with harness() as h, connected(h) as client:
        lines = [{"content": f"Task {n} tomorrow p{n % 4 + 1} @batch"} for n in range(150)]
        result = await client.call_tool("add_item", {"quick": True, "items": lines})
        data = structured(result)
        assert (data["ok"], data["failed"]) == (150, 0), text_of(result)
        assert h.transport.writes() == 2
        stored = {i["content"]: i for i in await h.active_items()}
        assert stored["Task 0"]["priority"] == 4 and stored["Task 3"]["priority"] == 1
        assert all(stored[f"Task {n}"]["labels"] == ["batch"] for n in range(150))
        assert (
            len(data["notes"]) == 150
            and data["notes"][149] == "#149 read as title 'Task 149', labels batch, due 'tomorrow', p2"
        )
        # The text reads back the first 20 lines and points at the rest, so it stays short whatever the batch.
        assert "+130 more in the structured notes" in text_of(result) and "#19 read as" in text_of(result)
        assert "#20 read as" not in text_of(result) and len(text_of(result)) < 2_500


async def test_documented_lines_land_on_their_dates_and_one_local_api_cannot_read_fails_alone() -> None:
    # Lines from Todoist's help pages (tests/plans/test_quick_add_table.py), on Saturday 5 December 2026 at 10:00 UTC.
    clock = FixedClock(datetime(2026, 12, 5, 10, 0, tzinfo=UTC))
    lines = [
        "Create monthly report",
        "buy milk every morning",
        "Call mom mid January",
        "buy milk every 3rd friday",
        "take medication every 12 hours starting at 07:00 PM",
    ]
    async with harness(clock=clock, timezone="UTC") as h, connected(h) as client:
        result = await client.call_tool("add_item", {"quick": True, "items": [{"content": c} for c in lines]})
        data = structured(result)
        assert (data["ok"], data["failed"]) == (4, 1), text_of(result)
        items = {i["id"]: i for i in await h.active_items()}
    landed = [(items[i]["content"], items[i]["due"]["date"], items[i]["due"]["is_recurring"]) for i in data["ids"][:4]]
    assert landed == [
        ("Create report", "2026-12-05", True),
        ("buy milk", "2026-12-06T09:00:00", True),  # every day at 9am, and today's 9am has gone
        ("Call mom", "2027-01-15", False),
        ("buy milk", "2026-12-18", True),
    ]
    assert data["ids"][4] is None and len(items) == 4
    text = text_of(result)
    assert "#0 read as title 'Create report', due 'monthly', ambiguous: 'monthly' read as a date" in text
    assert "#4 'take medication': " in text and "every 12 hours starting at 07:00 pm" in text
