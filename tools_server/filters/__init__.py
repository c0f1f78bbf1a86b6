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
* ``p1``..``p4`` (or ``priority 1``..``priority 4``): priority, ``p1`` being the API's priority 4;
* ``N days`` / ``next N days``: due from today to today + N - 1 (``7 days`` covers a week including today);
* ``due before: <day>`` / ``due after: <day>`` (``date before:``/``date after:`` too): strictly before/after that day;
* ``#Project`` (that project only), ``##Project`` (and all its subprojects), ``/Section`` (sections of that name in
  any project), ``@label``; names match case-insensitively and a name that exists nowhere matches nothing
  (``unknown_names`` lists those so a tool can warn);
* ``search: text``: case-insensitive substring of the task's content.
* ``assigned to: me|others|<name or email>``, ``assigned by: me|<name or email>``, ``assigned`` (``!assigned``: not
  assigned): the task's ``responsible_uid`` / ``assigned_by_uid`` against the user and the mirrored collaborators;
  a name no collaborator has matches nothing and is listed by ``unknown_names``.

``<day>`` is ``YYYY-MM-DD``, ``today``, ``tomorrow``, ``yesterday``, a month and day (``jan 5``, ``5 january``) in
the current year, or a weekday (``monday``, ``next monday``, ``fri``): the next such day after today, never today.
Anything else is a ``FilterError`` pointing at the offending character.
"""

from tools_server.filters.evaluate import Matches, evaluate, evaluate_first, unknown_names
from tools_server.filters.nodes import FilterError, Node
from tools_server.filters.parse import parse_filter
from tools_server.filters.print import format_filter, format_node

__all__ = [
    "FilterError",
    "Matches",
    "Node",
    "evaluate",
    "evaluate_first",
    "format_filter",
    "format_node",
    "parse_filter",
    "unknown_names",
]
