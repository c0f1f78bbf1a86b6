"""Quick Add lines as Todoist's help pages and API docs write them, each with what it must set (issue 23 item 5).

Sources: Todoist's Quick Add help article and the v1 quick-add endpoint's ``text`` description ("a due date in free
form text, a project name starting with # (without spaces), a label starting with @, an assignee starting with +, a
priority (e.g. p1), a deadline between {}, or a description starting from // until the end of the text"); the
date phrases are those of Todoist's "Introduction to dates and time" and "recurring dates" pages."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from tools_server.inputs import NewItem
from tools_server.plans.quick_add import QuickAddError, read_items, read_line, reading

# line -> the fields it must set (content always; others only where named; unnamed ones must stay empty).
TABLE: list[tuple[str, dict[str, Any]]] = [
    ("Buy milk", {"content": "Buy milk"}),
    ("Buy milk tomorrow", {"content": "Buy milk", "due": "tomorrow"}),
    ("Buy milk today", {"content": "Buy milk", "due": "today"}),
    ("Call mom tonight", {"content": "Call mom", "due": "tonight"}),
    ("Pay rent tomorrow at 5pm", {"content": "Pay rent", "due": "tomorrow at 5pm"}),
    ("Submit report next week", {"content": "Submit report", "due": "next week"}),
    ("Plan party this weekend", {"content": "Plan party", "due": "this weekend"}),
    ("Dentist next monday at 3pm", {"content": "Dentist", "due": "next monday at 3pm"}),
    ("Team sync friday 10:30", {"content": "Team sync", "due": "friday 10:30"}),
    ("Renew passport jan 27", {"content": "Renew passport", "due": "jan 27"}),
    ("Book flights 27 January 2027", {"content": "Book flights", "due": "27 January 2027"}),
    ("Tax return April 15th", {"content": "Tax return", "due": "April 15th"}),
    ("Send invoice in 3 days", {"content": "Send invoice", "due": "in 3 days"}),
    ("Follow up in 2 weeks", {"content": "Follow up", "due": "in 2 weeks"}),
    ("Check oven in 30 minutes", {"content": "Check oven", "due": "in 30 minutes"}),
    ("Release 2026-12-24", {"content": "Release", "due": "2026-12-24"}),
    ("Dentist on 12/14 at 10:30", {"content": "Dentist", "due": "12/14 at 10:30"}),
    ("Lunch at noon", {"content": "Lunch", "due": "at noon"}),
    ("Wake up 7am tomorrow", {"content": "Wake up", "due": "7am tomorrow"}),
    ("Stand-up every day at 9am", {"content": "Stand-up", "due": "every day at 9am"}),
    ("Water plants every friday", {"content": "Water plants", "due": "every friday"}),
    ("Gym every mon, wed, fri at 7am", {"content": "Gym", "due": "every mon, wed, fri at 7am"}),
    ("Timesheet every weekday", {"content": "Timesheet", "due": "every weekday"}),
    ("Backups every 3 hours", {"content": "Backups", "due": "every 3 hours"}),
    ("Review goals every other week", {"content": "Review goals", "due": "every other week"}),
    ("Pay rent every month on the 1st", {"content": "Pay rent", "due": "every month on the 1st"}),
    ("Invoice every 15th", {"content": "Invoice", "due": "every 15th"}),
    ("Anniversary every jan 27", {"content": "Anniversary", "due": "every jan 27"}),
    ("Board meeting every last friday", {"content": "Board meeting", "due": "every last friday"}),
    ("Report every first workday", {"content": "Report", "due": "every first workday"}),
    ("Change filter every! 3 months", {"content": "Change filter", "due": "every! 3 months"}),
    ("Haircut after 6 weeks", {"content": "Haircut", "due": "after 6 weeks"}),
    ("Meds daily at 8pm", {"content": "Meds", "due": "daily at 8pm"}),
    ("Workout every day starting jan 5", {"content": "Workout", "due": "every day starting jan 5"}),
    ("Clean desk #Work", {"content": "Clean desk", "project": "Work"}),
    ("Buy eggs #Groceries /Dairy", {"content": "Buy eggs", "project": "Groceries", "section": "Dairy"}),
    ("Call Bob @phone @errand", {"content": "Call Bob", "labels": ["phone", "errand"]}),
    ("Fix leak p1", {"content": "Fix leak", "priority": 4}),
    ("Fix leak p2", {"content": "Fix leak", "priority": 3}),
    ("Fix leak p3", {"content": "Fix leak", "priority": 2}),
    ("Fix leak p4", {"content": "Fix leak", "priority": 1}),
    ("File taxes {2027-04-15}", {"content": "File taxes", "deadline": "2027-04-15"}),
    ("Ship v2 {friday}", {"content": "Ship v2", "deadline": "2026-12-11"}),
    ("Essay {in 3 days}", {"content": "Essay", "deadline": "2026-12-08"}),
    ("Visa {jan 27}", {"content": "Visa", "deadline": "2027-01-27"}),
    ("Audit {tomorrow}", {"content": "Audit", "deadline": "2026-12-06"}),
    ("Essay //outline first, then draft", {"content": "Essay", "description": "outline first, then draft"}),
    ("Call dentist !30m tomorrow at 4pm", {"content": "Call dentist", "due": "tomorrow at 4pm", "reminders": [30]}),
    ("Pick up kids !tomorrow 3pm", {"content": "Pick up kids", "reminders": ["tomorrow 3pm"]}),
    ("Take pill !2h", {"content": "Take pill", "reminders": [120]}),
    ("Review PR +Alice", {"content": "Review PR +Alice", "assignee": "Alice"}),
    ("Read https://example.com/a //the intro", {"content": "Read https://example.com/a", "description": "the intro"}),
    ("Email about Q3 and/or Q4", {"content": "Email about Q3 and/or Q4"}),
    ("Ask alice@example.com", {"content": "Ask alice@example.com"}),
    (
        "Buy milk tomorrow 5pm p1 #Groceries /Dairy @errand {2026-12-11}",
        {
            "content": "Buy milk",
            "due": "tomorrow 5pm",
            "priority": 4,
            "project": "Groceries",
            "section": "Dairy",
            "labels": ["errand"],
            "deadline": "2026-12-11",
        },
    ),
]
TODAY = date(2026, 12, 5)  # a Saturday
EMPTY: dict[str, Any] = {
    "project": None,
    "section": None,
    "labels": [],
    "priority": None,
    "due": None,
    "deadline": None,
    "reminders": [],
    "description": None,
    "assignee": None,
}


def test_the_table_has_at_least_40_lines() -> None:
    assert len(TABLE) >= 40


@pytest.mark.parametrize(("text", "expected"), TABLE, ids=[t for t, _ in TABLE])
def test_a_quick_add_line_sets_what_todoist_documents(text: str, expected: dict[str, Any]) -> None:
    line = read_line(text, TODAY)
    assert line.errors == []
    got = {name: getattr(line, name) for name in ("content", *EMPTY)}
    assert got == {**EMPTY, **expected}


def test_a_second_date_phrase_is_kept_in_the_title_and_called_ambiguous() -> None:
    line = read_line("Move meeting from friday to monday")
    assert line.due == "friday"
    assert line.content == "Move meeting from to monday"
    assert any("'monday' also reads as a date" in note for note in line.ambiguous)
    assert "ambiguous: 'monday' also reads as a date" in reading(line)


def test_a_day_abbreviation_that_is_also_a_word_is_read_as_a_date_and_said_ambiguous() -> None:
    line = read_line("Buy sun cream")
    assert (line.content, line.due) == ("Buy cream", "sun")
    assert line.ambiguous == ["'sun' read as a date; if it belongs to the title, set due explicitly"]


def test_a_relative_reminder_needs_a_whole_word() -> None:
    line = read_line("Call !2hello")
    assert (line.reminders, line.content) == ([], "Call !2hello")
    assert line.ambiguous == ["'!2hello' is no reminder time: kept in the title"]


def test_two_projects_or_priorities_keep_the_first_and_say_so() -> None:
    line = read_line("Plan #Work #Home p1 p3")
    assert (line.project, line.priority) == ("Work", 4)
    assert "several projects: kept #Work, ignored #Home" in line.ambiguous
    assert "several priorities: kept p1, ignored p3" in line.ambiguous


def test_an_assignee_is_said_unsupported_not_dropped() -> None:
    assert "assignee +Alice not supported yet (left in the title)" in reading(read_line("Review +Alice"))


def test_a_deadline_phrase_that_is_not_read_is_refused_naming_it() -> None:
    assert read_line("Gift {someday}", TODAY).errors == [
        "deadline {someday}: not read; write it as {YYYY-MM-DD}, a weekday, 'jan 27' or 'in 3 days'"
    ]
    with pytest.raises(QuickAddError, match=r"items #0 'Gift \{someday\}': deadline \{someday\}"):
        read_items([NewItem(content="Gift {someday}")], TODAY)


def test_a_deadline_on_todays_weekday_is_a_week_away_and_said_ambiguous() -> None:
    line = read_line("Gift {saturday}", TODAY)
    assert line.deadline == "2026-12-12"
    assert line.ambiguous == ["{saturday} is today's weekday: read as a week away, 2026-12-12"]


def test_a_line_of_markers_only_has_no_title() -> None:
    with pytest.raises(QuickAddError, match="no title left"):
        read_items([NewItem(content="#Work p1 tomorrow")])


def test_read_items_fills_fields_keeps_explicit_ones_and_reads_subtasks_depth_first() -> None:
    items = [
        NewItem.model_validate(
            {"content": "Trip friday p2 #Home", "priority": 1, "subtasks": [{"content": "Pack @bag"}]}
        ),
        NewItem(content="Call Bob", due_date="2026-12-01"),
    ]
    out, readings = read_items(items)
    trip, call = out
    assert (trip.content, trip.due, trip.priority, trip.project) == ("Trip", "friday", 1, "Home")
    assert trip.subtasks is not None and trip.subtasks[0].labels == ["bag"] and trip.subtasks[0].content == "Pack"
    assert (call.content, call.due, call.due_date) == ("Call Bob", None, "2026-12-01")
    assert readings[0].startswith("#0 read as title 'Trip', project Home, due 'friday', p2")
    assert readings[0].endswith("priority given explicitly: the line's ignored")
    assert readings[1] == "#1 read as title 'Pack', labels bag, no due"
    assert readings[2] == "#2 read as title 'Call Bob', no due"


def test_a_subtask_naming_a_project_is_refused() -> None:
    with pytest.raises(QuickAddError, match="subtask lives in its parent's project"):
        read_items([NewItem.model_validate({"content": "Trip", "subtasks": [{"content": "Pack #Home"}]})])
