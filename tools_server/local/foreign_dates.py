"""Phrases the local backend's fast English parser does not know, through ``dateparser`` (imported only when needed:
loading it takes about half a second). A module of its own so that dates.py, the fast path, never loads it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

# dateparser spells Traditional Chinese differently from Todoist.
_DATEPARSER_LANG = {"tw": "zh-Hant"}


@dataclass(frozen=True)
class When:
    """A wall-clock day and optional time, in the due's timezone (or floating when it has none)."""

    day: date
    at: time | None = None


def parse_with_dateparser(text: str, lang: str, local_now: datetime) -> When | None:
    from dateparser.date import DateDataParser  # heavy import, so only for phrases the fast parser does not know

    settings = {
        "RELATIVE_BASE": local_now.replace(tzinfo=None),
        "PREFER_DATES_FROM": "future",
        "RETURN_AS_TIMEZONE_AWARE": False,
        # "time" then tells an explicit time from dateparser copying the base's clock into "mañana".
        "RETURN_TIME_AS_PERIOD": True,
    }
    try:
        parser: Any = DateDataParser(languages=[_DATEPARSER_LANG.get(lang, lang)], settings=settings)
        data: Any = parser.get_date_data(text)
    except (ValueError, OverflowError):
        return None
    found: datetime | None = data.date_obj
    if found is None:
        return None
    return When(found.date(), found.time().replace(microsecond=0) if data.period == "time" else None)
