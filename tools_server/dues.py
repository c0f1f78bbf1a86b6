"""Pure: due dates as this client sends them (the documented v1 input shapes) and as it shows them to the model.

Sending (reference §3 "Sending a due"): the input keys are only ``date, string, timezone, lang, is_recurring``. A
datetime goes in ``date``, floating (``YYYY-MM-DDTHH:MM:SS``, the user's wall clock) or UTC (``...Z``); ``timezone``
and ``lang`` are sent only when there is a value (``"lang": null`` is not an input). A recurring task is moved with
``{date, string: <its rule>, is_recurring: true}``, and a new day for a timed one keeps its time of day.

Showing: an all-day due is its day, a floating one the user's wall clock, a fixed one the wall clock of its own
timezone, with the zone named (``2026-12-03 09:00 Europe/Madrid``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tools_server.sync.commands import DueLang
from tools_server.sync.responses import Due, ItemDuration

_LANGS = frozenset(get_args(DueLang))


def zone(name: str | None) -> ZoneInfo:
    """The named IANA zone, or UTC when it is missing or unknown to this machine."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _input(fields: dict[str, Any]) -> dict[str, Any]:
    """Only the keys with a value: an absent key means "not given", and null is no documented input."""
    return {key: value for key, value in fields.items() if value is not None and value != ""}


def _lang(lang: str | None) -> str | None:
    # A language Todoist added later is left out rather than sent to a backend that may refuse it: the rule string
    # is kept, and Todoist reads an unflagged string in the user's language.
    return lang if lang in _LANGS else None


def datetime_text(text: str, fixed_zone: str | None = None) -> str:
    """An ISO 8601 datetime from the model as a documented ``due.date``: with an offset or ``Z`` it is a moment
    (sent in UTC with ``Z``); without one it is floating, or a wall time in ``fixed_zone`` when the task is fixed
    to a zone. Text that is no datetime is passed on unchanged, for the backend to refuse with its own message."""
    try:
        moment = datetime.fromisoformat(text.strip())
        if moment.tzinfo is None and fixed_zone is None:
            return moment.replace(microsecond=0).isoformat(timespec="seconds")
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=zone(fixed_zone))
        return _utc(moment)
    except (ValueError, OverflowError):  # no datetime, or one that leaves the calendar when moved to UTC
        return text


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(tzinfo=None, microsecond=0).isoformat(timespec="seconds") + "Z"


def new_due(
    *, string: str | None = None, day: str | None = None, when: str | None = None, lang: str | None = None
) -> dict[str, Any]:
    """A fresh due from exactly one of a natural-language ``string``, a ``day`` or a datetime ``when``."""
    if string is not None:
        return _input({"string": string, "lang": lang})
    explicit = day if day is not None else datetime_text(when or "")
    return _input({"date": explicit, "lang": lang})


def moved_recurring_due(before: Due, *, day: str | None, when: str | None, lang: str | None) -> dict[str, Any]:
    """A recurring task's due moved to a new ``day`` (keeping its time of day) or datetime ``when``, keeping its rule.

    A fixed due's time of day is its wall clock in its own zone: 09:00 in Madrid stays 09:00 in Madrid on the new
    day, whatever the UTC offset there on that day.
    """
    explicit: str
    if when is not None:
        explicit = datetime_text(when, before.timezone if before.date.endswith(("Z", "z")) else None)
    else:
        assert day is not None
        explicit = _same_time_on(before, day)
    return _input(
        {
            "date": explicit,
            "string": before.string,
            "is_recurring": True,
            "timezone": before.timezone,
            "lang": _lang(lang or before.lang),
        }
    )


def _same_time_on(before: Due, day: str) -> str:
    if "T" not in before.date.upper():
        return day
    try:
        moment = datetime.fromisoformat(before.date)
        target = date.fromisoformat(day)
        if moment.tzinfo is None:  # floating: the same wall-clock time on the new day
            return datetime.combine(target, moment.time().replace(microsecond=0)).isoformat(timespec="seconds")
        home = zone(before.timezone)
        wall = moment.astimezone(home)
        return _utc(datetime.combine(target, wall.time(), tzinfo=home))
    except (ValueError, OverflowError):
        return day  # an unreadable old due or new day: send the day and let the backend decide


def restored_due(before: Due) -> dict[str, Any]:
    """A due as it was (from a before-image), in input form: Todoist's own ``date`` output is a valid input."""
    return _input(
        {
            "date": before.date,
            "string": before.string if before.is_recurring else None,
            "is_recurring": True if before.is_recurring else None,
            "timezone": before.timezone,
            "lang": _lang(before.lang),
        }
    )


def duration_input(duration: ItemDuration) -> dict[str, Any] | None:
    """A read duration as the documented input (a positive integer of minutes or days), or None when it has none:
    hours become minutes; a fraction that no whole number of minutes expresses cannot be sent back."""
    amount, unit = duration.amount, duration.unit
    if unit == "hour":
        amount, unit = amount * 60, "minute"
    if unit not in ("minute", "day") or amount <= 0 or amount != int(amount):
        return None
    return {"amount": int(amount), "unit": unit}


# ---------------------------------------------------------------------------------------------------------------------
# Showing


def show_due(due: Due, user_zone: str | None = None, *, rule: bool = True) -> str:
    """``2026-12-03``, ``2026-12-03 09:00`` (floating: the user's clock) or ``2026-12-03 09:00 Europe/Madrid``,
    followed by a recurring due's rule (``(every day)``) unless ``rule`` is False."""
    text = due.date
    if "T" in text.upper():
        try:
            moment = datetime.fromisoformat(text)
            if moment.tzinfo is None:
                text = _wall(moment)
            else:
                home = zone(due.timezone or user_zone)
                text = f"{_wall(moment.astimezone(home))} {home.key}"
        except (ValueError, OverflowError):
            pass  # shown as Todoist sent it
    return f"{text} ({due.string})" if rule and due.is_recurring and due.string else text


def _wall(moment: datetime) -> str:
    spec = "seconds" if moment.second else "minutes"
    return f"{moment.date().isoformat()} {moment.time().isoformat(timespec=spec)}"
