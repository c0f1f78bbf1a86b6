"""Todoist filter syntax over the Mirror: a table of filters with hand-computed answers, error positions, algebraic
properties over random filter trees, and a timing check at 10,000 tasks."""

from __future__ import annotations

import functools
import json
import re
import time
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from tests.support import connected, harness, structured, text_of
from tools_server.filters import evaluate, evaluate_first, format_filter, format_node, parse_filter, unknown_names
from tools_server.filters.nodes import (
    MAX_DEPTH,
    And,
    DueBefore,
    DueOn,
    FilterError,
    HasLabel,
    InProject,
    MonthDay,
    Node,
    Not,
    Or,
    PriorityIs,
    RelativeDay,
)
from tools_server.sync.commands import Item, SyncResponse
from tools_server.sync.mirror import Mirror
from tools_server.sync.responses import read_response

# Monday 23 November 2026, 10:00 UTC.
TODAY = date(2026, 11, 23)
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)

# ---------------------------------------------------------------------------------------------------------------------
# The fixture account: Inbox, Work, Client Work (a subproject of Work) and Home; sections "Next" in both Work projects
# and "Errands" in Home. Priorities are given as the API stores them (4 = p1).


def task(
    item_id: str,
    content: str,
    project: str,
    priority: int = 1,
    labels: tuple[str, ...] = (),
    due: str | None = None,
    *,
    recurring: bool = False,
    section: str | None = None,
    parent: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "id": item_id,
        "content": content,
        "project_id": project,
        "priority": priority,
        "labels": list(labels),
        "due": None if due is None else {"date": due, "is_recurring": recurring, "string": due},
        "section_id": section,
        "parent_id": parent,
        **extra,
    }


ITEMS = [
    task("i1", "Buy milk", "inbox", 4, ("home", "errand"), "2026-11-23"),
    task("i2", "Call mom", "inbox", 1),
    task("i3", "Pay rent", "inbox", 3, ("home",), "2026-12-01", recurring=True),
    task("i4", "Read book", "inbox", 1),
    task("i5", "Renew passport", "inbox", 2, (), "2026-11-10"),
    task("i6", "Book dentist", "inbox", 4, (), "2026-11-23T08:00:00"),  # floating, before NOW: overdue
    task("w1", "Write report", "work", 4, ("office",), "2026-11-24", section="s-work-next"),
    task("w2", "Draft outline", "work", 2, ("office",), "2026-11-23", section="s-work-next", parent="w1"),
    task("w3", "Collect data", "work", 1, (), None, section="s-work-next", parent="w1"),
    task("w4", "Standup", "work", 3, ("office",), "2026-11-23T09:00:00Z", recurring=True),  # UTC, before NOW
    task("w5", "Review PRs", "work", 3, ("office", "waiting"), "2026-11-23T15:00:00"),
    task("w6", "Plan offsite", "work", 1, (), "2026-11-30"),
    task("w7", "Expense claims", "work", 2, ("waiting",), "2026-11-22", section="s-work-next"),
    task("w8", "Buy milk for office", "work", 1, ("office",)),
    task("c1", "Client kickoff", "client", 4, ("office",), "2026-11-25", section="s-client-next"),
    task("c2", "Send invoice", "client", 3, ("waiting",), "2026-11-19"),
    task("c3", "Prepare slides", "client", 2, (), "2026-11-29", section="s-client-next", parent="c1"),
    task("c4", "Follow up", "client", 1, ("shared-x",), "2026-12-07"),  # a label the account does not define
    task("h1", "Groceries", "home", 2, ("errand", "home"), "2026-11-28", section="s-errands"),
    task("h2", "Pick up dry cleaning", "home", 1, ("errand",), "2026-11-23T18:00:00", section="s-errands"),
    task("h3", "Fix sink", "home", 3, ("home",)),
    task("h4", "Buy washers", "home", 1, ("home", "errand"), None, parent="h3"),
    task("h5", "Water plants", "home", 1, ("home",), "2026-11-26", recurring=True),
    task("h6", "Clean gutters", "home", 2, (), "2027-01-05"),
    task("h7", "Call plumber", "home", 4, (), "2026-11-16"),
    # Gone from the mirror: filters must never see them.
    task("x1", "Done already", "inbox", 4, (), "2026-11-23", checked=True),
    task("x2", "Deleted thing", "work", 4, (), "2026-11-23", is_deleted=True),
]


def account_response() -> SyncResponse:
    return read_response(
        json.dumps(
            {
                "sync_token": "t1",
                "full_sync": True,
                "items": ITEMS,
                "projects": [
                    {"id": "inbox", "name": "Inbox", "inbox_project": True},
                    {"id": "work", "name": "Work", "child_order": 1},
                    {"id": "client", "name": "Client Work", "parent_id": "work", "child_order": 2},
                    {"id": "home", "name": "Home", "child_order": 3},
                ],
                "sections": [
                    {"id": "s-work-next", "name": "Next", "project_id": "work"},
                    {"id": "s-client-next", "name": "Next", "project_id": "client"},
                    {"id": "s-errands", "name": "Errands", "project_id": "home"},
                ],
                "labels": [{"id": f"l-{name}", "name": name} for name in ("home", "office", "waiting", "errand")],
            }
        )
    )


@functools.cache
def account() -> Mirror:
    # Cached rather than a function-scoped fixture so hypothesis tests can share it; nothing here mutates it.
    mirror = Mirror()
    mirror.apply(account_response())
    return mirror


@pytest.fixture
def mirror() -> Mirror:
    return account()


def contents(text: str, mirror: Mirror, *, today: date = TODAY, now: datetime | None = NOW) -> list[set[str]]:
    return [{item.content for item in found} for found in evaluate(parse_filter(text), mirror, today=today, now=now)]


def test_fixture_account_is_what_the_table_assumes(mirror: Mirror) -> None:
    assert len(mirror.items) == 25
    assert len({item.content for item in mirror.items.values()}) == 25


# ---------------------------------------------------------------------------------------------------------------------
# The table. Each answer is worked out by hand from ITEMS (today is 2026-11-23, now 10:00 UTC).

ALL = {str(t["content"]) for t in ITEMS if not t.get("checked") and not t.get("is_deleted")}
TODAY_SET = {"Buy milk", "Book dentist", "Draft outline", "Standup", "Review PRs", "Pick up dry cleaning"}
OVERDUE_SET = {"Renew passport", "Expense claims", "Send invoice", "Call plumber", "Book dentist", "Standup"}
P1 = {"Buy milk", "Book dentist", "Write report", "Client kickoff", "Call plumber"}
NO_DATE = {"Call mom", "Read book", "Collect data", "Buy milk for office", "Fix sink", "Buy washers"}
WORK = {
    "Write report",
    "Draft outline",
    "Collect data",
    "Standup",
    "Review PRs",
    "Plan offsite",
    "Expense claims",
    "Buy milk for office",
}
CLIENT = {"Client kickoff", "Send invoice", "Prepare slides", "Follow up"}
HOME_LABEL = {"Buy milk", "Pay rent", "Groceries", "Fix sink", "Buy washers", "Water plants"}

Expected = set[str] | list[set[str]]
TABLE: list[tuple[str, Expected]] = [
    ("today", TODAY_SET),
    ("tomorrow", {"Write report"}),
    ("yesterday", {"Expense claims"}),
    ("overdue", OVERDUE_SET),
    ("today | overdue", TODAY_SET | OVERDUE_SET),
    ("today & !overdue", {"Buy milk", "Draft outline", "Review PRs", "Pick up dry cleaning"}),
    ("overdue & recurring", {"Standup"}),
    ("no date", NO_DATE),
    ("!no date & p1", P1),
    ("p1", P1),
    ("p2", {"Pay rent", "Standup", "Review PRs", "Send invoice", "Fix sink"}),
    ("p3", {"Renew passport", "Draft outline", "Expense claims", "Prepare slides", "Groceries", "Clean gutters"}),
    ("p4 & no date", {"Call mom", "Read book", "Collect data", "Buy milk for office", "Buy washers"}),
    ("#Inbox", {"Buy milk", "Call mom", "Pay rent", "Read book", "Renew passport", "Book dentist"}),
    ("#Work", WORK),
    ("##Work", WORK | CLIENT),
    ("#Client Work", CLIENT),
    ("##client   work", CLIENT),
    (
        "#work & !subtask",
        {"Write report", "Standup", "Review PRs", "Plan offsite", "Expense claims", "Buy milk for office"},
    ),
    ("##Work & subtask", {"Draft outline", "Collect data", "Prepare slides"}),
    ("subtask", {"Draft outline", "Collect data", "Prepare slides", "Buy washers"}),
    ("search: milk", {"Buy milk", "Buy milk for office"}),
    ("search: BUY", {"Buy milk", "Buy milk for office", "Buy washers"}),
    ("search: call & #home", {"Call plumber"}),
    ("search:milk for", {"Buy milk for office"}),
    ("(p1 | p2) & @home", {"Buy milk", "Pay rent", "Fix sink"}),
    ("p1 | p2 & @home", P1 | {"Pay rent", "Fix sink"}),  # & binds tighter than |
    ("!p1 & !p2 & @home", {"Groceries", "Buy washers", "Water plants"}),  # ! binds tighter than &
    (
        "due before: 2026-11-30",
        {
            "Buy milk",
            "Renew passport",
            "Book dentist",
            "Write report",
            "Draft outline",
            "Standup",
            "Review PRs",
            "Expense claims",
            "Client kickoff",
            "Send invoice",
            "Prepare slides",
            "Groceries",
            "Pick up dry cleaning",
            "Water plants",
            "Call plumber",
        },
    ),
    ("due after: 2026-11-30", {"Pay rent", "Follow up", "Clean gutters"}),
    ("due before: today", {"Renew passport", "Expense claims", "Send invoice", "Call plumber"}),
    (
        "due after: tomorrow",
        {
            "Pay rent",
            "Plan offsite",
            "Client kickoff",
            "Prepare slides",
            "Follow up",
            "Groceries",
            "Water plants",
            "Clean gutters",
        },
    ),
    ("due after: dec 1", {"Follow up", "Clean gutters"}),
    ("date after: 1 December", {"Follow up", "Clean gutters"}),
    ("due before: 20 nov", {"Renew passport", "Send invoice", "Call plumber"}),
    ("due before: jan 5", set()),  # 5 January of the current year, 2026
    ("date: nov 28", {"Groceries"}),
    ("due: 2026-11-23 & p1", {"Buy milk", "Book dentist"}),
    ("recurring", {"Pay rent", "Standup", "Water plants"}),
    ("!recurring & today", TODAY_SET - {"Standup"}),
    (
        "no labels",
        {
            "Call mom",
            "Read book",
            "Renew passport",
            "Book dentist",
            "Collect data",
            "Plan offsite",
            "Prepare slides",
            "Clean gutters",
            "Call plumber",
        },
    ),
    ("7 days", TODAY_SET | {"Write report", "Client kickoff", "Water plants", "Groceries", "Prepare slides"}),
    ("next 7 days & #Home", {"Pick up dry cleaning", "Water plants", "Groceries"}),
    ("1 day", TODAY_SET),
    ("/Next", {"Write report", "Draft outline", "Collect data", "Expense claims", "Client kickoff", "Prepare slides"}),
    ("#Work & /Next", {"Write report", "Draft outline", "Collect data", "Expense claims"}),
    ("#home & /Next", set()),
    ("/errands | @errand", {"Groceries", "Pick up dry cleaning", "Buy milk", "Buy washers"}),
    ("@office & !@waiting", {"Write report", "Draft outline", "Standup", "Buy milk for office", "Client kickoff"}),
    ("@HOME", HOME_LABEL),
    ("@shared-x", {"Follow up"}),
    ("all", ALL),
    ("!all", set()),
    ("#Nowhere", set()),
    ("#Nowhere | p1", P1),
    ("  TODAY   &   P1  ", {"Buy milk", "Book dentist"}),
    (
        "!(today | overdue) & ##work",
        {"Write report", "Collect data", "Plan offsite", "Buy milk for office", "Client kickoff", "Prepare slides"}
        | {"Follow up"},
    ),
    ("!!p1", P1),
    ("(#Home | #Inbox) & no date", {"Call mom", "Read book", "Fix sink", "Buy washers"}),
    ("((p1))", P1),
    ("today, overdue", [TODAY_SET, OVERDUE_SET]),
    ("p1, p2 & #home, no date", [P1, {"Fix sink"}, NO_DATE]),
]


def test_table_is_big_enough() -> None:
    assert len(TABLE) >= 40


@pytest.mark.parametrize(("text", "expected"), TABLE, ids=[text for text, _ in TABLE])
def test_filter_table(mirror: Mirror, text: str, expected: Expected) -> None:
    wanted = expected if isinstance(expected, list) else [expected]
    assert contents(text, mirror) == wanted


def test_lists_are_ordered_by_due_then_priority_then_id(mirror: Mirror) -> None:
    today, overdue = evaluate(parse_filter("today, overdue"), mirror, today=TODAY, now=NOW)
    # All-day before timed on the same day; among all-day ones p1 first.
    assert [i.content for i in today] == [
        "Buy milk",
        "Draft outline",
        "Book dentist",
        "Standup",
        "Review PRs",
        "Pick up dry cleaning",
    ]
    assert [i.content for i in overdue] == [
        "Renew passport",
        "Call plumber",
        "Send invoice",
        "Expense claims",
        "Book dentist",
        "Standup",
    ]
    # Undated last, same-priority ties broken by id.
    everything = evaluate(parse_filter("all"), mirror, today=TODAY, now=NOW)[0]
    assert [i.id for i in everything[-6:]] == ["h3", "h4", "i2", "i4", "w3", "w8"]


def test_without_now_only_the_day_makes_a_task_overdue(mirror: Mirror) -> None:
    assert contents("overdue", mirror, now=None) == [OVERDUE_SET - {"Book dentist", "Standup"}]


def test_relative_days_resolve_when_evaluated_not_when_parsed(mirror: Mirror) -> None:
    nodes = parse_filter("today, due before: today, due after: jan 5")
    later = date(2026, 11, 28)
    found = evaluate(nodes, mirror, today=later, now=None)
    assert {i.content for i in found[0]} == {"Groceries"}
    from_28th = {"Groceries", "Prepare slides", "Plan offsite", "Pay rent", "Follow up", "Clean gutters"}
    assert {i.content for i in found[1]} == ALL - NO_DATE - from_28th
    # "jan 5" is in the evaluation year: in 2027 the January task is no longer after it.
    assert "Clean gutters" not in {i.content for i in evaluate(nodes, mirror, today=date(2027, 1, 5))[2]}


def test_utc_times_count_on_the_users_day() -> None:
    mirror = Mirror()
    mirror.apply(
        read_response(
            json.dumps(
                {
                    "sync_token": "t",
                    "full_sync": True,
                    "items": [
                        task("a", "Late UTC", "p", 1, (), "2026-11-23T20:00:00Z"),  # 05:00 on the 24th in UTC+9
                        task("b", "Floating", "p", 1, (), "2026-11-23T20:00:00"),
                        task("c", "Garbled", "p", 1, (), "23/11/2026"),
                    ],
                }
            )
        )
    )
    tokyo_now = datetime(2026, 11, 23, 19, 0, tzinfo=timezone(timedelta(hours=9)))
    assert contents("today, tomorrow, overdue", mirror, now=tokyo_now) == [{"Floating"}, {"Late UTC"}, set()]
    assert contents("today, tomorrow", mirror, now=None) == [{"Late UTC", "Floating"}, set()]
    # A due that does not parse is neither dated nor "no date", and does not break the query.
    assert contents("no date | today | overdue | 7 days", mirror) == [{"Late UTC", "Floating"}]
    assert contents("all", mirror) == [{"Late UTC", "Floating", "Garbled"}]


def test_feb_29_outside_a_leap_year_is_the_last_day_of_february() -> None:
    mirror = Mirror()
    mirror.apply(
        read_response(
            json.dumps({"sync_token": "t", "full_sync": True, "items": [task("a", "Feb", "p", 1, (), "2026-02-28")]})
        )
    )
    assert contents("date: feb 29", mirror, today=date(2026, 6, 1)) == [{"Feb"}]


def test_weekday_names_and_next_weekday_are_the_next_such_day_after_today_as_in_due_strings(mirror: Mirror) -> None:
    # On Monday 23 November both mean Monday 30 (a weekday is never today: "monday" on a Monday is a week away),
    # the day the backend gives a task added with the due string "next monday".
    for day in ("next monday", "Next  Mon", "monday", "mon"):
        for direction in ("before", "after"):
            assert contents(f"due {direction}: {day}", mirror) == contents(f"due {direction}: 2026-11-30", mirror)
        assert contents(f"date: {day}", mirror) == contents("date: 2026-11-30", mirror)
    assert contents("due before: next friday, due after: sun", mirror) == contents(
        "due before: 2026-11-27, due after: 2026-11-29", mirror
    )
    # Resolved when evaluated: on Saturday 28th, "next monday" is still the 30th; on the 30th it is 7 December.
    nodes = parse_filter("due before: next monday")
    saturday = evaluate(nodes, mirror, today=date(2026, 11, 28), now=None)
    assert saturday == evaluate(parse_filter("due before: 2026-11-30"), mirror, today=date(2026, 11, 28), now=None)
    monday = evaluate(nodes, mirror, today=date(2026, 11, 30), now=None)
    assert monday == evaluate(parse_filter("due before: 2026-12-07"), mirror, today=date(2026, 11, 30), now=None)


@pytest.mark.anyio
async def test_find_items_takes_due_before_and_after_next_monday_as_todoist_does() -> None:
    async with harness() as h, connected(h) as client:  # Monday 23 November 2026
        days = {"Water plants": "2026-11-29", "Renew passport": "next monday", "Return books": "2026-12-01"}
        added = await client.call_tool("add_item", {"items": [{"content": c, "due": d} for c, d in days.items()]})
        assert structured(added)["ok"] == 3, text_of(added)
        for text, expected in (
            ("due before: next monday", "Water plants"),
            ("due after: next monday", "Return books"),
            ("date: next monday", "Renew passport"),
        ):
            found = text_of(await client.call_tool("find_items", {"filter": text}))
            assert [content for content in days if content in found] == [expected], found


def test_unknown_names_are_reported_in_order(mirror: Mirror) -> None:
    nodes = parse_filter("#Nowhere | @shared-x | /Nope & @ghost, ##nowhere | #work & /next & @HOME | #NOWHERE")
    assert unknown_names(nodes, mirror) == ["#Nowhere", "/Nope", "@ghost", "##nowhere"]
    assert unknown_names(parse_filter("##Client Work & /Errands & @errand"), mirror) == []


def test_parse_tree_shape() -> None:
    assert parse_filter("p1 | p2 & !@home") == [Or((PriorityIs(1), And((PriorityIs(2), Not(HasLabel("home"))))))]
    assert parse_filter("#Work Stuff & due before: 5 Jan") == [
        And((InProject("Work Stuff"), DueBefore(MonthDay(1, 5))))
    ]
    assert parse_filter("a | (b | c)".replace("a", "today").replace("b", "p1").replace("c", "p2")) == [
        Or((DueOn(RelativeDay("today")), Or((PriorityIs(1), PriorityIs(2)))))
    ]
    assert format_filter(parse_filter("NO   DATE&(p1|##A B)|search:x")) == "no date & (p1 | ##A B) | search: x"


# ---------------------------------------------------------------------------------------------------------------------
# Malformed filters

ERRORS: list[tuple[str, int]] = [
    ("p1 &", 4),
    ("(today", 0),
    ("today)", 5),
    ("& p1", 0),
    ("p9", 0),
    ("p0 | today", 0),
    ("due before: notadate", 12),
    ("frobnicate", 0),
    ("today & frobnicate", 8),
    ("", 0),
    ("   ", 0),
    ("today,,p1", 6),
    ("today,", 6),
    ("today p1", 6),
    ("today (p1)", 6),
    ("(today) p1", 8),
    ("#", 1),
    ("p1 | @", 6),
    ("##  ", 2),
    ("search:", 7),
    ("p1 & (today))", 12),
    ("()", 1),
    ("!", 1),
    ("0 days", 0),
    ("due before: feb 30", 12),
    ("due after:   2026-13-01", 13),
    ("due before:", 11),
    ("due before: smarch 3", 12),
    ("(" * (MAX_DEPTH + 5) + "today" + ")" * (MAX_DEPTH + 5), MAX_DEPTH),
    ("!" * (MAX_DEPTH + 1) + "today", MAX_DEPTH),
]


@pytest.mark.parametrize(("text", "position"), ERRORS, ids=[repr(text[:30]) for text, _ in ERRORS])
def test_malformed_filters_point_at_the_problem(text: str, position: int) -> None:
    with pytest.raises(FilterError) as caught:
        parse_filter(text)
    assert caught.value.position == position
    message = str(caught.value)
    assert f"at position {position}" in message
    first, caret = message.split("\n")
    # The caret sits under the offending character of the quoted filter.
    assert caret.index("^") == first.index(": '") + 3 + position


def test_error_messages_help() -> None:
    with pytest.raises(FilterError, match=r"unexpected '\)' at position 12: 'p1 & \(today\)\)'"):
        parse_filter("p1 & (today))")
    with pytest.raises(FilterError, match="did you mean 'today'"):
        parse_filter("todya")
    with pytest.raises(FilterError, match="use p1 to p4"):
        parse_filter("p9")
    with pytest.raises(FilterError, match=re.escape("expected '&', '|' or ',' before 'p1'")):
        parse_filter("today p1")
    assert isinstance(FilterError("x", 0, ""), ValueError)


# ---------------------------------------------------------------------------------------------------------------------
# Properties over random trees

ATOM_TEXTS = [
    "today",
    "tomorrow",
    "yesterday",
    "overdue",
    "no date",
    "p1",
    "p2",
    "p4",
    "@home",
    "@office",
    "##Work",
    "#Home",
    "#Client Work",
    "/Next",
    "search: buy",
    "recurring",
    "subtask",
    "7 days",
    "due before: 2026-11-28",
    "due after: tomorrow",
    "date: nov 30",
    "due before: next monday",
    "due after: fri",
    "no labels",
    "#Nowhere",
    "all",
]
ATOMS: list[Node] = [parse_filter(text)[0] for text in ATOM_TEXTS]


def _grow(children: SearchStrategy[Node]) -> SearchStrategy[Node]:
    groups = st.lists(children, min_size=2, max_size=3).map(tuple)
    return st.one_of(children.map(Not), groups.map(And), groups.map(Or))


trees: SearchStrategy[Node] = st.recursive(st.sampled_from(ATOMS), _grow, max_leaves=8)


def select(node: Node) -> frozenset[str]:
    return frozenset(item.id for item in evaluate([node], account(), today=TODAY, now=NOW)[0])


def depth(node: Node) -> int:
    if isinstance(node, And | Or):
        return 1 + max(depth(p) for p in node.parts)
    if isinstance(node, Not):
        return 1 + depth(node.operand)
    return 0


def by_sets(node: Node) -> frozenset[str]:
    """A reference evaluator: atoms by evaluate, connectives by set algebra."""
    if isinstance(node, And | Or):
        first, *rest = [by_sets(p) for p in node.parts]
        return first.intersection(*rest) if isinstance(node, And) else first.union(*rest)
    if isinstance(node, Not):
        return frozenset(account().items) - by_sets(node.operand)
    return select(node)


@given(trees)
def test_connectives_are_set_algebra(a: Node) -> None:
    assert select(a) == by_sets(a)


@given(trees, trees)
def test_de_morgan(a: Node, b: Node) -> None:
    assert select(Not(Or((a, b)))) == select(And((Not(a), Not(b))))
    assert select(Not(And((a, b)))) == select(Or((Not(a), Not(b))))


@given(trees, trees, trees)
def test_and_distributes_over_or(a: Node, b: Node, c: Node) -> None:
    assert select(And((a, Or((b, c))))) == select(Or((And((a, b)), And((a, c)))))


@given(trees)
def test_double_negation(a: Node) -> None:
    assert select(Not(Not(a))) == select(a)


@given(st.lists(trees, min_size=1, max_size=3))
def test_printed_form_parses_back_to_the_same_tree(nodes: list[Node]) -> None:
    assume(all(depth(n) < MAX_DEPTH for n in nodes))
    text = format_filter(nodes)
    assert parse_filter(text) == nodes
    assert [format_node(n) for n in nodes] == text.split(", ")
    found = evaluate(parse_filter(text), account(), today=TODAY, now=NOW)
    assert [frozenset(i.id for i in f) for f in found] == [select(n) for n in nodes]


# Random accounts for the bounded selection: few distinct dues and priorities so ties on day, time and priority are
# common (only the id breaks them), with floating, UTC and unreadable times beside all-day and undated tasks.
DUES = [None, "2026-11-22", "2026-11-23", "2026-11-23T08:00:00", "2026-11-23T09:00:00Z", "2026-11-24", "junk"]


@st.composite
def random_mirrors(draw: st.DrawFn) -> Mirror:
    ids = draw(st.lists(st.integers(0, 10_000), max_size=40, unique=True))
    items = [
        task(
            f"r{n}",
            draw(st.sampled_from(["Buy milk", "Fix sink", "Call mom"])),
            draw(st.sampled_from(["inbox", "work", "client", "home"])),
            draw(st.integers(1, 4)),
            tuple(draw(st.lists(st.sampled_from(["home", "office"]), max_size=2, unique=True))),
            draw(st.sampled_from(DUES)),
            parent=draw(st.sampled_from([None, "r0"])),
        )
        for n in ids
    ]
    mirror = Mirror()
    mirror.apply(account_response())
    mirror.apply(read_response(json.dumps({"sync_token": "t", "full_sync": True, "items": items})))
    return mirror


# 50 accounts: each is up to 40 tasks with heavy ties, and the fast lane has a time budget.
@settings(max_examples=50)
@given(random_mirrors(), st.lists(trees, min_size=1, max_size=3), st.integers(1, 12))
def test_the_first_matches_are_the_head_of_the_full_order_and_the_counts_are_all_matches(
    mirror: Mirror, nodes: list[Node], limit: int
) -> None:
    full = evaluate(nodes, mirror, today=TODAY, now=NOW)
    first = evaluate_first(nodes, mirror, limit=limit, today=TODAY, now=NOW)
    assert [([i.id for i in m.first], m.total) for m in first] == [([i.id for i in f[:limit]], len(f)) for f in full]


# ---------------------------------------------------------------------------------------------------------------------
# Speed


def big_mirror(size: int) -> Mirror:
    projects = [{"id": f"p{n}", "name": f"Project {n}"} for n in range(20)]
    projects[0]["name"] = "Work"
    projects[1]["parent_id"] = "p0"
    projects[2]["parent_id"] = "p1"  # a grandchild: ##Work must reach it
    items = [
        task(
            f"t{n}",
            f"Task {n}",
            f"p{n % 20}",
            n % 4 + 1,
            ("home",) if n % 5 == 0 else (),
            None if n % 3 == 0 else (TODAY + timedelta(days=n % 40 - 20)).isoformat(),
            parent=f"t{n - 1}" if n % 7 == 0 else None,
        )
        for n in range(size)
    ]
    mirror = Mirror()
    mirror.apply(
        read_response(json.dumps({"sync_token": "t", "full_sync": True, "items": items, "projects": projects}))
    )
    return mirror


def test_ten_thousand_items_evaluate_quickly() -> None:
    mirror = big_mirror(10_000)
    text = "(p1 | p2) & !no date & ##Work"
    nodes = parse_filter(text)
    timings: list[float] = []
    found: list[Item] = []
    for _ in range(5):
        start = time.perf_counter()
        found = evaluate(nodes, mirror, today=TODAY, now=NOW)[0]
        timings.append(time.perf_counter() - start)
    print(f"\n{text!r} over 10,000 items: first {timings[0] * 1000:.1f} ms, best {min(timings) * 1000:.1f} ms")
    expected = {
        i.id
        for i in mirror.items.values()
        if i.priority >= 3 and i.due is not None and i.project_id in {"p0", "p1", "p2"}
    }
    assert {i.id for i in found} == expected
    assert expected
    assert timings[0] < 1.0
