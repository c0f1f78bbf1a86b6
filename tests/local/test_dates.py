"""Due dates of the local backend: natural language, explicit dates, output forms and recurring advance."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tools_server.local.args import DueArg as DueInput
from tools_server.local.dates import Due, DueError, next_occurrence, resolve_due
from tools_server.local.recurrence import Rule, add_months, advance, next_after

# Monday 23 November 2026, 10:00 UTC.
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def resolve(string: str, *, now: datetime = NOW, user_timezone: str = "UTC", **fields: object) -> Due:
    return resolve_due(DueInput.model_validate({"string": string, **fields}), now=now, timezone=user_timezone)


def explicit(**fields: object) -> Due:
    return resolve_due(DueInput.model_validate(fields), now=NOW)


def recurring(string: str, day: str, *, timezone: str | None = None, lang: str = "en") -> Due:
    return Due(date=day, timezone=timezone, string=string, lang=lang, is_recurring=True)


def at(day: str, hour: int = 10) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


# ---------------------------------------------------------------------------------------------------------------------
# Natural language

STRING_CASES: list[tuple[str, str, bool]] = [
    ("today", "2026-11-23", False),
    ("Today", "2026-11-23", False),
    ("tod", "2026-11-23", False),
    ("tomorrow", "2026-11-24", False),
    ("TOM", "2026-11-24", False),
    ("yesterday", "2026-11-22", False),
    ("monday", "2026-11-30", False),
    ("mon", "2026-11-30", False),
    ("on friday", "2026-11-27", False),
    ("Wed", "2026-11-25", False),
    ("next monday", "2026-11-30", False),
    ("next sunday", "2026-11-29", False),
    ("next week", "2026-11-30", False),
    ("next month", "2026-12-01", False),
    ("next year", "2027-01-01", False),
    ("in 3 days", "2026-11-26", False),
    ("in 2 weeks", "2026-12-07", False),
    ("in 1 month", "2026-12-23", False),
    ("in a year", "2027-11-23", False),
    ("Dec 25", "2026-12-25", False),
    ("25 Dec", "2026-12-25", False),
    ("December 25 2026", "2026-12-25", False),
    ("dec 25, 2027", "2027-12-25", False),
    ("25th of december", "2026-12-25", False),
    ("jan 5", "2027-01-05", False),
    ("nov 23", "2026-11-23", False),
    ("nov 22", "2027-11-22", False),
    ("2026-12-25", "2026-12-25", False),
    ("at 5pm", "2026-11-23T17:00:00", False),
    ("5 PM", "2026-11-23T17:00:00", False),
    ("at 9am", "2026-11-24T09:00:00", False),
    ("17:30", "2026-11-23T17:30:00", False),
    ("at 12am", "2026-11-24T00:00:00", False),
    ("noon", "2026-11-23T12:00:00", False),
    ("tomorrow at 12", "2026-11-24T12:00:00", False),
    ("tomorrow at 5:30 p.m.", "2026-11-24T17:30:00", False),
    ("monday 9am", "2026-11-30T09:00:00", False),
    ("9am monday", "2026-11-30T09:00:00", False),
    ("at 17:00 tomorrow", "2026-11-24T17:00:00", False),
    ("dec 25 at 8pm", "2026-12-25T20:00:00", False),
    ("in 3 days at 5pm", "2026-11-26T17:00:00", False),
    ("2026-12-25 10:00", "2026-12-25T10:00:00", False),
    ("2026-12-25T10:00:30", "2026-12-25T10:00:30", False),
    ("the day after tomorrow", "2026-11-25", False),
    ("every day", "2026-11-23", True),
    ("daily", "2026-11-23", True),
    ("everyday", "2026-11-23", True),
    ("every other day", "2026-11-23", True),
    ("every 3 days", "2026-11-23", True),
    ("every week", "2026-11-23", True),
    ("weekly", "2026-11-23", True),
    ("every monday", "2026-11-23", True),
    ("every tuesday", "2026-11-24", True),
    ("every mon, fri", "2026-11-23", True),
    ("every wed and fri", "2026-11-25", True),
    ("every weekday", "2026-11-23", True),
    ("every workday", "2026-11-23", True),
    ("every weekend", "2026-11-28", True),
    ("every 2 weeks", "2026-11-23", True),
    ("every month", "2026-11-23", True),
    ("monthly", "2026-11-23", True),
    ("every 15th", "2026-12-15", True),
    ("every 23rd", "2026-11-23", True),
    ("every 31st", "2026-11-30", True),
    ("every last day", "2026-11-30", True),
    ("every year", "2026-11-23", True),
    ("annually", "2026-11-23", True),
    ("every dec 25", "2026-12-25", True),
    ("every! 3 days", "2026-11-23", True),
    ("ev! week", "2026-11-23", True),
    ("every day at 11am", "2026-11-23T11:00:00", True),
    ("every day at 9am", "2026-11-24T09:00:00", True),
    ("every mon, fri at 17:00", "2026-11-23T17:00:00", True),
    ("every monday starting dec 14", "2026-12-14", True),
    ("every day from tomorrow", "2026-11-24", True),
]


@pytest.mark.parametrize(("string", "expected", "is_recurring"), STRING_CASES)
def test_english_phrases_resolve_to_todoist_dates(string: str, expected: str, is_recurring: bool) -> None:
    due = resolve(string)

    assert (due.date, due.is_recurring, due.timezone) == (expected, is_recurring, None)
    assert (due.string, due.lang) == (string, "en")


def test_a_bare_time_that_already_passed_today_means_tomorrow() -> None:
    assert resolve("at 9:59").date == "2026-11-24T09:59:00"
    assert resolve("at 10:00").date == "2026-11-23T10:00:00"


def test_today_is_the_users_day_not_the_utc_day() -> None:
    late_evening_utc = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)

    assert resolve("today", now=late_evening_utc, user_timezone="Asia/Tokyo").date == "2026-11-24"
    assert resolve("today", now=NOW.replace(hour=5), user_timezone="America/Los_Angeles").date == "2026-11-22"
    assert resolve("at 10:30am", user_timezone="Europe/Madrid").date == "2026-11-24T10:30:00"
    assert resolve("at 11:30am", user_timezone="Europe/Madrid").date == "2026-11-23T11:30:00"


def test_other_languages_go_through_dateparser() -> None:
    assert resolve("mañana", lang="es") == Due(date="2026-11-24", string="mañana", lang="es")
    assert resolve("mañana a las 17:00", lang="es").date == "2026-11-24T17:00:00"
    assert resolve("morgen", lang="de").date == "2026-11-24"
    assert resolve("明天", lang="tw").date == "2026-11-24"


def test_iso_dates_work_whatever_the_language() -> None:
    assert resolve("2026-12-25", lang="fr").date == "2026-12-25"


def test_importing_the_module_does_not_load_dateparser() -> None:
    code = "import sys, tools_server.local.dates; print('dateparser' in sys.modules)"
    repo = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=repo)

    assert result.stdout.strip() == "False"


# ---------------------------------------------------------------------------------------------------------------------
# Output forms and explicit dates


def test_an_all_day_date_has_no_timezone_even_when_one_is_given() -> None:
    assert resolve("tomorrow", timezone="Europe/Madrid").timezone is None
    assert explicit(date="2018-10-14") == Due(date="2018-10-14", timezone=None, string="2018-10-14", lang="en")


def test_a_time_without_timezone_is_floating() -> None:
    assert explicit(date="2018-10-14T10:00:00") == Due(date="2018-10-14T10:00:00", string="2018-10-14 10:00", lang="en")
    assert explicit(datetime="2018-10-14T10:00:30.123456").date == "2018-10-14T10:00:30"


def test_a_string_with_a_timezone_is_fixed_and_stored_in_utc() -> None:
    due = resolve("tomorrow at 12", timezone="Europe/Madrid")

    assert (due.date, due.timezone) == ("2026-11-24T11:00:00Z", "Europe/Madrid")


def test_a_utc_datetime_is_fixed_in_utc_unless_a_timezone_is_named() -> None:
    utc = explicit(date="2018-10-14T10:00:00Z")
    named = explicit(datetime="2018-10-14T10:00:00.000000Z", timezone="America/New_York")

    assert (utc.date, utc.timezone, utc.string) == ("2018-10-14T10:00:00Z", "UTC", "2018-10-14 10:00")
    assert (named.date, named.timezone) == ("2018-10-14T10:00:00Z", "America/New_York")
    assert named.string == "2018-10-14 06:00"  # the readable string shows the task's own wall clock


def test_an_offset_datetime_is_converted_to_utc() -> None:
    due = explicit(datetime="2018-10-14T10:00:00+02:00")

    assert (due.date, due.timezone) == ("2018-10-14T08:00:00Z", "UTC")


def test_a_floating_date_with_a_timezone_is_that_zones_wall_time() -> None:
    due = explicit(date="2018-10-14T10:00:00", timezone="America/New_York")

    assert (due.date, due.timezone) == ("2018-10-14T14:00:00Z", "America/New_York")


def test_datetime_wins_over_date() -> None:
    assert explicit(date="2018-10-14", datetime="2018-10-15T09:00:00").date == "2018-10-15T09:00:00"


def test_a_date_with_the_old_recurring_string_moves_the_task_and_keeps_the_recurrence() -> None:
    due = explicit(date="2026-12-01", string="every day at 9am", is_recurring=True, lang="en")

    assert due == Due(date="2026-12-01", string="every day at 9am", lang="en", is_recurring=True)


def test_a_date_with_a_one_off_string_keeps_the_string_but_is_not_recurring() -> None:
    due = explicit(date="2026-12-01", string="tomorrow", is_recurring=True)

    assert (due.date, due.string, due.is_recurring) == ("2026-12-01", "tomorrow", False)


def test_a_foreign_recurring_string_stays_recurring_when_moved_with_a_date() -> None:
    due = explicit(date="2026-12-01", string="cada lunes", lang="es", is_recurring=True)

    assert (due.date, due.lang, due.is_recurring) == ("2026-12-01", "es", True)


def test_a_naive_now_is_taken_as_utc() -> None:
    assert resolve("today", now=datetime(2026, 11, 23, 23, 0)).date == "2026-11-23"


# ---------------------------------------------------------------------------------------------------------------------
# Errors

BAD_INPUTS: list[dict[str, object]] = [
    {"string": "xyz"},
    {"string": "   "},
    {},
    {"string": "at 25:00"},
    {"string": "13pm"},
    {"string": "feb 30 2026"},
    {"string": "every"},
    {"string": "every 0 days"},
    {"string": "every blue moon"},
    {"string": "every day ending dec 31"},
    {"string": "every day until jan 1"},
    {"string": "every monday starting whenever"},
    {"string": "cada lunes", "lang": "es"},
    {"string": "jeden Montag", "lang": "de"},
    {"string": "tomorrow", "timezone": "Mars/Olympus"},
    {"date": "2026-02-30"},
    {"date": "garbage"},
    {"date": "25/12/2026"},
    {"datetime": "2026-12-25T25:00:00"},
    {"date": "2026-12-25", "timezone": "Not/AZone"},
]


@pytest.mark.parametrize("fields", BAD_INPUTS)
def test_inputs_that_cannot_be_understood_raise_due_error(fields: dict[str, object]) -> None:
    with pytest.raises(DueError) as caught:
        resolve_due(DueInput.model_validate(fields), now=NOW)

    assert caught.value.argument == "due"
    assert caught.value.explanation


def test_due_error_is_a_value_error_that_names_the_phrase() -> None:
    error = DueError("due", "could not understand the date 'xyz'")

    assert isinstance(error, ValueError)
    with pytest.raises(DueError, match="could not understand the date 'xyz'"):
        resolve("xyz")


# ---------------------------------------------------------------------------------------------------------------------
# Recurring advance


def test_a_daily_task_completed_on_time_moves_to_tomorrow() -> None:
    assert next_occurrence(recurring("every day", "2026-11-23"), now=NOW) == recurring("every day", "2026-11-24")


def test_a_daily_task_completed_three_days_late_moves_to_tomorrow_not_the_past() -> None:
    following = next_occurrence(recurring("every day", "2026-11-20"), now=NOW)

    assert following is not None and following.date == "2026-11-24"


def test_an_interval_keeps_its_rhythm_when_completed_late() -> None:
    following = next_occurrence(recurring("every 3 days", "2026-11-17"), now=NOW)

    assert following is not None and following.date == "2026-11-26"


def test_a_task_completed_early_moves_past_its_own_date() -> None:
    following = next_occurrence(recurring("every week", "2026-12-01"), now=NOW)

    assert following is not None and following.date == "2026-12-08"


@pytest.mark.parametrize(
    ("string", "current", "expected"),
    [
        ("every mon, fri", "2026-11-23", "2026-11-27"),
        ("every mon, fri", "2026-11-27", "2026-11-30"),
        ("every weekday", "2026-11-20", "2026-11-24"),
        ("every weekend", "2026-11-22", "2026-11-28"),
        ("every monday", "2026-11-23", "2026-11-30"),
        ("every 2 weeks", "2026-11-23", "2026-12-07"),
        ("every month", "2026-11-23", "2026-12-23"),
        ("every 15th", "2026-11-15", "2026-12-15"),
        ("every 31st", "2026-10-31", "2026-11-30"),
        ("every last day", "2026-11-30", "2026-12-31"),
        ("every year", "2026-11-23", "2027-11-23"),
        ("every dec 25", "2025-12-25", "2026-12-25"),
        # Todoist's recurring-dates article: "every 3rd friday" is the 3rd Friday of the month; "every other Tues".
        ("every 3rd friday", "2026-11-20", "2026-12-18"),
        ("every last friday", "2026-11-27", "2026-12-25"),
        ("every other tues", "2026-11-24", "2026-12-08"),
        ("every 2 mon, fri", "2026-11-27", "2026-12-07"),
    ],
)
def test_recurring_patterns_advance_to_their_next_date(string: str, current: str, expected: str) -> None:
    following = next_occurrence(recurring(string, current), now=NOW)

    assert following == recurring(string, expected)


def test_monthly_on_the_31st_lands_on_the_last_day_of_short_months() -> None:
    feb = next_occurrence(recurring("every 31st", "2027-01-31"), now=at("2027-01-31"))
    mar = next_occurrence(recurring("every 31st", "2027-02-28"), now=at("2027-02-28"))

    assert (feb and feb.date, mar and mar.date) == ("2027-02-28", "2027-03-31")


def test_a_yearly_task_on_february_29_falls_on_february_28_in_common_years() -> None:
    following = next_occurrence(recurring("every year", "2028-02-29"), now=at("2028-02-29"))

    assert following is not None and following.date == "2029-02-28"


def test_every_bang_counts_from_the_completion_day() -> None:
    late = next_occurrence(recurring("every! 3 days", "2026-11-10"), now=NOW)
    early = next_occurrence(recurring("every! week", "2026-12-05"), now=NOW)

    assert (late and late.date, early and early.date) == ("2026-11-26", "2026-11-30")


def test_every_bang_never_gives_back_the_occurrence_just_completed() -> None:
    following = next_occurrence(recurring("every! monday", "2026-11-30"), now=at("2026-11-28"))

    assert following is not None and following.date == "2026-12-07"


def test_a_floating_time_of_day_is_kept() -> None:
    following = next_occurrence(recurring("every day at 9am", "2026-11-23T09:00:00"), now=NOW)

    assert following is not None and following.date == "2026-11-24T09:00:00"


def test_a_fixed_time_keeps_its_wall_clock_across_a_dst_change() -> None:
    due = recurring("every day at 9am", "2026-10-24T07:00:00Z", timezone="Europe/Madrid")

    following = next_occurrence(due, now=datetime(2026, 10, 24, 8, 0, tzinfo=UTC))

    assert following == recurring("every day at 9am", "2026-10-25T08:00:00Z", timezone="Europe/Madrid")


def test_a_moved_all_day_recurring_task_picks_up_the_time_of_its_pattern() -> None:
    following = next_occurrence(recurring("every day at 9am", "2026-11-23"), now=NOW)

    assert following is not None and following.date == "2026-11-24T09:00:00"


def test_a_non_recurring_or_unreadable_due_has_no_next_occurrence() -> None:
    assert next_occurrence(Due(date="2026-11-23", string="today"), now=NOW) is None
    assert next_occurrence(recurring("cada lunes", "2026-11-23", lang="es"), now=NOW) is None
    assert next_occurrence(recurring("every day", "not a date"), now=NOW) is None


def test_a_resolved_recurring_due_advances_through_its_own_output() -> None:
    first = resolve("every mon, fri at 17:00", timezone="Europe/Madrid")
    second = next_occurrence(first, now=NOW, timezone="Europe/Madrid")

    assert first.date == "2026-11-23T16:00:00Z"
    assert second is not None and second.date == "2026-11-27T16:00:00Z"
    assert (second.string, second.timezone, second.is_recurring) == (first.string, "Europe/Madrid", True)


def test_a_long_overdue_daily_rule_jumps_straight_to_tomorrow() -> None:
    assert advance(Rule("day"), date(1900, 1, 1), date(2026, 11, 23)) == date(2026, 11, 24)


def test_add_months_clamps_to_the_end_of_the_month() -> None:
    assert add_months(date(2027, 1, 31), 1) == date(2027, 2, 28)
    assert add_months(date(2026, 12, 15), 1, 31) == date(2027, 1, 31)


# ---------------------------------------------------------------------------------------------------------------------
# Properties

RULE_STRINGS = [
    "every day",
    "every other day",
    "every 5 days",
    "every week",
    "every 3 weeks",
    "every mon, wed, fri",
    "every weekday",
    "every weekend",
    "every month",
    "every 2 months",
    "every 1st",
    "every 29th",
    "every 31st",
    "every year",
    "every feb 29",
    "every! day",
    "every! 10 days",
    "every! monday",
    "every! month",
]
days = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31))


@given(st.sampled_from(RULE_STRINGS), days, days)
def test_next_occurrence_is_after_today_and_after_the_old_date_unless_counted_from_completion(
    string: str, current: date, today: date
) -> None:
    following = next_occurrence(recurring(string, current.isoformat()), now=at(today.isoformat()))

    assert following is not None
    new = date.fromisoformat(following.date)
    assert new > today
    if not string.startswith("every!"):
        assert new > current


@given(st.sampled_from(RULE_STRINGS), days)
def test_a_new_recurring_due_starts_today_or_later_and_then_moves_forward(string: str, today: date) -> None:
    first = resolve(string, now=at(today.isoformat()))
    second = next_occurrence(first, now=at(today.isoformat()))

    assert first.is_recurring and first.date >= today.isoformat()
    assert second is not None and second.date > first.date


@given(days, days)
def test_a_weekday_list_only_ever_lands_on_listed_days(current: date, today: date) -> None:
    following = next_occurrence(recurring("every mon, wed, fri", current.isoformat()), now=at(today.isoformat()))

    assert following is not None and date.fromisoformat(following.date).weekday() in {0, 2, 4}


@given(days, st.integers(min_value=0, max_value=23), st.integers(min_value=0, max_value=59))
def test_explicit_dates_round_trip_through_their_readable_string(day: date, hour: int, minute: int) -> None:
    timed = explicit(date=f"{day.isoformat()}T{hour:02}:{minute:02}:00")
    all_day = explicit(date=day.isoformat())

    assert resolve(timed.string).date == timed.date
    assert resolve(all_day.string).date == all_day.date == day.isoformat()


@given(st.integers(min_value=0, max_value=400))
def test_in_n_days_is_n_days_after_today(count: int) -> None:
    assert resolve(f"in {count} days").date == (NOW.date() + timedelta(days=count)).isoformat()


def test_next_after_a_weekday_list_never_skips_a_listed_day() -> None:
    rule = Rule("week", weekdays=frozenset({0, 4}))
    start = date(2026, 11, 23)

    visited = [start]
    for _ in range(6):
        visited.append(next_after(rule, visited[-1]))

    assert [d.day for d in visited] == [23, 27, 30, 4, 7, 11, 14]
