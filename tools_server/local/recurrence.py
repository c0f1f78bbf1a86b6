"""Calendar arithmetic for recurring due dates: a parsed ``every ...`` rule and how it steps from one date to the next.

Parsing the English phrase into a :class:`Rule` lives in :mod:`tools_server.local.dates`; this module only knows
dates, so it stays trivially testable and free of any text handling.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, replace
from datetime import date, time, timedelta
from typing import Literal

Unit = Literal["day", "week", "month", "year"]


@dataclass(frozen=True)
class Rule:
    """One recurrence pattern.

    ``weekdays`` (0 = Monday) restricts a weekly rule to those days (every ``interval`` weeks: ``every other tues``);
    ``nth`` with one weekday makes a monthly rule "the nth such day of the month" (-1: the last, ``every 3rd friday``);
    ``month_day`` pins a monthly or yearly rule to a
    day of the month (31 means "the last day" in shorter months) and ``month`` pins a yearly rule to a month. A rule
    with no pin repeats relative to the date it steps from, which is why ``every month`` from Jan 31 goes on Feb 28 and
    then Mar 28: the pattern string does not remember the original day.
    """

    unit: Unit
    interval: int = 1
    weekdays: frozenset[int] = frozenset()
    month_day: int | None = None
    month: int | None = None
    nth: int | None = None
    at: time | None = None
    from_completion: bool = False


def add_months(day: date, months: int, month_day: int | None = None) -> date:
    """``day`` moved by ``months`` calendar months, landing on ``month_day`` (default: the same day) clamped to fit."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    wanted = month_day if month_day is not None else day.day
    return date(year, month + 1, min(wanted, calendar.monthrange(year, month + 1)[1]))


def _in_month(year: int, month: int, month_day: int) -> date:
    return date(year, month, min(month_day, calendar.monthrange(year, month)[1]))


def _nth_weekday(year: int, month: int, weekday: int, nth: int) -> date:
    """The ``nth`` ``weekday`` of the month (-1: the last); a 5th that the month lacks falls back to its last."""
    days = [d for d in range(1, calendar.monthrange(year, month)[1] + 1) if date(year, month, d).weekday() == weekday]
    return date(year, month, days[-1] if nth < 0 or nth > len(days) else days[nth - 1])


def matches(rule: Rule, day: date) -> bool:
    """Whether ``day`` fits the pattern; an unpinned rule fits any day (it repeats from wherever it starts)."""
    if rule.nth is not None:
        (weekday,) = rule.weekdays
        return day == _nth_weekday(day.year, day.month, weekday, rule.nth)
    if rule.weekdays:
        return day.weekday() in rule.weekdays
    if rule.month_day is not None and day != _in_month(day.year, day.month, rule.month_day):
        return False
    return rule.month is None or day.month == rule.month


def shift(day: date, unit: Unit, count: int) -> date:
    """``day`` moved by ``count`` units; months and years land on the same day of the month, clamped to fit."""
    if unit == "day":
        return day + timedelta(days=count)
    if unit == "week":
        return day + timedelta(weeks=count)
    return add_months(day, count * (12 if unit == "year" else 1))


def next_after(rule: Rule, base: date) -> date:
    """The first date of the pattern strictly after ``base``, counting intervals from ``base``."""
    if rule.nth is not None:
        (weekday,) = rule.weekdays
        candidate = _nth_weekday(base.year, base.month, weekday, rule.nth)
        if candidate > base:
            return candidate
        month = add_months(base, rule.interval, 1)
        return _nth_weekday(month.year, month.month, weekday, rule.nth)
    if rule.weekdays:
        # The next listed day; past the end of base's week (Monday to Sunday), the weeks in between are skipped.
        days = (base + timedelta(days=n) for n in range(1, 8))
        step = next(day for day in days if day.weekday() in rule.weekdays)
        if step - timedelta(days=step.weekday()) != base - timedelta(days=base.weekday()):
            step += timedelta(weeks=rule.interval - 1)
        return step
    if rule.month_day is None:
        return shift(base, rule.unit, rule.interval)
    if rule.unit == "month":
        candidate = _in_month(base.year, base.month, rule.month_day)
        return candidate if candidate > base else add_months(base, rule.interval, rule.month_day)
    month = rule.month or base.month
    candidate = _in_month(base.year, month, rule.month_day)
    return candidate if candidate > base else _in_month(base.year + rule.interval, month, rule.month_day)


def first_on_or_after(rule: Rule, start: date) -> date:
    """Where a new recurring due begins: ``start`` itself when it fits the pattern, else the next date that does (the
    first one: ``every other tues`` from a Wednesday begins the next Tuesday, not the one after)."""
    return start if matches(rule, start) else next_after(replace(rule, interval=1), start)


def advance(rule: Rule, current: date, today: date) -> date:
    """The date after completing the occurrence on ``current`` on ``today``.

    A normal rule steps from ``current`` until it passes both ``current`` and ``today``, so a daily task completed late
    lands on tomorrow rather than in the past. An ``every!`` rule counts from the completion day instead, which may move
    the date earlier; it never gives back ``current`` itself, as the occurrence there is the one just completed.
    """
    if rule.from_completion:
        step = next_after(rule, today)
        return next_after(rule, step) if step == current else step
    step = next_after(rule, current)
    if rule.unit in ("day", "week") and not rule.weekdays and step <= today:
        # Skip whole intervals at once: a daily task overdue for years must not loop once per missed day.
        length = rule.interval * (7 if rule.unit == "week" else 1)
        step += timedelta(days=((today - step).days // length + 1) * length)
    while step <= today:
        step = next_after(rule, step)
    return step
