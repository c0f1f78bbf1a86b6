"""Todoist's Quick Add syntax read client-side: one line -> the fields of a new task, and how it was read.

Todoist's published rules (the v1 quick-add endpoint's ``text``, Doist's SDK ``quickAddTask``): a due date in free
form, ``#Project`` (no spaces), ``/Section``, ``@label``, ``+assignee``, ``p1``-``p4``, a deadline between ``{}``,
``!`` a reminder, and a description from ``//`` to the end. The date phrase is only found here, not resolved: it goes
to Todoist as ``due.string``, for Todoist's own date parser (so recurrences and every language keep their meaning).
Names are resolved against the mirror by the add planner, like add_item's ``project``/``section``.
"""

from __future__ import annotations

import calendar
import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, TypeVar

from pydantic import ValidationError

from tools_server.inputs import NewItem, NewTaskFields

# English date vocabulary (the phrases Todoist's help pages show). A phrase is found, never computed, here.
_WEEKDAY = r"(?:mon(?:day)?|tue(?:s|sday)?|wed(?:nesday)?|thu(?:r|rs|rsday)?|fri(?:day)?|sat(?:urday)?|sun(?:day)?)"
_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t|tember)?|oct(?:ober)?"
    r"|nov(?:ember)?|dec(?:ember)?)"
)
_ORD = r"\d{1,2}(?:st|nd|rd|th)?"
# "at" or "@" (``Fri @ 7pm``) leads into a time; a bare hour needs it and a day before it (``today at 10``).
_AT = r"(?:(?:at|@)\s+)"
_TIME = r"(?:" + _AT + r"?\d{1,2}(?::\d{2})?\s?(?:am|pm)|" + _AT + r"?\d{1,2}:\d{2}|" + _AT + r"?(?:noon|midnight))"
_HOUR = r"(?:" + _TIME + r"|" + _AT + r"\d{1,2}(?![\d:]))"
_UNIT = r"(?:min(?:ute)?s?|hours?|hrs?|days?|weeks?|months?|years?)"
# Bare forms Todoist's "Dates and Times" table lists (``5 days``, ``+5 days``, ``27th``, ``mid January``) come last so
# a longer phrase that starts the same way (``27th jan``) wins.
_DAY = (
    r"(?:today|tod|tonight|tomorrow|tmrw?|tom|yesterday|this\s+weekend|next\s+weekend|next\s+week|next\s+month"
    r"|next\s+year|end\s+of\s+(?:the\s+)?(?:week|month)|(?:next\s+|this\s+)?" + _WEEKDAY + r"|in\s+(?:\d+|an?|one|two|"
    r"three)\s+"
    + _UNIT
    + r"|\d{4}[-/]\d{1,2}[-/]\d{1,2}|\d{1,2}/\d{1,2}(?:/\d{2,4})?|"
    + _MONTH
    + r"\s+"
    + _ORD
    + r"(?:,?\s+\d{4})?|"
    + _ORD
    + r"\s+"
    + _MONTH
    + r"(?:,?\s+\d{4})?|mid[-\s]+"
    + _MONTH
    + r"|\+?\d+\s+"
    + _UNIT
    + r"|\d{1,2}(?:st|nd|rd|th))"
)
# What follows "every": an interval, day names, dates in the month or year, then a time and a start or end. A list
# goes "mon, fri", "mon and fri" or "mon, tues, wed, and fri"; workdays of the month are listed before plain
# ordinals so "every 15th workday, last workday" is not cut at "15th".
_AND = r"(?:\s*,\s*(?:and\s+)?|\s+and\s+)"
_WORKDAY = r"(?:\d{1,2}(?:st|nd|rd|th)?|first|last)\s+workday"
_EVERY_BODY = (
    r"(?:other\s+)?(?:\d+\s+)?(?:" + _UNIT + r"|weekdays?|workdays?|weekends?|morning|afternoon|evening|night"
    r"|" + _WORKDAY + r"(?:" + _AND + _WORKDAY + r")*"
    r"|(?:(?:first|second|third|fourth|last|1st|2nd|3rd|4th)\s+)?"
    + _WEEKDAY
    + r"(?:"
    + _AND
    + _WEEKDAY
    + r")*|last\s+day|"
    + _MONTH
    + r"\s+"
    + _ORD
    + r"|"
    + _ORD
    + r"(?:\s+"
    + _MONTH
    + r")?"
    + r"(?:\s*,\s*"
    + _ORD
    + r")*)"
)
# Then a start (``starting 1 Nov``, ``starting at 07:00 PM``) and an end (``until jan 27``, ``for 8 weeks``).
_RECURRING = (
    r"(?:(?:every!?|ev!?|after)\s+" + _EVERY_BODY + r"|daily|weekly|monthly|yearly|annually)"
    r"(?:\s+on\s+(?:the\s+)?"
    + _ORD
    + r")?(?:\s+"
    + _TIME
    + r")?(?:\s+(?:starting|from)\s+(?:"
    + _DAY
    + r"(?:\s+"
    + _TIME
    + r")?|"
    + _TIME
    + r"))?(?:\s+(?:until|ending)\s+"
    + _DAY
    + r"|\s+for\s+\d+\s+"
    + _UNIT
    + r")?"
)
_WHEN = r"(?:(?:on|by)\s+)?(?:" + _DAY + r"(?:\s+" + _HOUR + r")?|" + _TIME + r"(?:\s+" + _DAY + r")?)"


@functools.cache
def _date_phrase() -> re.Pattern[str]:
    # Compiled when a Quick Add line is first read, not at import: the module took 63 ms to import with it, 23 without.
    return re.compile(r"(?<![\w@#/+!{])(?:" + _RECURRING + r"|" + _WHEN + r")(?![\w}])", re.IGNORECASE)


# "!30m", "!2h", "!30 min before": relative to the due's time; anything else after "!" is a moment.
_RELATIVE = re.compile(r"(\d+)\s*(m|min|mins|minutes?|h|hrs?|hours?)(?:\s+before)?(?!\w)", re.IGNORECASE)
# Bare day abbreviations that are also everyday words or names ("sun cream", "sat exam", "Call Tom"): read as dates,
# as Todoist does, but said to be ambiguous.
_WORDLIKE = frozenset({"sun", "sat", "wed", "mon", "tue", "thu", "fri", "tod", "tom"})
# Loose forms that read as a title's own words when more title follows them: Todoist's help warns that in "Create
# monthly report" the word monthly is taken as a recurring date; "27th birthday" and "5 days trip" are alike.
_LOOSE = re.compile(r"daily|weekly|monthly|yearly|annually|\d+\s+" + _UNIT + r"|\d{1,2}(?:st|nd|rd|th)", re.IGNORECASE)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_PRIORITY = re.compile(r"p([1-4])", re.IGNORECASE)
_SPACES = re.compile(r"\s+")
T = TypeVar("T", bound=NewTaskFields)


@dataclass
class QuickLine:
    """One line as read. ``priority`` is the API's (p1 = 4); ``reminders`` are due phrases or minutes before."""

    content: str
    project: str | None = None
    section: str | None = None
    labels: list[str] = field(default_factory=list[str])
    priority: int | None = None
    due: str | None = None
    deadline: str | None = None
    reminders: list[str | int] = field(default_factory=list[str | int])
    description: str | None = None
    assignee: str | None = None
    ambiguous: list[str] = field(default_factory=list[str])
    errors: list[str] = field(default_factory=list[str])


def read_line(text: str, today: date | None = None) -> QuickLine:
    """One Quick Add line -> what it sets. Pure: names are not looked up; the due phrase is not computed (Todoist
    reads it), the deadline is (Todoist takes a deadline as a date): from ``today``, the user's, else only ISO."""
    body, description = _split_description(text)
    line = QuickLine(content="", description=description)
    body = _take_braces(body, line)
    if line.deadline is not None:
        _resolve_deadline(line, line.deadline, today)
    body = _take_reminders(body, line)
    kept: list[str] = []
    for word in body.replace("\x00", "!").split():
        if not _take_marker(word, line):
            kept.append(word)
    rest = " ".join(kept)
    found = list(_date_phrase().finditer(rest))
    if found:
        first = found[0]
        # "on"/"by" lead into the phrase but are not part of the date Todoist is sent.
        line.due = re.sub(r"^(?:on|by)\s+", "", _SPACES.sub(" ", first.group(0)).strip(), flags=re.IGNORECASE)
        inside = rest[first.end() :].strip() != ""
        rest = rest[: first.start()] + rest[first.end() :]
        if line.due.casefold() in _WORDLIKE or (inside and _LOOSE.fullmatch(line.due)):
            line.ambiguous.append(f"'{line.due}' read as a date; if it belongs to the title, set due explicitly")
        for other in found[1:]:
            line.ambiguous.append(f"'{other.group(0)}' also reads as a date: kept in the title")
    line.content = _SPACES.sub(" ", rest).strip()
    if not line.content:
        line.errors.append("no title left once the Quick Add markers were read")
    return line


def _split_description(text: str) -> tuple[str, str | None]:
    # "//" opens the description only at the start or after a space: a URL's "https://" stays in the title.
    match = re.search(r"(?:^|\s)//", text)
    if match is None:
        return text, None
    description = text[match.end() :].strip()
    return text[: match.start()], description or None


def _take_braces(body: str, line: QuickLine) -> str:
    def deadline(match: re.Match[str]) -> str:
        phrase = match.group(1).strip()
        if line.deadline is not None:
            line.ambiguous.append(f"several deadlines: kept {{{line.deadline}}}, ignored {{{phrase}}}")
        else:
            line.deadline = phrase
        return " "

    return re.sub(r"\{([^{}]*)\}", deadline, body)


_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_IN = re.compile(r"in\s+(\d+|an?|one|two|three)\s+(day|week|month|year)s?")
_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3}


def _resolve_deadline(line: QuickLine, phrase: str, today: date | None) -> None:
    """``{phrase}`` -> a deadline date, the phrases Todoist's help shows for deadlines (a date, a weekday, a day of a
    month, ``in 3 days``); anything else is refused naming it rather than guessed."""
    text = _SPACES.sub(" ", phrase.strip().casefold())
    if _ISO_DATE.fullmatch(text):
        line.deadline = text
        return
    found = _deadline_date(text, today) if today is not None else None
    if found is None:
        line.deadline = None
        line.errors.append(
            f"deadline {{{phrase}}}: not read; write it as {{YYYY-MM-DD}}, a weekday, 'jan 27' or 'in 3 days'"
        )
        return
    line.deadline = found.isoformat()
    assert today is not None
    weekday = re.fullmatch(r"(?:next\s+|this\s+)?(" + _WEEKDAY + ")", text)
    if weekday is not None and found - today == timedelta(days=7):
        line.ambiguous.append(f"{{{phrase}}} is today's weekday: read as a week away, {found.isoformat()}")


def _deadline_date(text: str, today: date) -> date | None:
    if text in ("today", "tod"):
        return today
    if text in ("tomorrow", "tmr", "tmrw"):
        return today + timedelta(days=1)
    if text == "next week":
        return today + timedelta(days=7 - today.weekday())
    if text in ("end of month", "end of the month"):
        return today.replace(day=calendar.monthrange(today.year, today.month)[1])
    weekday = re.fullmatch(r"(?:next\s+|this\s+)?(" + _WEEKDAY + ")", text)
    if weekday is not None:
        ahead = (_WEEKDAYS.index(weekday.group(1)[:3]) - today.weekday()) % 7 or 7
        return today + timedelta(days=ahead)
    within = _IN.fullmatch(text)
    if within is not None:
        count = _NUMBERS.get(within.group(1)) or int(within.group(1))
        unit = within.group(2)
        if unit in ("day", "week"):
            return today + timedelta(days=count * (7 if unit == "week" else 1))
        months = count * (12 if unit == "year" else 1)
        year, month = divmod(today.month - 1 + months, 12)
        year += today.year
        return date(year, month + 1, min(today.day, calendar.monthrange(year, month + 1)[1]))
    day_month = re.fullmatch(
        r"(?:(" + _MONTH + r")\s+(\d{1,2})(?:st|nd|rd|th)?|(\d{1,2})(?:st|nd|rd|th)?\s+(" + _MONTH + r"))"
        r"(?:,?\s+(\d{4}))?",
        text,
    )
    if day_month is not None:
        month = _MONTHS.index((day_month.group(1) or day_month.group(4))[:3]) + 1
        day = int(day_month.group(2) or day_month.group(3))
        year = int(day_month.group(5)) if day_month.group(5) else today.year
        try:
            found = date(year, month, day)
            if day_month.group(5) is None and found < today:
                found = date(year + 1, month, day)  # a day already past this year is next year's
        except ValueError:
            return None
        return found
    return None


def _take_reminders(body: str, line: QuickLine) -> str:
    # "!" then a relative offset or a date phrase (the longest one that starts right after it).
    while True:
        match = re.search(r"(?:^|(?<=\s))!(?=\S)", body)
        if match is None:
            return body
        after = body[match.end() :]
        relative = _RELATIVE.match(after)
        phrase = _date_phrase().match(after)
        if relative is not None and (phrase is None or relative.end() >= phrase.end()):
            amount, unit = int(relative.group(1)), relative.group(2).lower()
            line.reminders.append(amount * 60 if unit.startswith("h") else amount)
            end = relative.end()
        elif phrase is not None:
            line.reminders.append(_SPACES.sub(" ", phrase.group(0)))
            end = phrase.end()
        else:
            word = after.split()[0]
            line.ambiguous.append(f"'!{word}' is no reminder time: kept in the title")
            # Keep it, marked so the loop moves past it; the mark is removed below.
            body = body[: match.start()] + "\x00" + body[match.end() :]
            continue
        body = body[: match.start()] + " " + after[end:]


def _take_marker(word: str, line: QuickLine) -> bool:
    """A word that is a marker sets its field and leaves the title; True when it was one."""
    sigil, name = word[0], word[1:]
    if sigil == "#" and name:
        if line.project is not None:
            line.ambiguous.append(f"several projects: kept #{line.project}, ignored #{name}")
        else:
            line.project = name
        return True
    if sigil == "/" and name and "/" not in name:
        if line.section is not None:
            line.ambiguous.append(f"several sections: kept /{line.section}, ignored /{name}")
        else:
            line.section = name
        return True
    if sigil == "@" and name:
        if name.casefold() not in (label.casefold() for label in line.labels):
            line.labels.append(name)
        return True
    if sigil == "+" and name and not name[0].isdigit():
        if line.assignee is not None:
            line.ambiguous.append(f"several assignees: kept +{line.assignee}, ignored +{name}")
        else:
            line.assignee = name
        return True
    priority = _PRIORITY.fullmatch(word)
    if priority is not None:
        value = 5 - int(priority.group(1))
        if line.priority is not None:
            line.ambiguous.append(f"several priorities: kept p{5 - line.priority}, ignored {word}")
        else:
            line.priority = value
        return True
    return False


def reading(line: QuickLine) -> str:
    """How a line was read, in the words the model corrects from."""
    parts = [f"title '{line.content}'"]
    if line.project is not None:
        parts.append(f"project {line.project}")
    if line.section is not None:
        parts.append(f"section {line.section}")
    if line.labels:
        parts.append("labels " + ", ".join(line.labels))
    parts.append(f"due '{line.due}'" if line.due is not None else "no due")
    if line.priority is not None:
        parts.append(f"p{5 - line.priority}")
    if line.deadline is not None:
        parts.append(f"deadline {line.deadline}")
    for reminder in line.reminders:
        parts.append(f"reminder {reminder} min before" if isinstance(reminder, int) else f"reminder '{reminder}'")
    if line.description is not None:
        parts.append("description")
    if line.assignee is not None:
        parts.append(f"assignee {line.assignee}")
    parts.extend(f"ambiguous: {note}" for note in line.ambiguous)
    return ", ".join(parts)


class QuickAddError(ValueError):
    """A line that cannot be read into a task: nothing of the call is sent."""


def read_items(
    items: Sequence[T], today: date | None = None, counter: list[int] | None = None
) -> tuple[list[T], list[str]]:
    """Each task's ``content`` (subtasks too) read as a Quick Add line: the tasks with the fields it sets, and one
    reading per task in planning order (depth-first, as the result's indexes). A field given explicitly wins over
    the line's, and the reading says so."""
    position = counter if counter is not None else [0]
    out: list[T] = []
    readings: list[str] = []
    for item in items:
        index = position[0]
        position[0] += 1
        line = read_line(item.content, today)
        if line.errors:
            raise QuickAddError(f"items #{index} '{item.content}': " + "; ".join(line.errors))
        data: dict[str, Any] = item.model_dump(exclude_none=True, exclude={"subtasks"})
        kept: list[str] = []
        read: dict[str, Any] = {
            "content": line.content,
            "description": line.description,
            "labels": line.labels or None,
            "priority": line.priority,
            "due": line.due,
            "deadline": line.deadline,
            "reminders": [{"minutes_before": r} if isinstance(r, int) else {"due": r} for r in line.reminders] or None,
        }
        if isinstance(item, NewItem):
            read |= {"project": line.project, "section": line.section, "assignee": line.assignee}
        elif line.project is not None or line.section is not None:
            raise QuickAddError(f"items #{index}: a subtask lives in its parent's project: no #project or /section")
        elif line.assignee is not None:
            # add_item offers assignee on top-level tasks only (the subtask schema repeats no more fields).
            raise QuickAddError(f"items #{index}: a subtask takes no +assignee here; assign it with update_items")
        for name, value in read.items():
            if value is None:
                continue
            explicit = name in ("due", "due_date", "due_datetime") and any(
                k in data for k in ("due", "due_date", "due_datetime")
            )
            if (name != "content" and name in data) or explicit:
                kept.append(name)
                continue
            data[name] = value
        children, child_readings = read_items(item.subtasks or [], today, position)
        if children:
            data["subtasks"] = children
        try:
            out.append(type(item).model_validate(data))
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise QuickAddError(f"items #{index} '{item.content}': {problems}") from None
        text = reading(line) + "".join(f", {name} given explicitly: the line's ignored" for name in kept)
        readings.append(f"#{index} read as {text}")
        readings.extend(child_readings)
    return out, readings
