"""Pure: the account facts tools show (timezone, the user's local date and time, start of week).

Every reader of the user's settings goes through ``timezone_of`` and ``week_start_of``, so where the mirror keeps
them (``user.tz_info.timezone``, reference §2.9; an older top-level ``timezone``) is decided in one place.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from tools_server.dues import zone
from tools_server.sync.mirror import Mirror

_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def timezone_of(mirror: Mirror) -> str:
    """The mirror keeps the zone from ``tz_info`` (merged across incremental user objects); the user object as last
    received is the fallback."""
    user = mirror.user
    return mirror.timezone or (user.zone_name if user is not None else None) or "UTC"


def week_start_of(mirror: Mirror) -> int:
    """1 = Monday ... 7 = Sunday (Todoist's ``start_day``); Monday when unknown."""
    user = mirror.user
    day = user.start_day if user is not None else None
    return day if day is not None and 1 <= day <= 7 else mirror.start_day


def user_zone(mirror: Mirror) -> ZoneInfo:
    """The user's zone for "today", local times and week ranges (UTC when unknown to this machine)."""
    return zone(timezone_of(mirror))


def local_time(stamp: str | None, zone_name: str) -> str:
    """An RFC 3339 UTC stamp as 'YYYY-MM-DD HH:MM' in the user's zone ('' when missing or unreadable)."""
    if not stamp:
        return ""
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return stamp
    if moment.tzinfo is None:
        return moment.strftime("%Y-%m-%d %H:%M")
    return moment.astimezone(zone(zone_name)).strftime("%Y-%m-%d %H:%M")


def account_line(mirror: Mirror, now: datetime) -> str:
    """E.g. 'Account: timezone Europe/Berlin, today Mon 2026-11-23, week starts Monday'."""
    today = now.astimezone(user_zone(mirror))
    week = _DAYS[week_start_of(mirror) - 1]
    return f"Account: timezone {timezone_of(mirror)}, today {today:%a %Y-%m-%d %H:%M}, week starts {week}"
