"""``GET /api/v1/tasks/completed/stats``: productivity stats computed from the store's completion history.

The documented shape (reference §4; Doist's SDK ``ProductivityStatsSchema``): ``completed_count``, ``days_items``
(the last 7 local days, newest first) and ``week_items`` (the last 4 weeks from the user's start day), each with
``total_completed`` and per-project ``items [{id, completed}]``; ``goals`` with the user's daily and weekly goals,
days off (``ignore_days``) and current, last and longest daily and weekly streaks ``{count, start, end}``;
``karma`` and ``karma_trend`` as the user object has them (this backend has no karma model: karma does not move,
and its history lists are empty).

A completion is a task completed and not reopened or deleted (what the completed-tasks reads list): a recurring
task's occurrences are not kept as completions by this backend, so they do not count. A day is met when its
completions reach the daily goal; days off neither break nor extend a daily streak. A week is met when it reaches
the weekly goal. A streak still running counts through today (this week) once today (this week) is met, else through
yesterday (last week): the day is not over yet.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tools_server.local.moments import known_zone, parse_moment
from tools_server.local.tx import Obj, visible_json

STATS_PATH = "/api/v1/tasks/completed/stats"
DAYS_LISTED = 7
WEEKS_LISTED = 4

Run = tuple[date, date, int]  # first day, last day, length in days or weeks


def stats_reader(db: sqlite3.Connection, now: datetime, meta: dict[str, str]) -> dict[str, Any]:
    """The account's stats: its goals and days off, the completions in the projects it sees."""
    user = _user(db, meta["user_id"])
    visible = visible_json(db, meta["user_id"])
    zone = known_zone(str(meta.get("timezone") or "UTC")) or ZoneInfo("UTC")
    start_day = int(meta.get("start_day") or user.get("start_day") or 1)
    today = now.astimezone(zone).date()
    per_day: dict[date, Counter[str]] = {}
    total = 0
    for completed_at, project_id in _completions(db, visible):
        try:
            day = parse_moment(completed_at).astimezone(zone).date()
        except ValueError:
            continue
        per_day.setdefault(day, Counter())[project_id] += 1
        total += 1
    daily_goal, weekly_goal = int(user.get("daily_goal") or 0), int(user.get("weekly_goal") or 0)
    days_off = {int(d) for d in user.get("days_off") or ()}
    week_of = _week_start(start_day)
    per_week: dict[date, Counter[str]] = {}
    for day, projects in per_day.items():
        per_week.setdefault(week_of(day), Counter()).update(projects)
    days = [today - timedelta(days=n) for n in range(DAYS_LISTED)]
    weeks = [week_of(today) - timedelta(weeks=n) for n in range(WEEKS_LISTED)]
    daily = _runs(
        # A day off counts for nothing: met or not, the streak runs from the working day before to the one after.
        (d for d in sorted(per_day) if d.isoweekday() not in days_off and sum(per_day[d].values()) >= daily_goal > 0),
        step=lambda d: _next_working_day(d, days_off),
    )
    weekly = _runs(
        (w for w in sorted(per_week) if sum(per_week[w].values()) >= weekly_goal > 0),
        step=lambda w: w + timedelta(weeks=1),
    )
    this_week = week_of(today)
    daily_streaks = _streaks(daily, today, _previous_working_day(today, days_off), today)
    weekly_streaks = _streaks(weekly, this_week, this_week - timedelta(weeks=1), this_week)
    features: Obj = user.get("features") or {}
    colors = {p["id"]: p.get("color", "charcoal") for p in _projects(db, visible)}
    shown = {pid for d in days for pid in per_day.get(d, ())} | {pid for w in weeks for pid in per_week.get(w, ())}
    return {
        "completed_count": total,
        "days_items": [{"date": d.isoformat(), **_items(per_day.get(d))} for d in days],
        "week_items": [
            {"from": w.isoformat(), "to": (w + timedelta(days=6)).isoformat(), **_items(per_week.get(w))} for w in weeks
        ],
        "goals": {
            "daily_goal": daily_goal,
            "weekly_goal": weekly_goal,
            "ignore_days": sorted(days_off),
            "vacation_mode": int(bool(features.get("karma_vacation"))),
            "karma_disabled": int(bool(features.get("karma_disabled"))),
            "user": str(user.get("email", "")),
            "user_id": str(user.get("id", "")),
            "current_daily_streak": daily_streaks[0],
            "last_daily_streak": daily_streaks[1],
            "max_daily_streak": daily_streaks[2],
            "current_weekly_streak": weekly_streaks[0],
            "last_weekly_streak": weekly_streaks[1],
            "max_weekly_streak": weekly_streaks[2],
        },
        "karma": user.get("karma", 0),
        "karma_trend": str(user.get("karma_trend") or "none"),
        "karma_last_update": 0,
        "karma_graph_data": [],
        "karma_update_reasons": [],
        "project_colors": {pid: colors[pid] for pid in sorted(shown) if pid in colors},
    }


def _user(db: sqlite3.Connection, user_id: str) -> Obj:
    row = db.execute("SELECT data FROM objects WHERE kind = 'user' AND id = ?", (user_id,)).fetchone()
    return json.loads(row[0]) if row else {}


def _projects(db: sqlite3.Connection, visible: str) -> list[Obj]:
    sql = "SELECT data FROM objects WHERE kind = 'project' AND id IN (SELECT value FROM json_each(?))"
    return [json.loads(row[0]) for row in db.execute(sql, (visible,))]


def _completions(db: sqlite3.Connection, visible: str) -> list[tuple[str, str]]:
    sql = (
        "SELECT json_extract(data, '$.completed_at'), project_id FROM objects WHERE kind = 'item' AND active = 0"
        " AND json_extract(data, '$.checked') = 1 AND json_extract(data, '$.is_deleted') = 0"
        " AND json_extract(data, '$.completed_at') IS NOT NULL AND project_id IN (SELECT value FROM json_each(?))"
    )
    return [(str(row[0]), str(row[1] or "")) for row in db.execute(sql, (visible,))]


def _items(projects: Counter[str] | None) -> dict[str, Any]:
    counts = projects or Counter[str]()
    return {
        "total_completed": sum(counts.values()),
        "items": [{"id": pid, "completed": n} for pid, n in sorted(counts.items())],
    }


def _week_start(start_day: int) -> Callable[[date], date]:
    def week_of(day: date) -> date:
        return day - timedelta(days=(day.isoweekday() - start_day) % 7)

    return week_of


def _next_working_day(day: date, days_off: set[int]) -> date:
    following = day + timedelta(days=1)
    for _ in range(7):
        if following.isoweekday() not in days_off:
            return following
        following += timedelta(days=1)
    return day + timedelta(days=1)  # every day off: days follow one another


def _previous_working_day(day: date, days_off: set[int]) -> date:
    before = day - timedelta(days=1)
    for _ in range(7):
        if before.isoweekday() not in days_off:
            return before
        before -= timedelta(days=1)
    return day - timedelta(days=1)


def _runs(met: Iterable[date], *, step: Callable[[date], date]) -> list[Run]:
    """Runs of met days (weeks), each following the one before by ``step``, oldest first."""
    runs: list[Run] = []
    for when in met:
        if runs and step(runs[-1][1]) == when:
            first, _, length = runs[-1]
            runs[-1] = (first, when, length + 1)
        elif not runs or runs[-1][1] != when:
            runs.append((when, when, 1))
    return runs


def _streaks(runs: list[Run], now: date, before: date, empty: date) -> tuple[Obj, Obj, Obj]:
    """(current, last, max): the current run ends at ``now`` or ``before`` (the period not over yet); last is the
    latest run that is not the current one; a missing streak is ``count`` 0 from and to ``empty``."""
    current = runs[-1] if runs and runs[-1][1] in (now, before) else None
    earlier = [r for r in runs if r is not current]
    longest = max(runs, key=lambda r: (r[2], r[1]), default=None)
    return _streak(current, empty), _streak(earlier[-1] if earlier else None, empty), _streak(longest, empty)


def _streak(run: Run | None, empty: date) -> Obj:
    if run is None:
        return {"count": 0, "start": empty.isoformat(), "end": empty.isoformat()}
    return {"count": run[2], "start": run[0].isoformat(), "end": run[1].isoformat()}
