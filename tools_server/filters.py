"""Todoist's filter language (``today | overdue``, ``##Work & !subtask``, ``search: milk``) answered from the Mirror.

Pure: parsing needs only the filter text and evaluation only the mirror plus the caller's ``today``/``now``, so a tool
can answer a filter query without a round trip and a parsed filter can be reused on later days.

Grammar (whitespace-insensitive, keywords case-insensitive)::

    filter   := expr (',' expr)*          each comma-separated expression is its own list, as Todoist shows them
    expr     := and ('|' and)*
    and      := unary ('&' unary)*
    unary    := '!' unary | '(' expr ')' | term

A term is the text between two operators, so names may contain spaces (``#Work Stuff``). Terms:

* ``today``, ``tomorrow``, ``yesterday``, ``date: <day>``: due on that day (a timed due counts on its day);
* ``overdue``: due before today, or timed earlier than ``now`` when ``now`` is given;
* ``no date``, ``recurring``, ``subtask``, ``no labels``, ``all``;
* ``p1``..``p4``: priority, ``p1`` being the API's priority 4;
* ``N days`` / ``next N days``: due from today to today + N - 1 (``7 days`` covers a week including today);
* ``due before: <day>`` / ``due after: <day>`` (``date before:``/``date after:`` too): strictly before/after that day;
* ``#Project`` (that project only), ``##Project`` (and all its subprojects), ``/Section`` (sections of that name in
  any project), ``@label``; names match case-insensitively and a name that exists nowhere matches nothing
  (``unknown_names`` lists those so a tool can warn);
* ``search: text``: case-insensitive substring of the task's content.

``<day>`` is ``YYYY-MM-DD``, ``today``, ``tomorrow``, ``yesterday``, or a month and day (``jan 5``, ``5 january``) in
the current year. Anything else is a ``FilterError`` pointing at the offending character.
"""

from __future__ import annotations

import calendar
import difflib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import cached_property
from typing import Literal, TypeAlias, assert_never

from tools_server.mirror import Mirror
from tools_server.models import Due, Item

__all__ = [
    "All",
    "And",
    "DayRef",
    "DueAfter",
    "DueBefore",
    "DueOn",
    "FilterError",
    "HasLabel",
    "InProject",
    "InSection",
    "MonthDay",
    "NextDays",
    "NoDate",
    "NoLabels",
    "Node",
    "Not",
    "Or",
    "Overdue",
    "PriorityIs",
    "Recurring",
    "RelativeDay",
    "Search",
    "Subtask",
    "evaluate",
    "format_filter",
    "format_node",
    "parse_filter",
    "unknown_names",
]

# Parentheses and '!' nest recursively in the parser, printer and evaluator; a cap turns a pathological filter into a
# FilterError instead of a RecursionError somewhere in the server.
MAX_DEPTH = 64


class FilterError(ValueError):
    """A malformed filter; ``position`` is the 0-based character offset of the problem in ``text``."""

    def __init__(self, reason: str, position: int, text: str) -> None:
        self.reason = reason
        self.position = position
        self.text = text
        # Each whitespace character becomes one space so the caret under the quoted filter stays aligned.
        shown = re.sub(r"\s", " ", text)
        head = f"{reason} at position {position}: '"
        super().__init__(f"{head}{shown}'\n{' ' * (len(head) + position)}^")


# ---------------------------------------------------------------------------------------------------------------------
# Days named in a filter. Relative and month-day forms stay unresolved until evaluation so "today" means the day the
# filter is evaluated, not the day it was parsed.


@dataclass(frozen=True)
class RelativeDay:
    name: Literal["yesterday", "today", "tomorrow"]

    @property
    def offset(self) -> int:
        return {"yesterday": -1, "today": 0, "tomorrow": 1}[self.name]


@dataclass(frozen=True)
class MonthDay:
    """A month and day in the evaluation's current year (Feb 29 becomes Feb 28 outside leap years)."""

    month: int
    day: int


DayRef: TypeAlias = date | RelativeDay | MonthDay


def _resolve(ref: DayRef, today: date) -> date:
    if isinstance(ref, RelativeDay):
        return today + timedelta(days=ref.offset)
    if isinstance(ref, MonthDay):
        return date(today.year, ref.month, min(ref.day, calendar.monthrange(today.year, ref.month)[1]))
    return ref


# ---------------------------------------------------------------------------------------------------------------------
# Nodes. And/Or are n-ary (a chain of one operator is one node, so a long "a | b | c ..." never nests deeply); the
# parser keeps a parenthesised group as its own child, so printing and re-parsing gives back the same tree.


@dataclass(frozen=True)
class And:
    parts: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    parts: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class DueOn:
    day: DayRef


@dataclass(frozen=True)
class DueBefore:
    day: DayRef


@dataclass(frozen=True)
class DueAfter:
    day: DayRef


@dataclass(frozen=True)
class Overdue:
    pass


@dataclass(frozen=True)
class NoDate:
    pass


@dataclass(frozen=True)
class NextDays:
    days: int


@dataclass(frozen=True)
class Recurring:
    pass


@dataclass(frozen=True)
class PriorityIs:
    """``p<level>`` as the user writes it: level 1 is the API's priority 4."""

    level: int


@dataclass(frozen=True)
class InProject:
    name: str
    with_subprojects: bool = False


@dataclass(frozen=True)
class InSection:
    name: str


@dataclass(frozen=True)
class HasLabel:
    name: str


@dataclass(frozen=True)
class NoLabels:
    pass


@dataclass(frozen=True)
class Search:
    text: str


@dataclass(frozen=True)
class Subtask:
    pass


@dataclass(frozen=True)
class All:
    pass


Term: TypeAlias = (
    DueOn
    | DueBefore
    | DueAfter
    | Overdue
    | NoDate
    | NextDays
    | Recurring
    | PriorityIs
    | InProject
    | InSection
    | HasLabel
    | NoLabels
    | Search
    | Subtask
    | All
)
Node: TypeAlias = And | Or | Not | Term


# ---------------------------------------------------------------------------------------------------------------------
# Parsing

_OPERATOR_CHARS = "&|!(),"
# An operator, or a term: everything up to the next operator (names and search text may contain spaces).
_TOKEN = re.compile(r"[&|!(),]|[^&|!(),\s][^&|!(),]*")
_SEARCH = re.compile(r"search\s*:\s*", re.IGNORECASE)
_DATE_PREFIX = re.compile(r"(?:due|date)(?:\s+(before|after))?\s*:\s*", re.IGNORECASE)
_DAYS = re.compile(r"(?:next\s+)?([0-9]{1,4})\s+days?", re.IGNORECASE)
_PRIORITY = re.compile(r"p([0-9]+)", re.IGNORECASE)
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
# Sigil -> the term it starts and what the name names (for "expected a project name after '#'").
_NAMED: dict[str, tuple[Callable[[str], Term], str]] = {
    "#": (InProject, "project"),
    "@": (HasLabel, "label"),
    "/": (InSection, "section"),
}
_MONTH_ABBR = ["", "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
# Listed in "did you mean" hints for an unknown word.
_SUGGESTIONS = [*_KEYWORDS, "p1", "p2", "p3", "p4", "7 days", "search:", "due before:", "due after:"]


def _fold(text: str) -> str:
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
    if match := _DATE_PREFIX.match(raw):
        day = _day_ref(raw[match.end() :], position + match.end(), text)
        direction = (match.group(1) or "").casefold()
        return DueBefore(day) if direction == "before" else DueAfter(day) if direction == "after" else DueOn(day)
    folded = _fold(raw)
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
    hint = difflib.get_close_matches(_fold(raw), _SUGGESTIONS, n=1)
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
    folded = _fold(raw)
    if folded in ("today", "tomorrow", "yesterday"):
        return RelativeDay(folded)
    if _ISO_DAY.fullmatch(raw):
        try:
            return date.fromisoformat(raw)
        except ValueError:
            raise FilterError(f"no such date {raw!r}", position, text) from None
    if match := _DAY_MONTH.fullmatch(folded):
        day_text, month_text = (match.group(1), match.group(2)) if match.group(1) else (match.group(4), match.group(3))
        month = _MONTHS.get(month_text)
        if month is not None:
            day = int(day_text)
            if 1 <= day <= calendar.monthrange(2000, month)[1]:  # 2000 is a leap year, so "feb 29" is allowed
                return MonthDay(month, day)
            raise FilterError(f"no such date {raw!r}", position, text)
    raise FilterError("expected a date like 2026-11-30, today, tomorrow or jan 5", position, text)


# ---------------------------------------------------------------------------------------------------------------------
# Printing: the canonical text of a tree. Parentheses are added exactly where a child would otherwise merge into its
# parent, so parse_filter(format_filter(nodes)) == nodes for every tree the parser can produce.

_OR, _AND, _NOT, _TERM = 1, 2, 3, 4


def format_filter(nodes: list[Node]) -> str:
    return ", ".join(format_node(node) for node in nodes)


def format_node(node: Node) -> str:
    return _format(node, _OR)


def _format(node: Node, needed: int) -> str:
    match node:
        case And(parts) | Or(parts) if len(parts) == 1:
            return _format(parts[0], needed)  # the parser never builds these, but a caller might
        case Or(parts):
            text, precedence = (" | ".join(_format(p, _AND) for p in parts) if parts else "!all"), _OR
        case And(parts):
            text, precedence = (" & ".join(_format(p, _NOT) for p in parts) if parts else "all"), _AND
        case Not(operand):
            text, precedence = "!" + _format(operand, _NOT), _NOT
        case _:
            text, precedence = _format_term(node), _TERM
    return f"({text})" if precedence < needed else text


def _format_term(term: Term) -> str:
    match term:
        case DueOn(RelativeDay(name)):
            return name
        case DueOn(day):
            return f"date: {_format_day(day)}"
        case DueBefore(day):
            return f"due before: {_format_day(day)}"
        case DueAfter(day):
            return f"due after: {_format_day(day)}"
        case Overdue():
            return "overdue"
        case NoDate():
            return "no date"
        case NextDays(days):
            return "1 day" if days == 1 else f"{days} days"
        case Recurring():
            return "recurring"
        case PriorityIs(level):
            return f"p{level}"
        case InProject(name, with_subprojects):
            return ("##" if with_subprojects else "#") + name
        case InSection(name):
            return "/" + name
        case HasLabel(name):
            return "@" + name
        case NoLabels():
            return "no labels"
        case Search(text):
            return f"search: {text}"
        case Subtask():
            return "subtask"
        case All():
            return "all"
        case _:
            assert_never(term)


def _format_day(day: DayRef) -> str:
    if isinstance(day, RelativeDay):
        return day.name
    if isinstance(day, MonthDay):
        return f"{_MONTH_ABBR[day.month]} {day.day}"
    return day.isoformat()


# ---------------------------------------------------------------------------------------------------------------------
# Evaluation

Predicate = Callable[[Item], bool]
_DueInfo = tuple[date | None, datetime | None]  # (day, wall-clock time for timed dues)
_NO_DUE: _DueInfo = (None, None)
_UNDATED = datetime.min  # sort placeholder for tasks without a (readable) due; they sort after all dated ones


def evaluate(nodes: list[Node], mirror: Mirror, *, today: date, now: datetime | None = None) -> list[list[Item]]:
    """For each comma-separated list, the matching active items.

    Order: by due day (undated last), all-day before timed on the same day and timed by time, then priority (p1
    first), then id - deterministic whatever order the mirror holds items in.

    ``now`` should be in the user's timezone: floating due times are compared with its wall clock and UTC ones are
    converted to its zone (to UTC when ``now`` is naive or None). Without ``now`` only due days count for ``overdue``.
    A due date that does not parse matches no date term (but is not ``no date``: the task has a due).
    """
    context = _Context(mirror, today, now)
    items = list(mirror.items.values())
    results: list[list[Item]] = []
    for node in nodes:
        predicate = _compile(node, context)
        matched = [item for item in items if predicate(item)]
        matched.sort(key=context.order_key)
        results.append(matched)
    return results


def unknown_names(nodes: list[Node], mirror: Mirror) -> list[str]:
    """Project, section and label terms naming nothing in the mirror, as written (``#Wrok``, ``@errands``), in order.

    Such terms are valid and match nothing; a tool shows these so a typo is not mistaken for "no tasks". A label
    counts as known if the account defines it or any active task carries it (shared labels are missing from
    the account's own label list).
    """
    projects = {_fold(p.name) for p in mirror.projects.values()}
    sections = {_fold(s.name) for s in mirror.sections.values()}
    labels: set[str] | None = None  # built on first need: it scans every item
    unknown: list[str] = []
    seen: set[str] = set()
    for node in nodes:
        for term in _terms(node):
            match term:
                case InProject(name):
                    missing = _fold(name) not in projects
                case InSection(name):
                    missing = _fold(name) not in sections
                case HasLabel(name):
                    if labels is None:
                        labels = {_fold(label.name) for label in mirror.labels.values()}
                        labels.update(_fold(have) for item in mirror.items.values() for have in item.labels)
                    missing = _fold(name) not in labels
                case _:
                    missing = False
            text = _format_term(term)
            if missing and _fold(text) not in seen:  # "#Wrok" and "#WROK" are one warning
                seen.add(_fold(text))
                unknown.append(text)
    return unknown


def _terms(node: Node) -> Iterator[Term]:
    match node:
        case And(parts) | Or(parts):
            for part in parts:
                yield from _terms(part)
        case Not(operand):
            yield from _terms(operand)
        case _:
            yield node


class _Context:
    """Look-ups shared by every term of one evaluate call, each built at most once and only if a term needs it."""

    def __init__(self, mirror: Mirror, today: date, now: datetime | None) -> None:
        self.mirror = mirror
        self.today = today
        self.now = None if now is None else now.replace(tzinfo=None)
        self.zone: tzinfo = now.tzinfo if now is not None and now.tzinfo is not None else UTC
        self._dues: dict[str, _DueInfo] = {}  # keyed by the due's date string: many tasks share a day
        self._labels: dict[str, str] = {}
        self._sort_moments: dict[str, datetime] = {}  # due date string -> when it sorts (all-day: start of day)

    @cached_property
    def projects_by_name(self) -> dict[str, list[str]]:
        # A list: Todoist allows two projects with the same name, and "#Name" means both.
        table: dict[str, list[str]] = {}
        for project in self.mirror.projects.values():
            table.setdefault(_fold(project.name), []).append(project.id)
        return table

    @cached_property
    def subprojects(self) -> dict[str, list[str]]:
        children: dict[str, list[str]] = {}
        for project in self.mirror.projects.values():
            if project.parent_id is not None:
                children.setdefault(project.parent_id, []).append(project.id)
        return children

    @cached_property
    def sections_by_name(self) -> dict[str, list[str]]:
        table: dict[str, list[str]] = {}
        for section in self.mirror.sections.values():
            table.setdefault(_fold(section.name), []).append(section.id)
        return table

    def project_ids(self, name: str, with_subprojects: bool) -> frozenset[str]:
        found = set(self.projects_by_name.get(_fold(name), ()))
        stack = list(found) if with_subprojects else []
        while stack:
            for child in self.subprojects.get(stack.pop(), ()):
                if child not in found:  # a parent cycle in bad data must not loop forever
                    found.add(child)
                    stack.append(child)
        return frozenset(found)

    def label(self, name: str) -> str:
        folded = self._labels.get(name)
        if folded is None:
            folded = self._labels[name] = _fold(name)
        return folded

    def due(self, item: Item) -> _DueInfo:
        if item.due is None:
            return _NO_DUE
        info = self._dues.get(item.due.date)
        if info is None:
            info = self._dues[item.due.date] = self._parse_due(item.due)
        return info

    def _parse_due(self, due: Due) -> _DueInfo:
        try:
            if "T" not in due.date:
                return date.fromisoformat(due.date), None
            moment = datetime.fromisoformat(due.date)
            if moment.tzinfo is not None:
                moment = moment.astimezone(self.zone).replace(tzinfo=None)
        except (ValueError, OverflowError):  # garbage, or a year-1 time shifted out of range: treat as unreadable
            return _NO_DUE
        return moment.date(), moment

    def order_key(self, item: Item) -> tuple[bool, datetime, int, str]:
        if item.due is not None:
            moment = self._sort_moments.get(item.due.date)
            if moment is None:
                day, timed = self.due(item)
                moment = self._sort_moments[item.due.date] = (
                    _UNDATED if day is None else timed or datetime.combine(day, time.min)
                )
            if moment is not _UNDATED:  # identity: a real due at datetime.min is a different object
                return (False, moment, -item.priority, item.id)
        return (True, _UNDATED, -item.priority, item.id)


def _compile(node: Node, context: _Context) -> Predicate:
    """A predicate for one tree: closures over precomputed look-ups, so per-item work is a few comparisons."""
    match node:
        case And(parts):
            return _every([_compile(p, context) for p in parts])
        case Or(parts):
            return _some([_compile(p, context) for p in parts])
        case Not(operand):
            inner = _compile(operand, context)
            return lambda item: not inner(item)
        case _:
            return _compile_term(node, context)


def _every(predicates: list[Predicate]) -> Predicate:
    if len(predicates) == 2:  # the common case: one short-circuiting expression, no loop
        first, second = predicates
        return lambda item: first(item) and second(item)

    # A plain loop, not all() over a generator: the generator costs more than the comparisons it runs.
    def every(item: Item) -> bool:
        for predicate in predicates:  # noqa: SIM110 - see above
            if not predicate(item):
                return False
        return True

    return every


def _some(predicates: list[Predicate]) -> Predicate:
    if len(predicates) == 2:
        first, second = predicates
        return lambda item: first(item) or second(item)

    def some(item: Item) -> bool:
        for predicate in predicates:  # noqa: SIM110 - see above
            if predicate(item):
                return True
        return False

    return some


def _compile_term(term: Term, context: _Context) -> Predicate:
    due, today = context.due, context.today
    match term:
        case DueOn(ref):
            target = _resolve(ref, today)
            return lambda item: due(item)[0] == target
        case DueBefore(ref):
            target = _resolve(ref, today)
            return lambda item: (day := due(item)[0]) is not None and day < target
        case DueAfter(ref):
            target = _resolve(ref, today)
            return lambda item: (day := due(item)[0]) is not None and day > target
        case Overdue():
            return _overdue(context)
        case NoDate():
            return lambda item: item.due is None
        case NextDays(days):
            try:
                last = today + timedelta(days=days - 1)
            except OverflowError:
                last = date.max
            return lambda item: (day := due(item)[0]) is not None and today <= day <= last
        case Recurring():
            return lambda item: item.due is not None and item.due.is_recurring
        case PriorityIs(level):
            priority = 5 - level
            return lambda item: item.priority == priority
        case InProject(name, with_subprojects):
            projects = context.project_ids(name, with_subprojects)
            return lambda item: item.project_id in projects
        case InSection(name):
            sections = frozenset(context.sections_by_name.get(_fold(name), ()))
            return lambda item: item.section_id is not None and item.section_id in sections
        case HasLabel(name):
            wanted, label = _fold(name), context.label
            return lambda item: any(label(have) == wanted for have in item.labels)
        case NoLabels():
            return lambda item: not item.labels
        case Search(text):
            needle = text.casefold()
            return lambda item: needle in item.content.casefold()
        case Subtask():
            return lambda item: item.parent_id is not None
        case All():
            return lambda item: True
        case _:
            assert_never(term)


def _overdue(context: _Context) -> Predicate:
    due, today, now = context.due, context.today, context.now

    def overdue(item: Item) -> bool:
        day, moment = due(item)
        if day is None:
            return False
        # An all-day task is overdue from the next day; a timed one as soon as its time has passed.
        return day < today or (moment is not None and now is not None and moment < now)

    return overdue
