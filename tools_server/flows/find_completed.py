"""find_completed, pure parts: the user's local days -> UTC windows for the REST reads, and completed tasks -> the
compact result (ids, local completion times, a count per day); with ``by="stats"``, the productivity stats instead
(completed today and this week against the user's goals, streaks, karma: one REST read).

Todoist limits one read to 3 months (by completion date) or 6 weeks (by due date); a longer range is split into
windows and read window by window, up to ``MAX_RANGE_DAYS``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from tools_server.plans import PlanError, not_found
from tools_server.state import Session
from tools_server.sync.client import SyncClient
from tools_server.sync.commands import CompletedTask
from tools_server.sync.mirror import Mirror
from tools_server.sync.resources import Streak
from tools_server.sync.responses import ProductivityStats
from tools_server.text import clip
from tools_server.user import timezone_of, user_zone, week_start_of

By = Literal["completion", "due"]
Shown = Literal["completion", "due", "stats", "activity"]
# Days per REST read: 3 months is never shorter than 89 days; 6 weeks is 42.
WINDOW_DAYS: dict[By, int] = {"completion": 89, "due": 42}
MAX_RANGE_DAYS = 366
PAGE_SIZE = 200  # the documented maximum per page
MAX_PAGES = 20  # per call: 4000 tasks read at most, so a search over a busy year still ends
_CONTENT_CHARS = 80


def day_range(since: date | None, until: date | None, today: date, start_day: int) -> tuple[date, date]:
    """The inclusive range of local days; by default the current week (``start_day``: 1 = Monday .. 7 = Sunday)."""
    week_start = today - timedelta(days=(today.isoweekday() - start_day) % 7)
    first = since or (week_start if until is None else until - timedelta(days=6))
    last = until or (first + timedelta(days=6) if since is not None else week_start + timedelta(days=6))
    if last < first:
        raise PlanError(f"until: {last} is before since {first}")
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        raise PlanError(f"until: the range may span at most {MAX_RANGE_DAYS} days (got {(last - first).days + 1})")
    return first, last


def windows(first: date, last: date, by: By, zone: ZoneInfo) -> list[tuple[str, str]]:
    """(since, until) UTC datetimes per REST read, each at most the documented span, covering whole local days."""
    spans: list[tuple[str, str]] = []
    start = first
    while start <= last:
        end = min(last, start + timedelta(days=WINDOW_DAYS[by] - 1))
        since = datetime.combine(start, time(), zone).astimezone(UTC)
        until = datetime.combine(end + timedelta(days=1), time(), zone).astimezone(UTC) - timedelta(seconds=1)
        spans.append((_utc(since), _utc(until)))
        start = end + timedelta(days=1)
    return spans


def parse_day(name: str, text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise PlanError(f"{name}: {text!r} is not a calendar day (YYYY-MM-DD)") from None


def _utc(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _local(stamp: str | None, zone: ZoneInfo) -> datetime | None:
    if not stamp:
        return None
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(zone)


def matches(task: CompletedTask, search: str | None) -> bool:
    return search is None or search.casefold() in task.content.casefold()


class Done(BaseModel):
    id: str
    content: str
    completed: str | None = Field(default=None, description="Local time, YYYY-MM-DD HH:MM")
    due: str | None = None
    project: str | None = None


class StatsBrief(BaseModel):
    today: int
    daily_goal: int
    this_week: int
    weekly_goal: int
    daily_streak: int = Field(description="Days, current")
    max_daily_streak: int
    weekly_streak: int = Field(description="Weeks, current")
    max_weekly_streak: int
    karma: float
    karma_trend: str
    completed_count: int = Field(description="All time")


class Activity(BaseModel):
    """One activity-log event as by="activity" lists it."""

    when: str = Field(description="Local time, YYYY-MM-DD HH:MM")
    event: str
    object_type: str
    object_id: str
    name: str
    project: str | None = None
    by: str


class CompletedResult(BaseModel):
    since: str
    until: str
    by: Shown
    total: int = Field(description="Tasks found (all of them when complete, else those read)")
    per_day: dict[str, int] = Field(description="Local day -> tasks; days without any are left out")
    tasks: list[Done]
    complete: bool = Field(description="False: more matched than were read or listed")
    requests: int
    stats: StatsBrief | None = None
    events: list[Activity] | None = None


@dataclass(frozen=True)
class Found:
    tasks: list[CompletedTask]
    exhausted: bool  # every window was read to its last page
    requests: int


def result(found: Found, mirror: Mirror, first: date, last: date, by: By, limit: int) -> tuple[str, CompletedResult]:
    zone = user_zone(mirror)
    done: list[Done] = []
    days: Counter[str] = Counter()
    for task in found.tasks:
        completed = _local(task.completed_at, zone)
        due = task.due.date if task.due is not None else None
        day = (completed.date().isoformat() if completed else None) if by == "completion" else (due or "")[:10]
        if day:
            days[day] += 1
        done.append(
            Done(
                id=task.id,
                content=clip(task.content, _CONTENT_CHARS),
                completed=completed.strftime("%Y-%m-%d %H:%M") if completed else None,
                due=due,
                project=mirror.projects[task.project_id].name if task.project_id in mirror.projects else None,
            )
        )
    listed = done[:limit]
    complete = found.exhausted and len(done) <= limit
    out = CompletedResult(
        since=first.isoformat(), until=last.isoformat(), by=by, total=len(done), per_day=dict(sorted(days.items())),
        tasks=listed, complete=complete, requests=found.requests,
    )  # fmt: skip
    head = f"{len(done)} completed task(s) {first}..{last} (by {by} date, {timezone_of(mirror)})"
    if not complete:
        head += f"; listing {len(listed)}, more exist (narrow the range or raise limit)"
    per_day = ", ".join(f"{d[5:]}: {n}" for d, n in out.per_day.items())
    lines = [head + "." + (f" Per day: {per_day}." if per_day else "")]
    lines += [
        f"- {t.id} {t.completed or t.due or ''} {t.content}" + (f" [{t.project}]" if t.project else "") for t in listed
    ]
    return "\n".join(lines), out


async def fetch(
    client: SyncClient, spans: list[tuple[str, str]], by: By, project_id: str | None, search: str | None, limit: int
) -> Found:
    """Read windows newest first (by completion) page by page until ``limit`` + 1 matches or nothing is left."""
    tasks: list[CompletedTask] = []
    requests = 0
    ordered = list(reversed(spans)) if by == "completion" else spans
    for since, until in ordered:
        cursor: str | None = None
        while True:
            if len(tasks) > limit or requests >= MAX_PAGES:
                return Found(tasks, exhausted=False, requests=requests)
            params = {"since": since, "until": until, "limit": str(PAGE_SIZE)}
            if project_id is not None:
                params["project_id"] = project_id
            if cursor is not None:
                params["cursor"] = cursor
            page = await client.completed_tasks(by, params)
            requests += 1
            tasks.extend(t for t in page.items if matches(t, search))
            cursor = page.next_cursor
            if not cursor:
                break
    return Found(tasks, exhausted=len(tasks) <= limit, requests=requests)


async def search_completed_tasks(
    session: Session,
    client: SyncClient,
    now: datetime,
    since: str | None,
    until: str | None,
    by: By,
    project: str | None,
    search: str | None,
    limit: int,
) -> tuple[str, CompletedResult]:
    """find_completed: the user's zone and week start (and project names) come from the mirror, kept current."""
    first_day, last_day = parse_day("since", since), parse_day("until", until)
    await session.ensure_synced(client)
    mirror = session.mirror
    zone = user_zone(mirror)
    first, last = day_range(first_day, last_day, now.astimezone(zone).date(), week_start_of(mirror))
    project_id: str | None = None
    if project is not None:
        found = mirror.find_project(project)
        if found is None:
            raise PlanError("project: " + not_found("project", project, mirror.project_suggestions(project)))
        project_id = found.id
    tasks = await fetch(client, windows(first, last, by, zone), by, project_id, search, limit)
    return result(tasks, mirror, first, last, by, limit)


def _count(streak: Streak | None) -> int:
    return streak.count if streak is not None else 0


_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def stats_result(stats: ProductivityStats, mirror: Mirror, today: date) -> tuple[str, CompletedResult]:
    """The stats as find_completed shows them: today and this week against the goals (found by the user's local
    date, whatever order the lists come in), streaks, karma, and the days and weeks listed."""
    goals = stats.goals
    day = today.isoformat()
    done_today = next((d.total_completed for d in stats.days_items if d.date == day), 0)
    week = next((w for w in stats.week_items if w.first <= day <= w.to), None)
    brief = StatsBrief(
        today=done_today,
        daily_goal=goals.daily_goal if goals else 0,
        this_week=week.total_completed if week else 0,
        weekly_goal=goals.weekly_goal if goals else 0,
        daily_streak=_count(goals.current_daily_streak if goals else None),
        max_daily_streak=_count(goals.max_daily_streak if goals else None),
        weekly_streak=_count(goals.current_weekly_streak if goals else None),
        max_weekly_streak=_count(goals.max_weekly_streak if goals else None),
        karma=stats.karma,
        karma_trend=stats.karma_trend,
        completed_count=stats.completed_count,
    )
    days = sorted(stats.days_items, key=lambda d: d.date)
    per_day = {d.date: d.total_completed for d in days if d.total_completed}
    karma = int(brief.karma) if float(brief.karma).is_integer() else brief.karma
    lines = [
        f"Productivity ({timezone_of(mirror)}): today {brief.today}/{brief.daily_goal} (daily goal), this week "
        f"{brief.this_week}/{brief.weekly_goal} (weekly goal); streaks: {brief.daily_streak} day(s) (longest "
        f"{brief.max_daily_streak}), {brief.weekly_streak} week(s) (longest {brief.max_weekly_streak}); karma "
        f"{karma} (trend {brief.karma_trend or 'none'}); {brief.completed_count} completed in all."
    ]
    if goals is not None and goals.ignore_days:
        off = ", ".join(_WEEKDAYS[d - 1] for d in sorted(goals.ignore_days) if 1 <= d <= 7)
        lines.append(f"Days off (no goal): {off}." + (" Vacation mode on." if goals.vacation_mode else ""))
    if days:
        lines.append("Per day: " + ", ".join(f"{d.date[5:]}: {d.total_completed}" for d in days) + ".")
    weeks = sorted(stats.week_items, key=lambda w: w.first)
    if weeks:
        lines.append("Per week: " + ", ".join(f"{w.first[5:]}..{w.to[5:]}: {w.total_completed}" for w in weeks) + ".")
    first = days[0].date if days else day
    out = CompletedResult(
        since=first, until=day, by="stats", total=sum(d.total_completed for d in days), per_day=per_day, tasks=[],
        complete=True, requests=1, stats=brief,
    )  # fmt: skip
    return "\n".join(lines), out


async def productivity(session: Session, client: SyncClient, now: datetime) -> tuple[str, CompletedResult]:
    """find_completed by="stats": one REST read; the user's zone (for "today") comes from the mirror."""
    await session.ensure_synced(client)
    stats = await client.productivity_stats()
    return stats_result(stats, session.mirror, now.astimezone(user_zone(session.mirror)).date())
