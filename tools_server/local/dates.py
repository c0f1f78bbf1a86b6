"""Todoist due dates for the local backend: a ``DueArg`` becomes the ``Due`` Todoist would return.

English phrases (``tomorrow at 5pm``, ``dec 25``, ``every mon, fri``, ``every! 3 days``) are parsed here with plain
regular expressions so the common cases cost microseconds. Other phrases, and every phrase in another ``lang``, fall
back to ``dateparser``, which is imported only then because loading it takes about half a second.

Recurring phrases (``every ...``, ``daily``, ...) are understood in English only. A recurring phrase in another language
raises :class:`DueError` rather than silently becoming a one-off date; moving such a task with ``{date, string,
is_recurring: true}`` still works because the string is then kept, not parsed.

Weekday names mean the next such day strictly after today (``monday`` on a Monday is a week away), as in dateparser.
A recurring due starts on the first matching day from today on (tomorrow's if its time has already passed today), or
from its ``starting``/``from`` date; ``ending``/``until`` limits are rejected. Numeric dates such as ``25/12`` are left
to dateparser, which reads them month-first when that is ambiguous.

"Today" is taken in the due's own ``timezone`` when it has one, else in the user's timezone.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from tools_server.local.args import DueArg
from tools_server.local.foreign_dates import When as _When
from tools_server.local.foreign_dates import parse_with_dateparser as _parse_with_dateparser
from tools_server.local.moments import as_utc, known_zone, parse_moment
from tools_server.local.recurrence import Rule, Unit, add_months, advance, first_on_or_after, next_after, shift

__all__ = ["Due", "DueError", "next_occurrence", "resolve_due"]


class Due(BaseModel):
    """A due as this backend returns it (reference §2.2): ``timezone`` only on fixed dues, ``lang`` never null."""

    date: str
    timezone: str | None = None
    string: str = ""
    lang: str = "en"
    is_recurring: bool = False


class DueError(ValueError):
    """A due input that cannot be understood; .argument is the arg name ("due"), .explanation a short reason."""

    def __init__(self, argument: str, explanation: str) -> None:
        super().__init__(f"{argument}: {explanation}")
        self.argument = argument
        self.explanation = explanation


WEEKDAYS: dict[str, int] = {
    **dict.fromkeys(("monday", "mon"), 0),
    **dict.fromkeys(("tuesday", "tue", "tues"), 1),
    **dict.fromkeys(("wednesday", "wed"), 2),
    **dict.fromkeys(("thursday", "thu", "thur", "thurs"), 3),
    **dict.fromkeys(("friday", "fri"), 4),
    **dict.fromkeys(("saturday", "sat"), 5),
    **dict.fromkeys(("sunday", "sun"), 6),
}
_MONTH_NAMES = "january february march april may june july august september october november december".split()  # noqa: SIM905
MONTHS: dict[str, int] = {
    **{name: n for n, name in enumerate(_MONTH_NAMES, 1)},
    **{name[:3]: n for n, name in enumerate(_MONTH_NAMES, 1)},
    "sept": 9,
}
_UNITS: dict[str, Unit] = {"day": "day", "week": "week", "month": "month", "year": "year"}
_WORD_RULES = dict(daily="day", everyday="day", weekly="week", monthly="month", yearly="year", annually="year")
# "every 3rd friday", "every last monday": the nth such day of the month.
_ORDINALS = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4, "last": -1}
_NTH = re.compile(r"(first|1st|second|2nd|third|3rd|fourth|4th|last)\s+([a-z]+)")
# Todoist's recurring-dates article: "every morning" is every day at 9am, afternoon 12pm, evening 7pm, night 10pm.
_DAY_PARTS = {"morning": time(9), "afternoon": time(12), "evening": time(19), "night": time(22)}

_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:?\d{2})?", re.I)
# A time needs an am/pm, a colon or a leading "at": a bare number is a day of the month ("dec 12") or a count.
_TIME = re.compile(
    r"(?<![\w:/-])(?:(?:at|@)\s*)?"
    r"(?:(?P<h1>\d{1,2})(?::(?P<m1>\d{2}))?\s*(?P<ap>am|pm)|(?P<h2>\d{1,2}):(?P<m2>\d{2})(?::(?P<s2>\d{2}))?"
    r"|(?P<word>noon|midnight))(?![\w:])"
    r"|(?<![\w:/-])(?:at|@)\s*(?P<h3>\d{1,2})(?![\w:])"
)
_MONTH_FIRST = re.compile(r"(?P<mon>[a-z]+)\.?\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?(?:,?\s+(?P<year>\d{4}))?")
_DAY_FIRST = re.compile(r"(?P<day>\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<mon>[a-z]+)\.?(?:,?\s+(?P<year>\d{4}))?")
_IN = re.compile(r"in\s+(?P<n>\d+|an?|one)\s+(?P<unit>day|week|month|year)s?")
_RECURRING = re.compile(r"(?:every|ev)(?P<bang>!?)(?:\s+|$)|(?P<word>daily|everyday|weekly|monthly|yearly|annually)\b")
_STARTING = re.compile(r"\s+(?:starting|from)\s+(?:on\s+)?")
_ENDING = re.compile(r"\b(?:ending|until|for\s+\d+\s+(?:times|days?|weeks?|months?|years?))\b")
# Recurrence words of Todoist's other languages: such a phrase must not reach dateparser, which would read "cada
# lunes" as a one-off Monday.
_FOREIGN_RECURRING = re.compile(
    r"\b(?:cada|jede[nrsm]?|täglich|wöchentlich|monatlich|jährlich|chaque|tous les|toutes les|ogni|todos os|todas as"
    r"|elke|iedere|dagelijks|varje|dagligen|hver|hvert|daglig|joka|päivittäin|codziennie|co|każdy|każdą|każde"
    r"|каждый|каждую|каждое|каждые|ежедневно)\b|[毎每매]"
)


def resolve_due(due: DueArg, *, now: datetime, timezone: str = "UTC") -> Due:
    """DueArg (string | date | datetime, + lang, timezone) -> the Due object Todoist returns.

    An explicit ``date``/``datetime`` sets the date even when a ``string`` comes along; the string is then kept as
    given, which is how Todoist clients move a recurring task without losing its recurrence.
    """
    lang = due.lang or "en"
    if due.timezone is not None:
        _zone(due.timezone)  # an unknown zone is an error even when the due turns out to be all-day
    explicit = due.datetime or due.date
    if explicit is not None:
        when, zone = _parse_explicit(explicit, due.timezone)
        if due.string:
            recurring = _looks_recurring(_normalize(due.string)) or (lang != "en" and due.is_recurring is True)
            return _make_due(when, zone, due.string, lang, recurring)
        return _make_due(when, zone, _readable(when), lang, False)
    if due.string is None or not due.string.strip():
        raise DueError("due", "a due date needs a string, date or datetime")
    local_now = as_utc(now).astimezone(_zone(due.timezone or timezone))
    when, recurring = _parse_string(due.string, lang, local_now)
    return _make_due(when, due.timezone, due.string, lang, recurring)


def next_occurrence(due: Due, *, now: datetime, timezone: str = "UTC") -> Due | None:
    """For a recurring Due, the Due after completing it once (same string/lang/is_recurring, new date); None if not
    recurring or not understood.

    The new date follows the pattern strictly after both the current due date and today; ``every!`` counts from today,
    the completion day. A due with a time of day keeps it.
    """
    if not due.is_recurring:
        return None
    try:
        rule, _ = _parse_rule(_normalize(due.string))
        when, zone = _parse_explicit(due.date, due.timezone)
        today = as_utc(now).astimezone(_zone(due.timezone or timezone)).date()
        following = _When(advance(rule, when.day, today), when.at or rule.at)
        made = _make_due(following, zone, due.string, due.lang or "en", True)
    except (DueError, OverflowError):
        return None
    return made.model_copy(update={"timezone": due.timezone})


# ---------------------------------------------------------------------------------------------------------------------
# Explicit dates and output


def _zone(name: str) -> ZoneInfo:
    zone = known_zone(name)
    if zone is None:
        raise DueError("due", f"unknown timezone '{name}'")
    return zone


def _parse_explicit(text: str, timezone: str | None) -> tuple[_When, str | None]:
    """A ``date``/``datetime`` value as a wall-clock _When and the zone it is fixed to (None: all-day or floating)."""
    if not (_DATE_ONLY.fullmatch(text) or _DATE_TIME.fullmatch(text)):
        raise DueError("due", f"invalid date '{text}': expected YYYY-MM-DD or an ISO 8601 datetime")
    try:
        moment = parse_moment(text)
        if _DATE_ONLY.fullmatch(text):
            return _When(moment.date()), None
        zone = timezone or ("UTC" if moment.tzinfo is not None else None)
        if moment.tzinfo is not None and zone is not None:
            moment = moment.astimezone(_zone(zone))
    except (ValueError, OverflowError) as error:
        raise DueError("due", f"invalid date '{text}'") from error
    return _When(moment.date(), moment.time().replace(microsecond=0)), zone


def _make_due(when: _When, zone: str | None, string: str, lang: str, recurring: bool) -> Due:
    if when.at is None:
        return Due(date=when.day.isoformat(), timezone=None, string=string, lang=lang, is_recurring=recurring)
    wall = datetime.combine(when.day, when.at)
    if zone is None:
        return Due(date=wall.isoformat(timespec="seconds"), string=string, lang=lang, is_recurring=recurring)
    try:
        fixed = wall.replace(tzinfo=_zone(zone)).astimezone(UTC).replace(tzinfo=None)
    except OverflowError as error:
        raise DueError("due", f"date out of range: '{wall.isoformat()}'") from error
    stamp = fixed.isoformat(timespec="seconds") + "Z"
    return Due(date=stamp, timezone=zone, string=string, lang=lang, is_recurring=recurring)


def _readable(when: _When) -> str:
    """The string shown for a due given as a date: one the parser reads back to the same date."""
    if when.at is None:
        return when.day.isoformat()
    return f"{when.day.isoformat()} {when.at.isoformat(timespec='seconds' if when.at.second else 'minutes')}"


# ---------------------------------------------------------------------------------------------------------------------
# Natural language


def _normalize(text: str) -> str:
    text = " ".join(text.lower().split()).rstrip(".")
    text = text.replace("a.m.", "am").replace("p.m.", "pm")
    return re.sub(r"(\d{4}-\d{2}-\d{2})t(?=\d)", r"\1 ", text)


def _looks_recurring(normalized: str) -> bool:
    return _RECURRING.match(normalized) is not None


def _parse_string(text: str, lang: str, local_now: datetime) -> tuple[_When, bool]:
    normalized = _normalize(text)
    if _looks_recurring(normalized):
        return _first_occurrence(normalized, local_now), True
    if lang != "en" and _FOREIGN_RECURRING.search(normalized):
        raise DueError("due", f"recurring dates are only understood in English (lang 'en'), not '{text}'")
    if lang == "en":
        when = _parse_english(normalized, local_now) or _parse_with_dateparser(text, lang, local_now)
    else:
        when = _parse_with_dateparser(text, lang, local_now) or _parse_english(normalized, local_now)
    if when is None:
        raise DueError("due", f"could not understand the date '{text}'")
    return when, False


def _extract_time(text: str) -> tuple[time | None, str] | None:
    """The one time of day in ``text`` and the text without it; None when the time is impossible or ambiguous."""
    found = list(_TIME.finditer(text))
    if not found:
        return None, text
    if len(found) > 1:
        return None
    match = found[0]
    rest = " ".join(f"{text[: match.start()]} {text[match.end() :]}".split()).strip(" ,")
    word, h3 = match["word"], match["h3"]
    if word is not None:
        return (time(12) if word == "noon" else time(0)), rest
    if match["ap"] is not None:
        hour, minute, second = int(match["h1"]), int(match["m1"] or 0), 0
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if match["ap"] == "pm" else 0)
    elif h3 is not None:
        hour, minute, second = int(h3), 0, 0
    else:
        hour, minute, second = int(match["h2"]), int(match["m2"]), int(match["s2"] or 0)
    if hour > 23 or minute > 59 or second > 59:
        return None
    return time(hour, minute, second), rest


def _parse_english(normalized: str, local_now: datetime) -> _When | None:
    split = _extract_time(normalized)
    if split is None:
        return None
    at, rest = split
    today = local_now.date()
    if not rest:
        if at is None:
            return None
        # A bare time is the next time the clock shows it.
        return _When(today if at >= local_now.time() else today + timedelta(days=1), at)
    day = _parse_day(rest, today)
    return None if day is None else _When(day, at)


def _parse_day(text: str, today: date) -> date | None:
    """A day phrase without a time: relative words, weekdays, ``in N units``, month-name dates and ISO dates."""
    text = text.removeprefix("on ").strip()
    if text in ("today", "tod"):
        return today
    if text in ("tomorrow", "tom", "tmr", "tmrw"):
        return today + timedelta(days=1)
    if text == "yesterday":
        return today - timedelta(days=1)
    if text in WEEKDAYS:
        return _weekday_after(today, WEEKDAYS[text])
    if text.startswith("next "):
        return _parse_next(text.removeprefix("next ").strip(), today)
    if text in ("end of month", "end of the month"):
        return add_months(today, 0, 31)
    if (mid := re.fullmatch(r"mid[-\s]+([a-z]+)", text)) is not None and mid[1] in MONTHS:
        # Todoist's "Dates and Times" table: "mid January" is January 15th.
        text = f"{mid[1]} 15"
    if match := _IN.fullmatch(text):
        count = int(match["n"]) if match["n"].isdigit() else 1
        try:
            return shift(today, _UNITS[match["unit"]], count)
        except (ValueError, OverflowError):
            return None
    if _DATE_ONLY.fullmatch(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            return None
    month_day = _month_day(text)
    if month_day is None:
        return None
    month, day, year = month_day
    if year is not None:
        return _valid_date(year, month, day)
    # A date without a year is the next one to come, so "jan 5" in November is next January.
    candidates = (_valid_date(y, month, day) for y in range(today.year, today.year + 9))
    return next((found for found in candidates if found is not None and found >= today), None)


def _parse_next(what: str, today: date) -> date | None:
    if what in WEEKDAYS:
        return _weekday_after(today, WEEKDAYS[what])
    if what == "week":
        return _weekday_after(today, 0)
    if what == "month":
        return add_months(today, 1, 1)
    if what == "year":
        return date(today.year + 1, 1, 1)
    return None


def _weekday_after(today: date, weekday: int) -> date:
    return today + timedelta(days=(weekday - today.weekday() - 1) % 7 + 1)


def _valid_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _month_day(text: str) -> tuple[int, int, int | None] | None:
    """``dec 25``, ``25th of december``, ``december 25, 2026`` as (month, day, year or None)."""
    match = _MONTH_FIRST.fullmatch(text) or _DAY_FIRST.fullmatch(text)
    if match is None or match["mon"] not in MONTHS:
        return None
    return MONTHS[match["mon"]], int(match["day"]), int(match["year"]) if match["year"] else None


# ---------------------------------------------------------------------------------------------------------------------
# Recurring phrases


def _parse_rule(normalized: str) -> tuple[Rule, str | None]:
    """The rule of an ``every ...`` phrase and its ``starting`` phrase (unparsed), or DueError."""
    if _ENDING.search(normalized):
        raise DueError(
            "due",
            "end dates on recurring due dates ('ending', 'until', 'for N times', 'for N weeks') are not supported",
        )
    split = _extract_time(normalized)
    if split is None:
        raise DueError("due", f"could not understand the time in '{normalized}'")
    at, rest = split
    rest, *starting = _STARTING.split(rest, maxsplit=1)
    prefix = _RECURRING.match(rest)
    if prefix is None:
        raise DueError("due", f"could not understand the recurring date '{normalized}'")
    word, tail = prefix["word"], rest[prefix.end() :].strip()
    # "daily" and friends stand alone: "daily 3 days" is not a pattern.
    rule = _rule_body(tail if word is None else "" if tail else _WORD_RULES[word])
    if rule is None:
        raise DueError("due", f"could not understand the recurring date '{normalized}'")
    return replace(rule, at=at or rule.at, from_completion=bool(prefix["bang"])), (starting[0] if starting else None)


def _rule_body(body: str) -> Rule | None:
    if body in _UNITS:
        return Rule(_UNITS[body])
    if match := re.fullmatch(r"(other|\d+)\s+(day|week|month|year)s?", body):
        interval = 2 if match[1] == "other" else int(match[1])
        return Rule(_UNITS[match[2]], interval=interval) if interval >= 1 else None
    if body in _DAY_PARTS:
        return Rule("day", at=_DAY_PARTS[body])
    if body in ("weekday", "workday", "work day", "week day"):
        return Rule("week", weekdays=frozenset(range(5)))
    if body == "weekend":
        return Rule("week", weekdays=frozenset({5, 6}))
    if match := re.fullmatch(r"(\d{1,2})(?:st|nd|rd|th)?(?:\s+day)?(?:\s+of\s+(?:the|every)\s+month)?", body):
        return Rule("month", month_day=int(match[1])) if 1 <= int(match[1]) <= 31 else None
    if re.fullmatch(r"last\s+day(?:\s+of\s+(?:the|every)\s+month)?", body):
        return Rule("month", month_day=31)
    if (month_day := _month_day(body)) is not None:
        month, day, year = month_day
        # 2028 is a leap year, so "every feb 29" is accepted (and falls on Feb 28 in other years).
        return Rule("year", month=month, month_day=day) if year is None and _valid_date(2028, month, day) else None
    if (match := _NTH.fullmatch(body)) is not None and match[2] in WEEKDAYS:
        return Rule("month", weekdays=frozenset({WEEKDAYS[match[2]]}), nth=_ORDINALS[match[1]])
    interval = 1
    if (match := re.fullmatch(r"(other|\d+)\s+(.+)", body)) is not None:
        interval, body = (2 if match[1] == "other" else int(match[1])), match[2]
    names = [name for name in re.split(r"(?:\s|,|&|\band\b)+", body) if name]
    if names and all(name in WEEKDAYS for name in names) and interval >= 1:
        return Rule("week", interval=interval, weekdays=frozenset(WEEKDAYS[name] for name in names))
    return None


def _first_occurrence(normalized: str, local_now: datetime) -> _When:
    rule, starting = _parse_rule(normalized)
    today = local_now.date()
    start = today if starting is None else _parse_day(starting, today)
    if start is None:
        raise DueError("due", f"could not understand the start date '{starting}'")
    day = first_on_or_after(rule, start)
    if starting is None and rule.at is not None and day == today and rule.at < local_now.time():
        # As with a bare time, today's slot has already gone by, so the series starts at its next date.
        day = next_after(rule, day)
    return _When(day, rule.at)
