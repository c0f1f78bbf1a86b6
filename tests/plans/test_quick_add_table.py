"""Quick Add lines from Todoist's own documentation, each with what it must set (issue 23 item 5).

The first table holds only Doist's words: a line quoted whole, or a phrase from a help article's table (or a tool's
example) put in a task name, as the articles say to ("In the task name, use natural language..."), after a title
Doist's own examples use: "Call mom" (the Dates and Times article) or "buy milk" (the recurring-dates article's "buy
milk every week", Doist's CLI's "Buy milk tomorrow p1 #Shopping"). Each group names its source. Todoist's current
Help Center articles "Use Quick Add", "Introduction to dates and time", deadlines, reminders, labels and task
descriptions were not in the stored corpora this table was drawn from, so the older "Dates and Times" article stands
for the first, and ``/section``, ``!reminder`` and ``//description`` lines are ours only (second table).

The reader finds the due phrase and sends it as ``due.string`` for Todoist to read, so a due is asserted as the
phrase; a ``{deadline}`` is computed here, from TODAY, so it is asserted as the date."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

import pytest

from tools_server.inputs import NewItem
from tools_server.local.args import DueArg
from tools_server.local.dates import DueError, resolve_due
from tools_server.plans.quick_add import QuickAddError, read_items, read_line, reading

TODAY = date(2026, 12, 5)  # a Saturday
RECURRING_WORDS = {"daily", "weekly", "monthly", "yearly"}
MID_TITLE = "read as a date; if it belongs to the title, set due explicitly"

# line -> the fields it must set (content always; the others only where named: unnamed ones must stay empty, and
# "ambiguous" lists the notes the reading must carry).
DOCUMENTED: list[tuple[str, dict[str, Any]]] = [
    # https://support.todoist.com/hc/en-us/articles/205325931-Dates-and-Times ("If you type in something like
    # [ Call mom 11am Sunday ]", then its tables of single-occurring and recurring dates)
    ("Call mom 11am Sunday", {"content": "Call mom", "due": "11am Sunday"}),
    ("Call mom today", {"content": "Call mom", "due": "today"}),
    ("Call mom tod", {"content": "Call mom", "due": "tod", "ambiguous": [f"'tod' {MID_TITLE}"]}),
    ("Call mom tomorrow", {"content": "Call mom", "due": "tomorrow"}),
    # "tom also works": also a name ("Call Tom"), so said ambiguous.
    ("Call mom tom", {"content": "Call mom", "due": "tom", "ambiguous": [f"'tom' {MID_TITLE}"]}),
    ("Call mom next month", {"content": "Call mom", "due": "next month"}),
    ("Call mom jan 27", {"content": "Call mom", "due": "jan 27"}),
    ("Call mom 27 jan", {"content": "Call mom", "due": "27 jan"}),
    ("Call mom 27/1", {"content": "Call mom", "due": "27/1"}),
    ("Call mom 01/27/2016", {"content": "Call mom", "due": "01/27/2016"}),
    ("Call mom 27/01/2016", {"content": "Call mom", "due": "27/01/2016"}),
    ("Call mom 2016/01/27", {"content": "Call mom", "due": "2016/01/27"}),
    ("Call mom 2016-01-27", {"content": "Call mom", "due": "2016-01-27"}),
    ("Call mom 27th", {"content": "Call mom", "due": "27th"}),
    ("Call mom mid January", {"content": "Call mom", "due": "mid January"}),
    ("Call mom end of month", {"content": "Call mom", "due": "end of month"}),
    ("Call mom today at 10", {"content": "Call mom", "due": "today at 10"}),
    ("Call mom Tomorrow at 16:00", {"content": "Call mom", "due": "Tomorrow at 16:00"}),
    ("Call mom Fri @ 7pm", {"content": "Call mom", "due": "Fri @ 7pm"}),
    ("Call mom Friday @ 7pm", {"content": "Call mom", "due": "Friday @ 7pm"}),
    ("Call mom Fri at 7pm", {"content": "Call mom", "due": "Fri at 7pm"}),
    ("Call mom Fri at 19:00", {"content": "Call mom", "due": "Fri at 19:00"}),
    ("Call mom 6pm", {"content": "Call mom", "due": "6pm"}),
    ("Call mom 18:00", {"content": "Call mom", "due": "18:00"}),
    ("Call mom 5 days", {"content": "Call mom", "due": "5 days"}),
    ("Call mom +5 days", {"content": "Call mom", "due": "+5 days"}),
    ("Call mom 3 weeks", {"content": "Call mom", "due": "3 weeks"}),
    ("Call mom 2 hours", {"content": "Call mom", "due": "2 hours"}),
    (
        "Call mom every day at 10am starting Friday for 8 weeks",
        {"content": "Call mom", "due": "every day at 10am starting Friday for 8 weeks"},
    ),
    # https://todoist.com/help/articles/introduction-to-recurring-dates-YUYVJJAV ("buy milk every week", "take
    # medication every 12 hours starting at 07:00 PM", "Create monthly report", then its table of basic examples)
    ("buy milk every week", {"content": "buy milk", "due": "every week"}),
    (
        "take medication every 12 hours starting at 07:00 PM",
        {"content": "take medication", "due": "every 12 hours starting at 07:00 PM"},
    ),
    # "the word monthly is highlighted as a recurring date. Click or tap the word to disregard it": we cannot be
    # clicked, so the reading says it.
    ("Create monthly report", {"content": "Create report", "due": "monthly", "ambiguous": [f"'monthly' {MID_TITLE}"]}),
    ("buy milk every Monday", {"content": "buy milk", "due": "every Monday"}),
    ("buy milk every weekend", {"content": "buy milk", "due": "every weekend"}),
    ("buy milk daily", {"content": "buy milk", "due": "daily"}),
    ("buy milk every morning", {"content": "buy milk", "due": "every morning"}),
    ("buy milk every afternoon", {"content": "buy milk", "due": "every afternoon"}),
    ("buy milk every evening", {"content": "buy milk", "due": "every evening"}),
    ("buy milk every night", {"content": "buy milk", "due": "every night"}),
    ("buy milk every weekday", {"content": "buy milk", "due": "every weekday"}),
    ("buy milk every workday", {"content": "buy milk", "due": "every workday"}),
    ("buy milk weekly", {"content": "buy milk", "due": "weekly"}),
    ("buy milk every month", {"content": "buy milk", "due": "every month"}),
    ("buy milk monthly", {"content": "buy milk", "due": "monthly"}),
    ("buy milk every 3rd friday", {"content": "buy milk", "due": "every 3rd friday"}),
    ("buy milk every 27th", {"content": "buy milk", "due": "every 27th"}),
    ("buy milk every 27", {"content": "buy milk", "due": "every 27"}),
    ("buy milk every year", {"content": "buy milk", "due": "every year"}),
    ("buy milk yearly", {"content": "buy milk", "due": "yearly"}),
    ("buy milk every jan 27th", {"content": "buy milk", "due": "every jan 27th"}),
    ("buy milk every last day", {"content": "buy milk", "due": "every last day"}),
    ("buy milk every hour", {"content": "buy milk", "due": "every hour"}),
    # https://next.todoist.com/help/articles/set-a-recurring-due-date-in-todoist-YUYVJJAV ("Best practices")
    ("buy milk every 14 days 7am starting 1 Nov", {"content": "buy milk", "due": "every 14 days 7am starting 1 Nov"}),
    (
        "buy milk every other Tues 7am starting 1 Nov",
        {"content": "buy milk", "due": "every other Tues 7am starting 1 Nov"},
    ),
    ("buy milk every mon, tues, wed, and fri", {"content": "buy milk", "due": "every mon, tues, wed, and fri"}),
    ("buy milk every other week", {"content": "buy milk", "due": "every other week"}),
    # https://get.todoist.help/hc/en-us/articles/360000636289-Set-a-recurring-due-date ("ev monday, friday; every
    # mon, fri; ev mon, fri also work")
    ("buy milk every monday, friday", {"content": "buy milk", "due": "every monday, friday"}),
    ("buy milk ev monday, friday", {"content": "buy milk", "due": "ev monday, friday"}),
    ("buy milk every mon, fri", {"content": "buy milk", "due": "every mon, fri"}),
    ("buy milk ev mon, fri", {"content": "buy milk", "due": "ev mon, fri"}),
    ("buy milk every 15th workday, last workday", {"content": "buy milk", "due": "every 15th workday, last workday"}),
    ("buy milk every 3 days", {"content": "buy milk", "due": "every 3 days"}),
    # https://todoist.com/api/v1/docs#tag/Tasks/operation/quick_add_api_v1_tasks_quick_post, `text`: "a deadline
    # between {} (e.g. {in 3 days})" (the page itself was not stored: its wording is read from the API clients that
    # copy the endpoint's description word for word; Doist's SDK docs' QuickAddTaskArgs link to it)
    ("buy milk {in 3 days}", {"content": "buy milk", "deadline": "2026-12-08"}),
    # github.com/Doist/todoist-cli (cad7f14): README.md ("td add ..."), src/lib/skills/content.ts and src/index.ts
    # ("td task quickadd ...", "td task qa ...", and its date example "tomorrow at 2pm" after the same title)
    ("Buy milk tomorrow #Shopping", {"content": "Buy milk", "due": "tomorrow", "project": "Shopping"}),
    (
        "Buy milk tomorrow p1 #Shopping",
        {"content": "Buy milk", "due": "tomorrow", "priority": 4, "project": "Shopping"},
    ),
    ("Review PR @urgent +Alice", {"content": "Review PR", "labels": ["urgent"], "assignee": "Alice"}),
    ("Buy milk tomorrow at 2pm", {"content": "Buy milk", "due": "tomorrow at 2pm"}),
    # github.com/Doist/todoist-ai src/tools/quick-add-task.ts (41494d0): the tool sends `${content} ${due}`, due
    # "e.g., 'tomorrow at 5pm', 'in 2 days', 'June 1st', 'every 23rd'"
    ("Buy milk tomorrow at 5pm", {"content": "Buy milk", "due": "tomorrow at 5pm"}),
    ("Buy milk in 2 days", {"content": "Buy milk", "due": "in 2 days"}),
    ("Buy milk June 1st", {"content": "Buy milk", "due": "June 1st"}),
    ("Buy milk every 23rd", {"content": "Buy milk", "due": "every 23rd"}),
]

# Where the due phrase lands on local-api (its date reader, tools_server/local/dates.py), at NOW in UTC: the concrete
# date each documented phrase means, checked against the article's own gloss ("next month": 1st day of the next
# month; "6pm": today unless passed; "every morning": every day at 9am, so tomorrow's once 9am has gone). A phrase
# local-api cannot read yet maps to the start of its refusal: such a line fails alone, naming the phrase, on the local
# backend (Todoist itself reads it).
NOW = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)
REFUSED = "could not understand the recurring date"
ON_LOCAL_API: dict[str, str] = {
    "11am Sunday": "2026-12-06T11:00:00",
    "today": "2026-12-05",
    "tod": "2026-12-05",
    "tomorrow": "2026-12-06",
    "tom": "2026-12-06",
    "next month": "2027-01-01",
    "jan 27": "2027-01-27",
    "27 jan": "2027-01-27",
    "27/1": "2027-01-27",
    "01/27/2016": "2016-01-27",
    "27/01/2016": "2016-01-27",
    "2016/01/27": "2016-01-27",
    "2016-01-27": "2016-01-27",
    "27th": "2026-12-27",
    "mid January": "2027-01-15",
    "end of month": "2026-12-31",
    "today at 10": "2026-12-05T10:00:00",
    "Tomorrow at 16:00": "2026-12-06T16:00:00",
    "Fri @ 7pm": "2026-12-11T19:00:00",
    "Friday @ 7pm": "2026-12-11T19:00:00",
    "Fri at 7pm": "2026-12-11T19:00:00",
    "Fri at 19:00": "2026-12-11T19:00:00",
    "6pm": "2026-12-05T18:00:00",
    "18:00": "2026-12-05T18:00:00",
    "5 days": "2026-12-10",
    "+5 days": "2026-12-10",
    "3 weeks": "2026-12-26",
    "2 hours": "2026-12-05T12:00:00",
    "every day at 10am starting Friday for 8 weeks": "end dates on recurring due dates",
    "every week": "2026-12-05",
    "every 12 hours starting at 07:00 PM": REFUSED,
    "monthly": "2026-12-05",
    "every Monday": "2026-12-07",
    "every weekend": "2026-12-05",
    "daily": "2026-12-05",
    "every morning": "2026-12-06T09:00:00",
    "every afternoon": "2026-12-05T12:00:00",
    "every evening": "2026-12-05T19:00:00",
    "every night": "2026-12-05T22:00:00",
    "every weekday": "2026-12-07",
    "every workday": "2026-12-07",
    "weekly": "2026-12-05",
    "every month": "2026-12-05",
    "every 3rd friday": "2026-12-18",
    "every 27th": "2026-12-27",
    "every 27": "2026-12-27",
    "every year": "2026-12-05",
    "yearly": "2026-12-05",
    "every jan 27th": "2027-01-27",
    "every last day": "2026-12-31",
    "every hour": REFUSED,
    "every 14 days 7am starting 1 Nov": "2027-11-01T07:00:00",
    "every other Tues 7am starting 1 Nov": "2027-11-02T07:00:00",
    "every mon, tues, wed, and fri": "2026-12-07",
    "every other week": "2026-12-05",
    "every monday, friday": "2026-12-07",
    "ev monday, friday": "2026-12-07",
    "every mon, fri": "2026-12-07",
    "ev mon, fri": "2026-12-07",
    "every 15th workday, last workday": REFUSED,
    "every 3 days": "2026-12-05",
    "tomorrow at 2pm": "2026-12-06T14:00:00",
    "tomorrow at 5pm": "2026-12-06T17:00:00",
    "in 2 days": "2026-12-07",
    "June 1st": "2027-06-01",
    "every 23rd": "2026-12-23",
}
DUES = sorted({expected["due"] for _, expected in DOCUMENTED if "due" in expected})

# Our own lines, in Todoist's style but not from its documentation: the markers the help pages above do not show
# (/section, !reminder, //description), deadline phrases, and edges of our reading.
OURS: list[tuple[str, dict[str, Any]]] = [
    ("Buy milk", {"content": "Buy milk"}),
    ("Call mom tonight", {"content": "Call mom", "due": "tonight"}),
    ("Submit report next week", {"content": "Submit report", "due": "next week"}),
    ("Plan party this weekend", {"content": "Plan party", "due": "this weekend"}),
    ("Dentist next monday at 3pm", {"content": "Dentist", "due": "next monday at 3pm"}),
    ("Book flights 27 January 2027", {"content": "Book flights", "due": "27 January 2027"}),
    ("Check oven in 30 minutes", {"content": "Check oven", "due": "in 30 minutes"}),
    ("Dentist on 12/14 at 10:30", {"content": "Dentist", "due": "12/14 at 10:30"}),
    ("Lunch at noon", {"content": "Lunch", "due": "at noon"}),
    ("Wake up 7am tomorrow", {"content": "Wake up", "due": "7am tomorrow"}),
    ("Gym every mon, wed, fri at 7am", {"content": "Gym", "due": "every mon, wed, fri at 7am"}),
    ("Pay rent every month on the 1st", {"content": "Pay rent", "due": "every month on the 1st"}),
    ("Board meeting every last friday", {"content": "Board meeting", "due": "every last friday"}),
    ("Report every first workday", {"content": "Report", "due": "every first workday"}),
    ("Change filter every! 3 months", {"content": "Change filter", "due": "every! 3 months"}),
    ("Haircut after 6 weeks", {"content": "Haircut", "due": "after 6 weeks"}),
    ("Workout every day starting jan 5", {"content": "Workout", "due": "every day starting jan 5"}),
    ("Buy eggs #Groceries /Dairy", {"content": "Buy eggs", "project": "Groceries", "section": "Dairy"}),
    ("Fix leak p2", {"content": "Fix leak", "priority": 3}),
    ("Fix leak p3", {"content": "Fix leak", "priority": 2}),
    ("Fix leak p4", {"content": "Fix leak", "priority": 1}),
    ("File taxes {2027-04-15}", {"content": "File taxes", "deadline": "2027-04-15"}),
    ("Ship v2 {friday}", {"content": "Ship v2", "deadline": "2026-12-11"}),
    ("Visa {jan 27}", {"content": "Visa", "deadline": "2027-01-27"}),
    ("Audit {tomorrow}", {"content": "Audit", "deadline": "2026-12-06"}),
    ("Essay //outline first, then draft", {"content": "Essay", "description": "outline first, then draft"}),
    ("Call dentist !30m tomorrow at 4pm", {"content": "Call dentist", "due": "tomorrow at 4pm", "reminders": [30]}),
    ("Pick up kids !tomorrow 3pm", {"content": "Pick up kids", "reminders": ["tomorrow 3pm"]}),
    ("Take pill !2h", {"content": "Take pill", "reminders": [120]}),
    ("Read https://example.com/a //the intro", {"content": "Read https://example.com/a", "description": "the intro"}),
    ("Email about Q3 and/or Q4", {"content": "Email about Q3 and/or Q4"}),
    ("Ask alice@example.com", {"content": "Ask alice@example.com"}),
    ("Pay for 2 seats", {"content": "Pay for 2 seats"}),
    ("Meet at 10 Downing St", {"content": "Meet at 10 Downing St"}),
    ("Plan 27th birthday", {"content": "Plan birthday", "due": "27th", "ambiguous": [f"'27th' {MID_TITLE}"]}),
    (
        "Review PR +Alice +Bob",
        {"content": "Review PR", "assignee": "Alice", "ambiguous": ["several assignees: kept +Alice, ignored +Bob"]},
    ),
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
    "ambiguous": [],
}


def _read(text: str) -> dict[str, Any]:
    line = read_line(text, TODAY)
    assert line.errors == []
    return {name: getattr(line, name) for name in ("content", *EMPTY)}


def test_the_documented_table_has_at_least_40_lines_all_distinct() -> None:
    lines = [text for text, _ in DOCUMENTED]
    assert len(lines) >= 40 and len(set(lines)) == len(lines)
    assert not {text for text, _ in OURS} & set(lines)


@pytest.mark.parametrize(("text", "expected"), DOCUMENTED, ids=[t for t, _ in DOCUMENTED])
def test_a_line_from_todoists_documentation_sets_what_it_documents(text: str, expected: dict[str, Any]) -> None:
    assert _read(text) == {**EMPTY, **expected}


@pytest.mark.parametrize(("text", "expected"), OURS, ids=[t for t, _ in OURS])
def test_one_of_our_own_lines_sets_what_we_expect(text: str, expected: dict[str, Any]) -> None:
    assert _read(text) == {**EMPTY, **expected}


@pytest.mark.parametrize("phrase", DUES)
def test_a_documented_due_phrase_lands_on_its_date_on_local_api(phrase: str) -> None:
    wanted = ON_LOCAL_API[phrase]
    if wanted[0].isdigit():
        due = resolve_due(DueArg(string=phrase), now=NOW)
        assert (due.date, due.is_recurring) == (
            wanted,
            phrase.startswith(("every", "ev ")) or phrase in RECURRING_WORDS,
        )
    else:
        with pytest.raises(DueError, match=re.escape(wanted)):
            resolve_due(DueArg(string=phrase), now=NOW)


def test_every_documented_due_phrase_has_its_local_date() -> None:
    assert set(ON_LOCAL_API) == set(DUES)


def test_a_second_date_phrase_is_kept_in_the_title_and_called_ambiguous() -> None:
    line = read_line("Move meeting from friday to monday")
    assert line.due == "friday"
    assert line.content == "Move meeting from to monday"
    assert any("'monday' also reads as a date" in note for note in line.ambiguous)
    assert "ambiguous: 'monday' also reads as a date" in reading(line)


def test_a_day_abbreviation_that_is_also_a_word_is_read_as_a_date_and_said_ambiguous() -> None:
    line = read_line("Buy sun cream")
    assert (line.content, line.due) == ("Buy cream", "sun")
    assert line.ambiguous == [f"'sun' {MID_TITLE}"]


def test_a_loose_date_form_at_the_end_of_the_title_is_not_called_ambiguous() -> None:
    assert read_line("Send report monthly").ambiguous == []
    assert read_line("Send monthly report").ambiguous == [f"'monthly' {MID_TITLE}"]


def test_a_relative_reminder_needs_a_whole_word() -> None:
    line = read_line("Call !2hello")
    assert (line.reminders, line.content) == ([], "Call !2hello")
    assert line.ambiguous == ["'!2hello' is no reminder time: kept in the title"]


def test_two_projects_or_priorities_keep_the_first_and_say_so() -> None:
    line = read_line("Plan #Work #Home p1 p3")
    assert (line.project, line.priority) == ("Work", 4)
    assert "several projects: kept #Work, ignored #Home" in line.ambiguous
    assert "several priorities: kept p1, ignored p3" in line.ambiguous


def test_an_assignee_is_read_and_shown_in_the_reading() -> None:
    assert reading(read_line("Review +Alice")) == "title 'Review', no due, assignee Alice"


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
            {"content": "Trip friday p2 #Home +Alice", "priority": 1, "subtasks": [{"content": "Pack @bag"}]}
        ),
        NewItem(content="Call Bob", due_date="2026-12-01"),
    ]
    out, readings = read_items(items)
    trip, call = out
    assert (trip.content, trip.due, trip.priority, trip.project, trip.assignee) == (
        "Trip",
        "friday",
        1,
        "Home",
        "Alice",
    )
    assert trip.subtasks is not None and trip.subtasks[0].labels == ["bag"] and trip.subtasks[0].content == "Pack"
    assert (call.content, call.due, call.due_date) == ("Call Bob", None, "2026-12-01")
    assert readings[0].startswith("#0 read as title 'Trip', project Home, due 'friday', p2")
    assert readings[0].endswith("assignee Alice, priority given explicitly: the line's ignored")
    assert readings[1] == "#1 read as title 'Pack', labels bag, no due"
    assert readings[2] == "#2 read as title 'Call Bob', no due"


def test_a_subtask_naming_a_project_or_an_assignee_is_refused() -> None:
    with pytest.raises(QuickAddError, match="subtask lives in its parent's project"):
        read_items([NewItem.model_validate({"content": "Trip", "subtasks": [{"content": "Pack #Home"}]})])
    with pytest.raises(QuickAddError, match=r"items #1: a subtask takes no \+assignee here"):
        read_items([NewItem.model_validate({"content": "Trip", "subtasks": [{"content": "Pack +Alice"}]})])
