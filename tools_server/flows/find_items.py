"""find_items: a Todoist filter, or a saved filter by name, evaluated over the session mirror, as compact one-line
tasks (pure)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from tools_server.cursors import TaskBrief, brief, task_line
from tools_server.dues import zone
from tools_server.filters import FilterError, evaluate_first, parse_filter, unknown_names
from tools_server.sync.mirror import Mirror
from tools_server.user import timezone_of


class FoundList(BaseModel):
    filter: str
    tasks: list[TaskBrief]
    more: int = 0


class FindResult(BaseModel):
    lists: list[FoundList]
    unknown: list[str] | None = None
    saved_filter: str | None = None  # the saved filter run by name (its query is what was evaluated)


def search_open_tasks(mirror: Mirror, text: str, limit: int, now: datetime) -> tuple[str, FindResult]:
    """Raises FilterError (a ValueError naming the position) for a malformed filter.

    Text that is a saved filter's name runs that filter's query: the name wins over reading the text as a query
    (a filter named "Today" is what its owner means by "today"), and the result says which was run."""
    saved = sorted(mirror.find_filters(text.strip()), key=lambda f: (f.item_order, f.id))
    if not saved:
        return _search(mirror, text, limit, now)
    run = saved[0]
    try:
        found, result = _search(mirror, run.query, limit, now)
    except FilterError as exc:
        raise FilterError(f"saved filter '{run.name}': {exc.reason}", exc.position, exc.text) from exc
    result.saved_filter = run.name
    head = f"Saved filter '{run.name}' ({run.id}): {run.query}"
    if len(saved) > 1:
        head += f" (also named so: {', '.join(f.id for f in saved[1:])}; pass an id)"
    return f"{head}\n{found}", result


def _search(mirror: Mirror, text: str, limit: int, now: datetime) -> tuple[str, FindResult]:
    nodes = parse_filter(text)
    zone_name = timezone_of(mirror)
    local_now = now.astimezone(zone(zone_name))
    found = evaluate_first(nodes, mirror, limit=limit, today=local_now.date(), now=local_now)
    parts = [p.strip() for p in text.split(",")] if len(nodes) > 1 else [text.strip()]
    if len(parts) != len(nodes):  # a comma inside a search term: label lists by position instead
        parts = [f"list {i + 1}" for i in range(len(nodes))]
    lists: list[FoundList] = []
    lines: list[str] = []
    for name, (shown, count) in zip(parts, found, strict=True):
        lists.append(FoundList(filter=name, tasks=[brief(i, zone_name) for i in shown], more=count - len(shown)))
        header = f"{name}: {count} task(s)" if len(nodes) > 1 else f"{count} task(s) match '{name}'"
        lines.append(header)
        lines += [task_line(i, mirror) for i in shown]
        if count > len(shown):
            lines.append(f"+{count - len(shown)} more (raise limit)")
    unknown = unknown_names(nodes, mirror)
    if unknown:
        lines.append("Note: no such " + ", ".join(unknown) + " in this account (matched nothing).")
    return "\n".join(lines), FindResult(lists=lists, unknown=unknown or None)
