"""How many tasks a deletion removes, read fresh: the open ones are in the mirror (refreshed first), the completed
subtasks are not (a full sync leaves completed tasks out), so they are read from the completed-tasks REST read of
each project involved, since the oldest listed task was added, and counted by their parent links."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from tools_server.flows.find_completed import MAX_PAGES, PAGE_SIZE, fetch, windows
from tools_server.plans import state_of
from tools_server.sync.client import SyncClient
from tools_server.sync.mirror import Mirror


_UTC = ZoneInfo("UTC")


def _added(stamp: str | None, now: datetime) -> datetime:
    if not stamp:
        return now
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return now
    return min(now, moment if moment.tzinfo else moment.replace(tzinfo=UTC))


async def completed_going(client: SyncClient, mirror: Mirror, roots: Collection[str], now: datetime) -> int:
    """The completed tasks that go when ``roots`` (and the open subtasks the mirror holds) are deleted, not counted
    already: those whose parent goes, at any depth."""
    going: set[str] = set()
    since: dict[str, datetime] = {}  # project -> the earliest a task in it that goes was added
    for root in roots:
        item = state_of(mirror, root)
        if item is None:
            continue
        tree = [root, *mirror.descendants(root)]
        going.update(tree)
        added = min(_added(t.added_at if (t := state_of(mirror, i)) else None, now) for i in tree)
        since[item.project_id] = min(since.get(item.project_id, added), added)
    if not since:
        return 0
    children: dict[str, list[str]] = {}
    for project_id, first in since.items():
        spans = windows(first.astimezone(UTC).date(), now.astimezone(UTC).date(), "completion", _UTC)
        found = await fetch(client, spans, "completion", project_id, None, MAX_PAGES * PAGE_SIZE)
        for task in found.tasks:
            if task.parent_id is not None:
                children.setdefault(task.parent_id, []).append(task.id)
    extra: set[str] = set()
    stack = list(going)
    while stack:
        for child in children.get(stack.pop(), ()):
            if child not in going and child not in extra:
                extra.add(child)
                stack.append(child)
    return len(extra)
