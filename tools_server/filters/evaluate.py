"""Syntax tree + mirror -> matching tasks, for a given today/now."""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import cached_property
from typing import NamedTuple, assert_never

from tools_server.filters.nodes import (
    All,
    And,
    Assigned,
    AssignedBy,
    AssignedTo,
    DueAfter,
    DueBefore,
    DueOn,
    HasLabel,
    InProject,
    InSection,
    NextDays,
    NoDate,
    Node,
    NoLabels,
    Not,
    Or,
    Overdue,
    PriorityIs,
    Recurring,
    Search,
    Subtask,
    Term,
    resolve_day,
)
from tools_server.filters.parse import fold
from tools_server.filters.print import format_term
from tools_server.sync.commands import Due, Item
from tools_server.sync.mirror import Mirror

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
    results: list[list[Item]] = []
    for matched in _matching(nodes, context):
        matched.sort(key=context.order_key)
        results.append(matched)
    return results


class Matches(NamedTuple):
    """The first matches of one comma-separated list, in ``evaluate``'s order, and how many matched in all."""

    first: list[Item]
    total: int


def evaluate_first(
    nodes: list[Node], mirror: Mirror, *, limit: int, today: date, now: datetime | None = None
) -> list[Matches]:
    """``evaluate`` cut to the first ``limit`` of each list, with each list's full count.

    A tool shows at most ``limit`` tasks, so ordering every match (tens of thousands for ``all`` or ``no date`` in a
    big account) is wasted: a bounded heap keeps the first ``limit`` in O(matches * log limit). heapq.nsmallest is
    specified as ``sorted(...)[:limit]`` (ties keep scan order), and the key ends with the unique id anyway, so the
    result is exactly ``evaluate``'s head.
    """
    context = _Context(mirror, today, now)
    return [
        Matches(heapq.nsmallest(limit, matched, key=context.order_key), len(matched))
        for matched in _matching(nodes, context)
    ]


def _matching(nodes: list[Node], context: _Context) -> Iterator[list[Item]]:
    """Each list's matches in mirror order."""
    items = list(context.mirror.items.values())
    for node in nodes:
        predicate = _compile(node, context)
        yield [item for item in items if predicate(item)]


def unknown_names(nodes: list[Node], mirror: Mirror) -> list[str]:
    """Project, section and label terms naming nothing in the mirror, as written (``#Wrok``, ``@errands``), in order.

    Such terms are valid and match nothing; a tool shows these so a typo is not mistaken for "no tasks". A label
    counts as known if the account defines it or any active task carries it (shared labels are missing from
    the account's own label list).
    """
    projects = {fold(p.name) for p in mirror.projects.values()}
    sections = {fold(s.name) for s in mirror.sections.values()}
    labels: set[str] | None = None  # built on first need: it scans every item
    unknown: list[str] = []
    seen: set[str] = set()
    for node in nodes:
        for term in _terms(node):
            match term:
                case InProject(name):
                    missing = fold(name) not in projects
                case InSection(name):
                    missing = fold(name) not in sections
                case AssignedTo(who) | AssignedBy(who) if fold(who) not in ("me", "others"):
                    missing = not any(
                        fold(who) in (fold(c.full_name), fold(c.email)) for c in mirror.collaborators.values()
                    )
                case HasLabel(name):
                    if labels is None:
                        labels = {fold(label.name) for label in mirror.labels.values()}
                        labels.update(fold(have) for item in mirror.items.values() for have in item.labels)
                    missing = fold(name) not in labels
                case _:
                    missing = False
            text = format_term(term)
            if missing and fold(text) not in seen:  # "#Wrok" and "#WROK" are one warning
                seen.add(fold(text))
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
            table.setdefault(fold(project.name), []).append(project.id)
        return table

    @cached_property
    def me(self) -> str | None:
        """The user's id: what "assigned to: me" compares with."""
        user = self.mirror.user
        return user.id if user is not None and user.id else None

    def people(self, who: str) -> frozenset[str]:
        """The ids of the collaborators with this name or email (case-insensitive)."""
        wanted = fold(who)
        return frozenset(
            c.id for c in self.mirror.collaborators.values() if wanted in (fold(c.full_name), fold(c.email))
        )

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
            table.setdefault(fold(section.name), []).append(section.id)
        return table

    def project_ids(self, name: str, with_subprojects: bool) -> frozenset[str]:
        found = set(self.projects_by_name.get(fold(name), ()))
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
            folded = self._labels[name] = fold(name)
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
            target = resolve_day(ref, today)
            return lambda item: due(item)[0] == target
        case DueBefore(ref):
            target = resolve_day(ref, today)
            return lambda item: (day := due(item)[0]) is not None and day < target
        case DueAfter(ref):
            target = resolve_day(ref, today)
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
            sections = frozenset(context.sections_by_name.get(fold(name), ()))
            return lambda item: item.section_id is not None and item.section_id in sections
        case HasLabel(name):
            wanted, label = fold(name), context.label
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
        case Assigned():
            return lambda item: item.responsible_uid is not None
        case AssignedTo(who):
            me = context.me
            if fold(who) == "me":
                return lambda item: me is not None and item.responsible_uid == me
            if fold(who) == "others":
                return lambda item: item.responsible_uid is not None and item.responsible_uid != me
            people = context.people(who)
            return lambda item: item.responsible_uid in people
        case AssignedBy(who):
            people = frozenset({context.me} if fold(who) == "me" and context.me else context.people(who))
            return lambda item: item.assigned_by_uid in people
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
