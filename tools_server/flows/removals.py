"""How many tasks a deletion removes, read fresh: the open ones are in the mirror (refreshed first), the completed
ones are not (a full sync leaves completed tasks out), so they are read from the completed-tasks REST read of each
project involved, since the oldest thing that goes was added, and counted by their parent, section and project."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from tools_server.flows.find_completed import MAX_PAGES, PAGE_SIZE, fetch, windows
from tools_server.plans import state_of
from tools_server.sync.client import SyncClient
from tools_server.sync.mirror import Mirror

_UTC = ZoneInfo("UTC")


@dataclass(frozen=True)
class Doomed:
    """What a write deletes: tasks (their subtasks go with them), projects (sub-projects included) and sections."""

    tasks: Collection[str] = ()
    projects: Collection[str] = ()
    sections: Collection[str] = ()
    ours: Collection[str] = ()  # an undo: tasks its write made, which are not someone else's

    def __bool__(self) -> bool:
        return bool(self.tasks or self.projects or self.sections)


def _added(stamp: str | None, now: datetime) -> datetime:
    if not stamp:
        return now
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return now
    return min(now, moment if moment.tzinfo else moment.replace(tzinfo=UTC))


async def completed_going(client: SyncClient, mirror: Mirror, doomed: Doomed, now: datetime) -> int:
    """The completed tasks that go with what ``doomed`` names, not counted already (the open tasks are): those in a
    deleted project or section, and those whose parent goes, at any depth."""
    going: set[str] = set()
    since: dict[str, datetime] = {}  # project -> the earliest that something in it that goes was added

    def read(project_id: str, added: datetime) -> None:
        since[project_id] = min(since.get(project_id, added), added)

    for root in doomed.tasks:
        item = state_of(mirror, root)
        if item is not None:
            tree = [root, *mirror.descendants(root)]
            going.update(tree)
            read(item.project_id, min(_added(t.added_at if (t := state_of(mirror, i)) else None, now) for i in tree))
    for project_id in doomed.projects:
        project = mirror.projects.get(project_id) or mirror.archived_projects.get(project_id)
        read(project_id, _added(project.created_at if project is not None else None, now))
    for section_id in doomed.sections:
        section = mirror.sections.get(section_id) or mirror.archived_sections.get(section_id)
        if section is not None:
            read(section.project_id, _added(section.added_at, now))
    children: dict[str, list[str]] = {}
    extra: set[str] = set()
    for project_id, first in since.items():
        spans = windows(first.astimezone(UTC).date(), now.astimezone(UTC).date(), "completion", _UTC)
        found = await fetch(client, spans, "completion", project_id, None, MAX_PAGES * PAGE_SIZE)
        for task in found.tasks:
            if task.id in going or task.id in doomed.ours:
                continue
            in_section = task.section_id is not None and task.section_id in doomed.sections
            if task.project_id in doomed.projects or in_section:
                extra.add(task.id)
            elif task.parent_id is not None:
                children.setdefault(task.parent_id, []).append(task.id)
    stack = [*going, *extra]
    while stack:
        for child in children.get(stack.pop(), ()):
            if child not in going and child not in extra and child not in doomed.ours:
                extra.add(child)
                stack.append(child)
    return len(extra)
