"""Syntax tree -> canonical filter text."""

from __future__ import annotations

from typing import assert_never

from tools_server.filters.nodes import (
    All,
    And,
    Assigned,
    AssignedBy,
    AssignedTo,
    DayRef,
    DueAfter,
    DueBefore,
    DueOn,
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
from tools_server.filters.parse import MONTH_ABBR, WEEKDAY_NAMES

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
            text, precedence = format_term(node), _TERM
    return f"({text})" if precedence < needed else text


def format_term(term: Term) -> str:
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
        case AssignedTo(who):
            return f"assigned to: {who}"
        case AssignedBy(who):
            return f"assigned by: {who}"
        case Assigned():
            return "assigned"
        case All():
            return "all"
        case _:
            assert_never(term)


def _format_day(day: DayRef) -> str:
    if isinstance(day, RelativeDay):
        return day.name
    if isinstance(day, MonthDay):
        return f"{MONTH_ABBR[day.month]} {day.day}"
    if isinstance(day, NextWeekday):  # "next" says it is never today, which a bare "monday" leaves open
        return f"next {WEEKDAY_NAMES[day.weekday]}"
    return day.isoformat()
