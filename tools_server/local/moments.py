"""Moments in the local backend: the one reader of ISO 8601 / RFC 3339 date-times, the one lookup of a zone by
name, and Todoist's UTC stamp."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def parse_moment(text: str) -> datetime:
    """An ISO 8601 date-time (or date) -> datetime, aware when the text names an offset (``Z`` included); ValueError
    when it is not one. The caller decides what a naive result means (UTC, the user's zone, floating, an error)."""
    # RFC 3339 allows a lower-case "t" and "z"; fromisoformat reads only upper case.
    return datetime.fromisoformat(text.upper())


def as_utc(moment: datetime) -> datetime:
    """The moment in UTC. A naive one is taken as UTC, not as the host's local time, which would make results depend
    on the machine."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def timestamp(moment: datetime) -> str:
    """Todoist's microsecond UTC form, e.g. 2026-11-20T10:00:00.000000Z."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def known_zone(name: str) -> ZoneInfo | None:
    """The IANA zone of that name, or None when there is none; each caller decides what an unknown zone means."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
