"""find_items' flow against the full sort it replaced: same text, same lists, same counts on random accounts."""

from __future__ import annotations

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tests.filters.test_filters import NOW, depth, random_mirrors, trees
from tools_server.cursors import brief, task_line
from tools_server.filters import evaluate, format_filter, parse_filter
from tools_server.filters.nodes import MAX_DEPTH, Node
from tools_server.flows import search_open_tasks
from tools_server.sync.mirror import Mirror


def sorted_then_cut(mirror: Mirror, text: str, limit: int) -> tuple[list[str], list[tuple[list[str], int]]]:
    """The lines and (shown ids, more) per list as find_items built them by sorting every match (UTC user)."""
    nodes = parse_filter(text)
    found = evaluate(nodes, mirror, today=NOW.date(), now=NOW)
    parts = [p.strip() for p in text.split(",")] if len(nodes) > 1 else [text.strip()]
    if len(parts) != len(nodes):
        parts = [f"list {i + 1}" for i in range(len(nodes))]
    lines: list[str] = []
    lists: list[tuple[list[str], int]] = []
    for name, items in zip(parts, found, strict=True):
        shown = items[:limit]
        lists.append(([brief(i, "UTC").id for i in shown], len(items) - len(shown)))
        lines.append(f"{name}: {len(items)} task(s)" if len(nodes) > 1 else f"{len(items)} task(s) match '{name}'")
        lines += [task_line(i, mirror) for i in shown]
        if len(items) > len(shown):
            lines.append(f"+{len(items) - len(shown)} more (raise limit)")
    return lines, lists


# 50 accounts: each is up to 40 tasks with heavy ties, and the fast lane has a time budget.
@settings(max_examples=50)
@given(random_mirrors(), st.lists(trees, min_size=1, max_size=3), st.integers(1, 12))
def test_find_shows_the_same_first_tasks_and_counts_as_sorting_every_match(
    mirror: Mirror, nodes: list[Node], limit: int
) -> None:
    assume(all(depth(n) < MAX_DEPTH for n in nodes))
    text = format_filter(nodes)
    shown, result = search_open_tasks(mirror, text, limit, NOW)
    lines, lists = sorted_then_cut(mirror, text, limit)
    assert shown.splitlines()[: len(lines)] == lines  # then only the unknown-names note, unchanged
    assert [([t.id for t in found.tasks], found.more) for found in result.lists] == lists
