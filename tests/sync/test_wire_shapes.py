"""The wire form of every command the client sends, pinned against the reference's command table (fidelity §3).

Commands are captured where they leave the client (a scripted transport serving the real-shaped corpus, or the
local backend), so what is checked is what Todoist would receive.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.corpus import CorpusServer, clean_full_sync, corpus_client, item_of
from tests.support import FixedClock, connected, harness, structured, text_of

# Reference §3: command -> (required args, every documented arg). Only commands this client can send are listed.
DOCUMENTED: dict[str, tuple[set[str], set[str]]] = {
    "item_add": (
        {"content"},
        {"content", "description", "project_id", "section_id", "parent_id", "child_order", "day_order",
         "is_collapsed", "labels", "priority", "due", "deadline", "duration", "assigned_by_uid", "responsible_uid",
         "auto_reminder", "auto_parse_labels"},
    ),
    "item_update": (
        {"id"},
        {"id", "content", "description", "due", "deadline", "duration", "priority", "is_collapsed", "labels",
         "assigned_by_uid", "responsible_uid", "day_order"},
    ),
    "item_move": ({"id"}, {"id", "parent_id", "section_id", "project_id"}),
    "item_close": ({"id"}, {"id"}),
    "item_complete": ({"id"}, {"id", "date_completed", "completed_at", "force_history", "from_undo"}),
    "item_uncomplete": ({"id"}, {"id"}),
    "item_delete": ({"id"}, {"id"}),
    "item_update_date_complete": ({"id"}, {"id", "due", "is_forward", "reset_subtasks"}),
    "project_add": (
        {"name"},
        {"name", "color", "parent_id", "folder_id", "child_order", "is_favorite", "view_style", "description",
         "workspace_id", "is_invite_only", "status", "is_link_sharing_enabled", "collaborator_role_default", "access",
         "is_project_insights_enabled"},
    ),
    "section_add": ({"name", "project_id"}, {"name", "project_id", "section_order"}),
    "project_update": (
        {"id"},
        {"id", "name", "color", "is_collapsed", "is_favorite", "view_style", "description", "status",
         "is_link_sharing_enabled", "collaborator_role_default", "access"},
    ),
    "project_move": ({"id"}, {"id", "parent_id"}),
    "project_reorder": ({"projects"}, {"projects"}),
    "project_archive": ({"id"}, {"id"}),
    "project_unarchive": ({"id"}, {"id"}),
    "project_delete": ({"id"}, {"id"}),
    "section_update": ({"id"}, {"id", "name", "is_collapsed"}),
    "section_move": ({"id"}, {"id", "project_id"}),
    "section_reorder": ({"sections"}, {"sections"}),
    "section_archive": ({"id"}, {"id"}),
    "section_unarchive": ({"id"}, {"id"}),
    "section_delete": ({"id"}, {"id"}),
    "label_add": ({"name"}, {"name", "color", "item_order", "is_favorite"}),
    "label_update": ({"id"}, {"id", "name", "color", "item_order", "is_favorite"}),
    "label_delete": ({"id"}, {"id", "cascade"}),
    "label_update_orders": ({"id_order_mapping"}, {"id_order_mapping"}),
    "note_add": ({"content"}, {"item_id", "project_id", "content", "file_attachment", "uids_to_notify"}),
    "note_update": ({"id", "content"}, {"id", "content", "file_attachment"}),
    "note_delete": ({"id"}, {"id"}),
    "item_reorder": ({"items"}, {"items"}),
    "reminder_add": (
        {"item_id"},
        {"item_id", "notify_uid", "type", "due", "minute_offset", "is_urgent", "name", "loc_lat", "loc_long",
         "loc_trigger", "radius"},
    ),
    "reminder_delete": ({"id"}, {"id"}),
    "filter_add": ({"name", "query"}, {"name", "query", "color", "item_order", "is_favorite"}),
    "filter_update": ({"id"}, {"id", "name", "query", "color", "item_order", "is_favorite"}),
    "filter_delete": ({"id"}, {"id"}),
    "filter_update_orders": ({"id_order_mapping"}, {"id_order_mapping"}),
    "share_project": ({"project_id", "email"}, {"project_id", "email", "role"}),
    "delete_collaborator": ({"project_id", "email"}, {"project_id", "email"}),
}  # fmt: skip
CREATES = {"item_add", "project_add", "section_add", "label_add", "note_add", "reminder_add", "filter_add"}
# An explicit null removes these (item_update); nowhere else is null a documented input.
CLEARABLE = {"due", "deadline", "duration", "responsible_uid"}
DUE_KEYS = {"date", "string", "timezone", "lang", "is_recurring"}
DUE_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z?)?")
LANGS = {"en", "da", "pl", "zh", "ko", "de", "pt", "ja", "it", "fr", "sv", "ru", "es", "nl", "fi", "nb", "tw"}


def problems(command: dict[str, Any]) -> list[str]:
    """Every way ``command`` departs from the documented shape; empty when it is a documented command."""
    kind = command.get("type")
    if kind not in DOCUMENTED:
        return [f"undocumented command type {kind!r}"]
    found: list[str] = []
    if set(command) - {"type", "uuid", "temp_id", "args"} or not isinstance(command.get("uuid"), str):
        found.append(f"{kind}: envelope keys {sorted(command)}")
    if ("temp_id" in command) != (kind in CREATES):
        found.append(f"{kind}: temp_id {'missing' if kind in CREATES else 'on a command that creates nothing'}")
    args: dict[str, Any] = command["args"]
    required, allowed = DOCUMENTED[kind]
    found += [f"{kind}: missing {name}" for name in sorted(required - set(args))]
    found += [f"{kind}: undocumented arg {name}" for name in sorted(set(args) - allowed)]
    for name, value in args.items():
        # project_move's null parent_id is documented: "null -> root".
        if (
            value is None
            and not (kind == "item_update" and name in CLEARABLE)
            and (kind, name)
            != (
                "project_move",
                "parent_id",
            )
        ):
            found.append(f"{kind}.{name}: null")
    if kind == "item_move" and len({"parent_id", "section_id", "project_id"} & set(args)) != 1:
        found.append("item_move: not exactly one destination")
    if args.get("due") is not None:
        found += [f"{kind}.due: {p}" for p in due_problems(args["due"])]
    if args.get("deadline") is not None:
        deadline = args["deadline"]
        if set(deadline) != {"date"} or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", deadline["date"]):
            found.append(f"{kind}.deadline: {deadline}")
    if args.get("duration") is not None:
        amount, unit = args["duration"].get("amount"), args["duration"].get("unit")
        if set(args["duration"]) != {"amount", "unit"} or type(amount) is not int or amount <= 0:
            found.append(f"{kind}.duration: {args['duration']}")
        if unit not in ("minute", "day"):
            found.append(f"{kind}.duration.unit: {unit!r}")
    if "is_forward" in args and args["is_forward"] not in (0, 1):
        found.append(f"{kind}.is_forward: {args['is_forward']!r}")
    return found


def due_problems(due: dict[str, Any]) -> list[str]:
    found = [f"undocumented key {key}" for key in sorted(set(due) - DUE_KEYS)]
    found += [f"{key}: null" for key, value in due.items() if value is None]
    if "date" not in due and "string" not in due:
        found.append("neither date nor string")
    if "date" in due and not DUE_DATE.fullmatch(str(due["date"])):
        found.append(f"date {due['date']!r} is no date, floating datetime or UTC datetime")
    if "lang" in due and due["lang"] not in LANGS:
        found.append(f"lang {due['lang']!r}")
    if due.get("is_recurring") and not due.get("string"):
        found.append("recurring without its string")
    return found


def test_the_table_covers_every_command_kind_the_client_declares() -> None:
    from tools_server.sync.commands import COMMAND_KINDS, CREATING_COMMANDS

    assert set(COMMAND_KINDS) <= set(DOCUMENTED)
    assert CREATES & set(COMMAND_KINDS) == CREATING_COMMANDS


def test_the_checker_catches_each_undocumented_shape() -> None:
    base = {"type": "item_update", "uuid": "u", "args": {"id": "1"}}
    bad_dues = [{"datetime": "2026-12-01T09:00:00"}, {"string": "today", "lang": None}, {"date": "2026-12-01 09:00"}]
    for due in bad_dues:
        assert problems(base | {"args": {"id": "1", "due": due}}), due
    assert problems(base | {"args": {"id": "1", "deadline": {"date": "2026-12-01", "lang": "en"}}})
    assert problems(base | {"args": {"id": "1", "duration": {"amount": 1.5, "unit": "minute"}}})
    assert problems(base | {"temp_id": "t"})
    assert problems(base | {"args": {"id": "1", "parent_id": "2"}})
    assert problems(base | {"args": {"id": "1", "due": {"date": "2026-12-01"}}}) == []


async def _sent_by(calls: list[tuple[str, dict[str, Any]]], data: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    corpus = CorpusServer(full=data or clean_full_sync(), incremental=None, write={"sync_token": "t2"})
    async with corpus_client(corpus) as client:
        await client.call_tool("query_changes", {})  # the mirror undo takes its before-images from
        for name, arguments in calls:
            reply = await client.call_tool(name, arguments)
            assert not reply.is_error and structured(reply)["failed"] == 0, (name, text_of(reply))
    return corpus.commands()


STAND_UP, TEAM_CALL, RENT, LUNCH, APPLES, MADRID = (
    "6X7rfFVPjhvv84XM", "6X7rfFVPjhvv84XN", "6X7rfFVPjhvv84XG", "6X7rfFVPjhvv84XK", "6X7rfFVPjhvv84XP",
    "6X7rfFVPjhvv84XL",
)  # fmt: skip
EVERY_TOOL_WRITE: list[tuple[str, dict[str, Any]]] = [
    (
        "add_item",
        {
            "new_projects": [{"name": "Trip", "sections": ["Packing"]}, {"name": "Visa", "parent": "Trip"}],
            "items": [
                {"content": "Passport", "project": "Trip", "section": "Packing", "due": "tomorrow 9am",
                 "labels": ["errands"], "priority": 4, "description": "d", "deadline": "2026-12-20",
                 "duration": {"amount": 30, "unit": "minute"},
                 "subtasks": [{"content": "Renew", "due_datetime": "2026-12-01T09:00:00Z"}]},
                {"content": "b", "due_date": "2026-12-01"},
                {"content": "c", "due_datetime": "2026-12-01T10:00", "due_lang": "de"},
                {"content": "d", "due": "jeden Montag", "due_lang": "de", "parent": APPLES},
            ],
        },
    ),
    ("update_items", {"items": [
        {"id": STAND_UP, "due_date": "2026-11-30"},
        {"id": TEAM_CALL, "due_datetime": "2026-12-02T15:00"},
        {"id": LUNCH, "due_datetime": "2026-11-30T13:00:00+01:00", "deadline": "2026-12-01",
         "duration": {"amount": 2, "unit": "day"}, "content": "Lunch", "labels": ["home"], "priority": 2},
        {"id": RENT, "due": "every 1st", "description": "monthly"},
    ]}),
    ("undo", {}),
    ("update_items", {"items": [{"id": MADRID, "clear": ["due", "deadline", "duration", "labels", "description"]}]}),
    ("undo", {}),
    ("complete_items", {"ids": [STAND_UP, RENT, APPLES]}),
    ("undo", {}),
    ("move_items", {"ids": [RENT], "to_project": "Shopping List"}),
    ("move_items", {"ids": [LUNCH], "to_section": "Fruit"}),
    ("move_items", {"ids": [MADRID], "to_parent": APPLES}),
    ("undo", {}),
    ("delete_items", {"ids": [LUNCH]}),
    ("move_items", {"ids": [RENT], "position": "top"}),
    ("update_items", {"items": [{"id": RENT, "reminders": [{"due": "tomorrow 9am"}]}]}),
]  # fmt: skip


@pytest.mark.anyio
async def test_every_command_the_tools_send_is_in_a_documented_shape() -> None:
    sent = await _sent_by(EVERY_TOOL_WRITE)
    assert {c["type"] for c in sent} == {
        "item_add", "item_update", "item_move", "item_close", "item_uncomplete", "item_delete", "project_add",
        "section_add", "item_update_date_complete", "item_reorder", "reminder_add",
    }  # fmt: skip
    assert [p for c in sent for p in problems(c)] == []


def test_the_documented_undo_of_a_recurring_completion_is_in_its_documented_shape() -> None:
    from tools_server.plans.reversal import plan_undo
    from tools_server.plans.undo import UndoRecord
    from tools_server.sync.mirror import Mirror
    from tools_server.sync.responses import read_response

    mirror = Mirror()
    mirror.apply(read_response(json.dumps(clean_full_sync())))
    before = {STAND_UP: mirror.items[STAND_UP], TEAM_CALL: mirror.items[TEAM_CALL]}
    record = UndoRecord("complete", before=dict(before), done=[STAND_UP, TEAM_CALL])
    reversal = plan_undo(record, mirror, recurring="item_update_date_complete")
    plan, cannot = reversal.plan, reversal.cannot
    wires = [c.to_wire() for c in plan.commands]
    assert cannot == [] and [problems(w) for w in wires] == [[], []]
    assert [w["type"] for w in wires] == ["item_update_date_complete"] * 2
    assert wires[0]["args"] == {
        "id": STAND_UP,
        "due": {"date": "2026-11-24T09:00:00", "string": "every day at 9am", "is_recurring": True, "lang": "en"},
        "is_forward": 0,
    }
    assert wires[1]["args"]["due"]["date"] == "2026-11-25T13:00:00Z"
    assert wires[1]["args"]["due"]["timezone"] == "Europe/Madrid"


# ---------------------------------------------------------------------------------------------------------------------
# One test per shape that was sent wrong


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("given", "sent"),
    [
        ("2026-12-01T09:00:00", "2026-12-01T09:00:00"),  # floating: the user's wall clock
        ("2026-12-01 09:00", "2026-12-01T09:00:00"),
        ("2026-12-01T09:00:00Z", "2026-12-01T09:00:00Z"),  # fixed, in UTC
        ("2026-12-01T09:00:00+01:00", "2026-12-01T08:00:00Z"),
    ],
)
async def test_a_due_datetime_is_sent_in_due_date(given: str, sent: str) -> None:
    [command] = await _sent_by([("add_item", {"items": [{"content": "x", "due_datetime": given}]})])
    assert command["args"]["due"] == {"date": sent}


@pytest.mark.anyio
async def test_a_due_is_sent_without_lang_unless_one_is_given() -> None:
    sent = await _sent_by(
        [
            ("add_item", {"items": [{"content": "a", "due": "tomorrow"}, {"content": "b", "due_date": "2026-12-01"}]}),
            ("update_items", {"items": [{"id": LUNCH, "due": "morgen", "due_lang": "de"}]}),
        ]
    )
    assert [c["args"]["due"] for c in sent] == [
        {"string": "tomorrow"},
        {"date": "2026-12-01"},
        {"string": "morgen", "lang": "de"},
    ]


@pytest.mark.anyio
async def test_a_recurring_task_whose_lang_is_null_is_moved_without_lang() -> None:
    data = clean_full_sync()
    item_of(data, STAND_UP)["due"]["lang"] = None
    [command] = await _sent_by([("update_items", {"items": [{"id": STAND_UP, "due_date": "2026-11-30"}]})], data)
    assert command["args"]["due"] == {"date": "2026-11-30T09:00:00", "string": "every day at 9am", "is_recurring": True}


@pytest.mark.anyio
async def test_a_new_day_for_a_timed_recurring_task_keeps_its_time_of_day() -> None:
    [command] = await _sent_by([("update_items", {"items": [{"id": STAND_UP, "due_date": "2026-11-30"}]})])
    assert command["args"]["due"] == {
        "date": "2026-11-30T09:00:00",
        "string": "every day at 9am",
        "is_recurring": True,
        "lang": "en",
    }


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("day", "utc"), [("2026-12-02", "2026-12-02T13:00:00Z"), ("2027-07-07", "2027-07-07T12:00:00Z")]
)
async def test_a_new_day_for_a_fixed_zone_recurring_task_keeps_its_wall_clock_time(day: str, utc: str) -> None:
    # 14:00 in Madrid is 13:00 UTC in winter and 12:00 UTC in summer.
    [command] = await _sent_by([("update_items", {"items": [{"id": TEAM_CALL, "due_date": day}]})])
    assert command["args"]["due"] == {
        "date": utc,
        "timezone": "Europe/Madrid",
        "string": "every wed at 2pm",
        "is_recurring": True,
        "lang": "en",
    }


@pytest.mark.anyio
async def test_undo_of_a_recurring_completion_sends_the_old_due_without_nulls() -> None:
    sent = await _sent_by([("complete_items", {"ids": [STAND_UP]}), ("undo", {})])
    assert sent[1]["type"] == "item_update_date_complete"  # the documented undo of a recurring completion
    assert sent[1]["args"] == {
        "id": STAND_UP,
        "due": {"date": "2026-11-24T09:00:00", "string": "every day at 9am", "is_recurring": True, "lang": "en"},
        "is_forward": 0,
    }


@pytest.mark.anyio
async def test_undo_of_an_update_puts_back_the_deadline_as_a_date_only() -> None:
    sent = await _sent_by([("update_items", {"items": [{"id": MADRID, "clear": ["deadline", "due"]}]}), ("undo", {})])
    assert sent[1]["args"] == {
        "id": MADRID,
        "deadline": {"date": "2026-12-05"},
        "due": {"date": "2026-12-03T08:00:00.000000Z", "timezone": "Europe/Madrid", "lang": "en"},
    }


@pytest.mark.anyio
async def test_on_the_local_backend_a_new_day_for_a_timed_recurring_task_keeps_its_time() -> None:
    clock = FixedClock(datetime(2026, 11, 23, 7, 0, tzinfo=UTC))
    async with harness(clock=clock) as h, connected(h) as client:
        added = structured(await client.call_tool("add_item", {"items": [{"content": "s", "due": "every day at 9am"}]}))
        [task_id] = added["ids"]
        moved = await client.call_tool("update_items", {"items": [{"id": task_id, "due_date": "2026-11-30"}]})
        assert structured(moved)["ok"] == 1, text_of(moved)
        [stored] = [i for i in await h.active_items() if i["id"] == task_id]
    assert stored["due"]["date"] == "2026-11-30T09:00:00" and stored["due"]["is_recurring"] is True


@pytest.mark.anyio
async def test_the_documented_saved_filter_is_read_run_by_name_and_changed_in_the_documented_shapes() -> None:
    # The corpus carries the docs' own filter object: {"id": "4638878", "name": "Important", "query": "priority 1",
    # "color": "lime_green", "item_order": 3, ...} (reference §2.8, DS 18).
    corpus = CorpusServer(full=clean_full_sync(), incremental=None, write={"sync_token": "t2"})
    async with corpus_client(corpus) as client:
        overview = text_of(await client.call_tool("query_changes", {}))
        assert "Saved filters (find_items by name): Important (4638878)" in overview
        found = await client.call_tool("find_items", {"filter": "Important"})
        assert text_of(found).startswith("Saved filter 'Important' (4638878): priority 1\n1 task(s)")
        assert [t["content"] for t in structured(found)["lists"][0]["tasks"]] == ["Dentist in Madrid"]
        ops = [
            {"op": "add", "kind": "filter", "name": "Important", "query": "priority 1"},
            {"op": "update", "kind": "filter", "id": "4638878", "name": "Not Important", "query": "priority 4"},
            {"op": "reorder", "kind": "filter", "id": "Not Important", "order": 1},
            {"op": "delete", "kind": "filter", "id": "Not Important"},
        ]
        reply = await client.call_tool("manage_projects", {"ops": ops})
        assert structured(reply)["failed"] == 0, text_of(reply)
    sent = corpus.commands()
    assert [p for c in sent for p in problems(c)] == []
    # The docs' own examples of each command, argument for argument.
    assert [(c["type"], c["args"]) for c in sent] == [
        ("filter_add", {"name": "Important", "query": "priority 1"}),
        ("filter_update", {"id": "4638878", "name": "Not Important", "query": "priority 4"}),
        ("filter_update_orders", {"id_order_mapping": {"4638878": 1}}),
        ("filter_delete", {"id": "4638878"}),
    ]


@pytest.mark.anyio
async def test_the_documented_attachment_is_shown_and_a_file_by_url_goes_out_in_the_documented_shape() -> None:
    data = clean_full_sync()
    # The docs' example task comment's attachment (DS 14), on the corpus's comment.
    data["notes"][0]["file_attachment"] = {
        "file_type": "text/plain",
        "file_name": "File1.txt",
        "file_size": 1234,
        "file_url": "https://example.com/File1.txt",
        "upload_state": "completed",
    }
    corpus = CorpusServer(full=data, incremental=None, write={"sync_token": "t2"})
    async with corpus_client(corpus) as client:
        listed = await client.call_tool("comment_items", {"list": [APPLES]})
        assert "the crunchy kind [file: File1.txt, text/plain, 1.2 KB, https://example.com/File1.txt]" in text_of(
            listed
        )
        [comment] = structured(listed)["comments"]
        assert comment["attachment"] == {
            "name": "File1.txt",
            "type": "text/plain",
            "size": 1234,
            "url": "https://example.com/File1.txt",
        }
        add = {"task": APPLES, "content": "Note1", "file_url": "https://domain/image.gif"}
        reply = await client.call_tool("comment_items", {"add": [add]})
        assert structured(reply)["failed"] == 0, text_of(reply)
    [sent] = corpus.commands()
    assert problems(sent) == []
    assert sent["args"] == {
        "item_id": APPLES,
        "content": "Note1",
        "file_attachment": {"file_url": "https://domain/image.gif", "file_name": "image.gif", "file_type": "image/gif"},
    }


@pytest.mark.anyio
async def test_sharing_goes_out_as_the_documented_share_project_and_delete_collaborator() -> None:
    corpus = CorpusServer(full=clean_full_sync(), incremental=None)
    async with corpus_client(corpus) as client:
        ops = [
            {"op": "share", "kind": "project", "id": "Groceries", "email": "ana@example.com"},
            {"op": "unshare", "kind": "project", "id": "Shopping List", "email": "you@example.com"},
            {"op": "share", "kind": "project", "id": "Groceries", "email": "not an email"},
        ]
        bad = await client.call_tool("manage_projects", {"ops": ops})
        assert bad.is_error and "email" in text_of(bad) and "must be an email address" in text_of(bad)
        reply = await client.call_tool("manage_projects", {"ops": ops[:2]})
        assert structured(reply)["failed"] == 0, text_of(reply)
    sent = corpus.commands()
    assert [p for c in sent for p in problems(c)] == []
    assert [(c["type"], c["args"]) for c in sent] == [
        ("share_project", {"project_id": "6Jf8VQXxpwv56VQ8", "email": "ana@example.com"}),
        ("delete_collaborator", {"project_id": "6Jf8VQXxpwv56VQ7", "email": "you@example.com"}),
    ]
