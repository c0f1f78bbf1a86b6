"""Filter text -> syntax tree (grammar in the package docstring)."""

from __future__ import annotations

import calendar
import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from tools_server.filters.nodes import (
    MAX_DEPTH,
    All,
    And,
    Assigned,
    AssignedBy,
    AssignedTo,
    DayRef,
    DueAfter,
    DueBefore,
    DueOn,
    FilterError,
    HasLabel,
    InProject,
    InSection,
    MonthDay,
    NextDays,
    NextWeekday,
    NoDate,
    Node,
    NoLabels,
    Not,
    Or,
    Overdue,
    PriorityIs,
    Recurring,
    RelativeDay,
    Search,
    Subtask,
    Term,
)

# ---------------------------------------------------------------------------------------------------------------------
# Parsing

_OPERATOR_CHARS = "&|!(),"
# An operator, or a term: everything up to the next operator (names and search text may contain spaces).
_TOKEN = re.compile(r"[&|!(),]|[^&|!(),\s][^&|!(),]*")
_SEARCH = re.compile(r"search\s*:\s*", re.IGNORECASE)
_ASSIGNED = re.compile(r"assigned\s+(to|by)\s*:\s*", re.IGNORECASE)
_DATE_PREFIX = re.compile(r"(?:due|date)(?:\s+(before|after))?\s*:\s*", re.IGNORECASE)
_DAYS = re.compile(r"(?:next\s+)?([0-9]{1,4})\s+days?", re.IGNORECASE)
# "p1" and the long form "priority 1", which the documented saved filter example uses (reference §2.8, DS 18).
_PRIORITY = re.compile(r"(?:p|priority\s+)([0-9]+)", re.IGNORECASE)
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DAY_MONTH = re.compile(r"([0-9]{1,2}) ([a-z]+)|([a-z]+) ([0-9]{1,2})")

_KEYWORDS: dict[str, Term] = {
    "today": DueOn(RelativeDay("today")),
    "tomorrow": DueOn(RelativeDay("tomorrow")),
    "yesterday": DueOn(RelativeDay("yesterday")),
    "overdue": Overdue(),
    "no date": NoDate(),
    "recurring": Recurring(),
    "subtask": Subtask(),
    "no labels": NoLabels(),
    "all": All(),
    "assigned": Assigned(),
}
_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for name in names
}
WEEKDAY_NAMES = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
# Full names and the short forms the backend's due strings take (mon, tue, tues, ...).
_WEEKDAYS = {
    name: number
    for number, names in enumerate(
        [
            ("mon", "monday"),
            ("tue", "tues", "tuesday"),
            ("wed", "wednesday"),
            ("thu", "thur", "thurs", "thursday"),
            ("fri", "friday"),
            ("sat", "saturday"),
            ("sun", "sunday"),
        ]
    )
    for name in names
}
# Sigil -> the term it starts and what the name names (for "expected a project name after '#'").
_NAMED: dict[str, tuple[Callable[[str], Term], str]] = {
    "#": (InProject, "project"),
    "@": (HasLabel, "label"),
    "/": (InSection, "section"),
}
MONTH_ABBR = ["", "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
# Listed in "did you mean" hints for an unknown word.
_SUGGESTIONS = [*_KEYWORDS, "p1", "p2", "p3", "p4", "7 days", "search:", "due before:", "due after:", "assigned to:",
                "assigned by:"]  # fmt: skip


def fold(text: str) -> str:
    """The form names and keywords are compared in: case-folded, runs of whitespace as one space."""
    return " ".join(text.split()).casefold()


@dataclass(frozen=True)
class _Token:
    kind: str  # an operator character, "term", or "end"
    text: str
    position: int


def parse_filter(text: str) -> list[Node]:
    """One expression tree per comma-separated list; raises FilterError for anything malformed."""
    return _Parser(text).parse()


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = [
            _Token(m.group() if m.group() in _OPERATOR_CHARS else "term", m.group().rstrip(), m.start())
            for m in _TOKEN.finditer(text)
        ]
        self.tokens.append(_Token("end", "", len(text)))
        self.index = 0
        self.depth = 0

    def error(self, reason: str, position: int) -> FilterError:
        return FilterError(reason, position, self.text)

    def unexpected(self, token: _Token, *, after_expression: bool = False) -> FilterError:
        # "today (p1)": after a complete expression an operator is missing; the '(' itself is fine.
        if after_expression and token.kind in ("(", "!"):
            return self.error(f"expected '&', '|' or ',' before {token.kind!r}", token.position)
        if token.kind == "end":
            if not self.text.strip():
                return self.error("empty filter", 0)
            return self.error("expected a term, found the end of the filter", token.position)
        if token.kind == "term":  # only reachable after a complete expression, e.g. "(today) p1"
            return self.error(f"expected '&', '|' or ',' before {token.text!r}", token.position)
        return self.error(f"unexpected {token.kind!r}", token.position)

    def peek(self) -> _Token:
        return self.tokens[self.index]

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        if token.kind != "end":  # the end token stays put so peek() is always safe
            self.index += 1
        return token

    def parse(self) -> list[Node]:
        lists = [self.expr()]
        while self.peek().kind == ",":
            self.advance()
            lists.append(self.expr())
        if self.peek().kind != "end":
            raise self.unexpected(self.peek(), after_expression=True)
        return lists

    def expr(self) -> Node:
        parts = [self.conjunction()]
        while self.peek().kind == "|":
            self.advance()
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else Or(tuple(parts))

    def conjunction(self) -> Node:
        parts = [self.unary()]
        while self.peek().kind == "&":
            self.advance()
            parts.append(self.unary())
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def unary(self) -> Node:
        token = self.advance()
        if token.kind == "term":
            return _term(token, self.text)
        if token.kind not in ("!", "("):
            raise self.unexpected(token)
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"nested more than {MAX_DEPTH} deep", token.position)
        try:
            if token.kind == "!":
                return Not(self.unary())
            inner = self.expr()
        finally:
            self.depth -= 1
        closing = self.peek()
        if closing.kind == "end":
            raise self.error("'(' is never closed", token.position)
        if closing.kind != ")":
            raise self.unexpected(closing, after_expression=True)
        self.advance()
        return inner


def _term(token: _Token, text: str) -> Term:
    term = _classify(token.text, token.position, text)
    if term is None:
        raise _unknown_term(token.text, token.position, text)
    return term


def _classify(raw: str, position: int, text: str) -> Term | None:
    """The term ``raw`` spells, None for an unknown word; FilterError for a known form with a bad argument."""
    if raw.startswith("##"):
        return InProject(_name(raw, 2, position, text, "project"), with_subprojects=True)
    if raw[0] in _NAMED:
        make, kind = _NAMED[raw[0]]
        return make(_name(raw, 1, position, text, kind))
    if match := _SEARCH.match(raw):
        needle = raw[match.end() :]
        if not needle:
            raise FilterError("expected text to search for after 'search:'", position + match.end(), text)
        return Search(needle)
    if match := _ASSIGNED.match(raw):
        who = raw[match.end() :].strip()
        if not who:
            raise FilterError(f"expected me, others or a name after {raw[: match.end()].strip()!r}", position, text)
        if match.group(1).casefold() == "to":
            return AssignedTo(who)
        if fold(who) == "others":
            raise FilterError("'assigned by:' takes me or a name", position + match.end(), text)
        return AssignedBy(who)
    if match := _DATE_PREFIX.match(raw):
        day = _day_ref(raw[match.end() :], position + match.end(), text)
        direction = (match.group(1) or "").casefold()
        return DueBefore(day) if direction == "before" else DueAfter(day) if direction == "after" else DueOn(day)
    folded = fold(raw)
    if folded in _KEYWORDS:
        return _KEYWORDS[folded]
    if match := _DAYS.fullmatch(raw):
        days = int(match.group(1))
        if days < 1:
            raise FilterError("a day range needs at least 1 day", position, text)
        return NextDays(days)
    if match := _PRIORITY.fullmatch(raw):
        level = int(match.group(1))
        if not 1 <= level <= 4:
            raise FilterError(f"unknown priority {raw!r} (use p1 to p4)", position, text)
        return PriorityIs(level)
    return None


def _unknown_term(raw: str, position: int, text: str) -> FilterError:
    # "today p1" is one term to the lexer; if a leading part is valid the real mistake is a missing operator.
    for gap in reversed([m.start() for m in re.finditer(r"\s+", raw)]):
        try:
            if _classify(raw[:gap], position, text) is None:
                continue
        except FilterError:
            continue
        rest_start = gap + len(raw[gap:]) - len(raw[gap:].lstrip())
        return FilterError(f"expected '&', '|' or ',' before {raw[rest_start:]!r}", position + rest_start, text)
    hint = difflib.get_close_matches(fold(raw), _SUGGESTIONS, n=1)
    suffix = f" (did you mean {hint[0]!r}?)" if hint else ""
    return FilterError(f"unknown filter term {raw!r}{suffix}", position, text)


def _name(raw: str, skip: int, position: int, text: str, kind: str) -> str:
    name = raw[skip:].strip()
    if not name:
        raise FilterError(f"expected a {kind} name after {raw[:skip]!r}", position + skip, text)
    return name


def _day_ref(raw: str, position: int, text: str) -> DayRef:
    if not raw:
        raise FilterError("expected a date", position, text)
    folded = fold(raw)
    if folded in ("today", "tomorrow", "yesterday"):
        return RelativeDay(folded)
    if _ISO_DAY.fullmatch(raw):
        try:
            return date.fromisoformat(raw)
        except ValueError:
            raise FilterError(f"no such date {raw!r}", position, text) from None
    # Todoist's filters take the date phrases its due strings do; "next <weekday>" is the day "<weekday>" names.
    weekday = _WEEKDAYS.get(folded.removeprefix("next "))
    if weekday is not None:
        return NextWeekday(weekday)
    if match := _DAY_MONTH.fullmatch(folded):
        day_text, month_text = (match.group(1), match.group(2)) if match.group(1) else (match.group(4), match.group(3))
        month = _MONTHS.get(month_text)
        if month is not None:
            day = int(day_text)
            if 1 <= day <= calendar.monthrange(2000, month)[1]:  # 2000 is a leap year, so "feb 29" is allowed
                return MonthDay(month, day)
            raise FilterError(f"no such date {raw!r}", position, text)
    raise FilterError("expected a date like 2026-11-30, today, tomorrow, next monday or jan 5", position, text)
