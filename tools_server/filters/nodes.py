"""The filter language's syntax tree: days, terms and operators, and the error a malformed filter raises."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal, TypeAlias

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


@dataclass(frozen=True)
class NextWeekday:
    """``monday`` or ``next monday``: the next such day strictly after the evaluation's today (a week away on a
    Monday), the day the backend gives a task added with either due string. ``weekday``: 0 is Monday."""

    weekday: int


DayRef: TypeAlias = date | RelativeDay | MonthDay | NextWeekday


def resolve_day(ref: DayRef, today: date) -> date:
    if isinstance(ref, RelativeDay):
        return today + timedelta(days=ref.offset)
    if isinstance(ref, NextWeekday):
        return today + timedelta(days=(ref.weekday - today.weekday() - 1) % 7 + 1)
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


@dataclass(frozen=True)
class AssignedTo:
    who: str  # "me", "others", or a collaborator's name or email


@dataclass(frozen=True)
class AssignedBy:
    who: str  # "me", or a collaborator's name or email


@dataclass(frozen=True)
class Assigned:
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
    | AssignedTo
    | AssignedBy
    | Assigned
)
Node: TypeAlias = And | Or | Not | Term
