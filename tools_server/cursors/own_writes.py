"""Pure: a session's own writes count as seen in the cursors it opened, so query_changes lists only changes made
elsewhere.

What a command changed is read from its declaration: the ids it touches, whether those are tasks (with their
subtasks) or other objects, and the tasks it cascades to, found through its resource type's declaration.

Found once per call, from the mirror just before the call sends (``own_writes_ahead``: the subtasks and cascaded tasks a
completion or a delete takes out of the mirror) and just after (``own_writes``); then each cursor the session
opened marks those ids (``mark_own_writes``). The cost is the size of the change, not of what each cursor has seen.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tools_server.cursors.seen_resources import SeenObjects
from tools_server.cursors.view import View
from tools_server.sync.commands import Command, Item, facts_of, target_of, touched_ids
from tools_server.sync.mirror import Mirror
from tools_server.sync.resource_types import RESOURCE_TYPES, ResourceType
from tools_server.sync.send import Outcome

Cascade = tuple[str, str]  # (resource type, target) of a command that cascades to tasks


@dataclass
class Ahead:
    """What the mirror held, before a call sent its commands, of what they are about to change."""

    ids: set[str] = field(default_factory=set[str])
    # Targets the mirror held then: the others (a batch resent after its first attempt got through) are looked up
    # in what each cursor saw, as before there was an ``Ahead``.
    known: set[str] = field(default_factory=set[str])


@dataclass
class OwnWrites:
    """The ids one call's commands changed, and what only each cursor's own sightings can resolve."""

    ids: set[str] = field(default_factory=set[str])  # tasks
    # Other objects (projects, sections, labels, comments, ...), apart from tasks so that a 100-task write does not
    # look up 100 task ids in every object table of every cursor.
    objects: set[str] = field(default_factory=set[str])
    gone: list[str] = field(default_factory=list[str])  # tasks that left unseen by the mirror: subtasks as seen
    cascades: list[Cascade] = field(default_factory=list[Cascade])  # targets the mirror did not hold before


def own_writes_ahead(mirror: Mirror, commands: Sequence[Command]) -> Ahead:
    """The tasks below each task the commands name, and the tasks in each object they cascade to, as they are now:
    a completion or a delete takes them out of the mirror, so after the call only this says which they were."""
    found = Ahead()
    cascades: list[Cascade] = []
    for command in commands:
        facts = facts_of(command)
        if command.temp_id is not None or facts.own_write == "none":
            continue
        if facts.own_write == "objects":
            target = target_of(command)
            if target is not None and facts.cascades_to is not None:
                table: Mapping[str, Any] = getattr(mirror, RESOURCE_TYPES[facts.on].table)
                if target in table:
                    cascades.append((facts.on, target))
                    found.known.add(target)
            continue
        for target in touched_ids(command):
            if target in mirror.items:
                found.known.add(target)
                found.ids.add(target)
                found.ids.update(mirror.descendants(target))
    if cascades:
        found.ids |= cascaded_tasks(cascades, (mirror.items,), mirror)
    return found


def own_writes(mirror: Mirror, commands: Sequence[Command], outcome: Outcome, before: Ahead) -> OwnWrites:
    """What ``commands`` changed (with subtasks and cascades), now that their responses are in ``mirror``."""
    writes = OwnWrites(ids=set(before.ids))
    mapping = outcome.temp_id_mapping
    cascades: list[Cascade] = []
    for command in commands:
        facts = facts_of(command)
        if command.temp_id is not None:
            # A new object: its subtasks, if any, are new commands of this same call.
            created = mapping.get(command.temp_id)
            if created is not None:
                (writes.ids if facts.on == "items" else writes.objects).add(created)
            continue
        if facts.own_write == "objects":
            writes.objects.update(touched_ids(command))
            target = target_of(command)
            if target is not None and facts.cascades_to is not None:
                cascades.append((facts.on, target))
                if target not in before.known:
                    writes.cascades.append((facts.on, target))
            continue
        if facts.own_write == "none":
            continue
        for named in touched_ids(command):
            target = mapping.get(named, named)  # a task this call created is named by its temp id
            writes.ids.add(target)
            writes.ids.update(mirror.descendants(target))
            if target not in mirror.items and target not in before.known and target not in mapping.values():
                writes.gone.append(target)
    if cascades:
        # As the responses left them too: a relabelled task holds the new name, a moved section keeps its tasks.
        writes.ids |= cascaded_tasks(cascades, (mirror.items,), mirror)
    return writes


def mark_own_writes(view: View, mirror: Mirror, writes: OwnWrites) -> None:
    """Mark what one call wrote as seen in ``view``, a cursor of the session that wrote it."""
    ids = writes.ids
    if writes.gone or writes.cascades:
        ids = ids | _as_seen(view, mirror, writes)
    view.refresh(mirror, ids, writes.objects)


def _as_seen(view: View, mirror: Mirror, writes: OwnWrites) -> set[str]:
    """What the mirror could not say before the call, from what this view saw: the subtasks of a task that left
    before it, the tasks of an object it no longer held. Walks the view, so only for those."""
    found: set[str] = set()
    if writes.cascades:
        found |= cascaded_tasks(writes.cascades, (view.seen, mirror.items), mirror, view.objects)
    if writes.gone:
        seen_children: dict[str, list[str]] = {}
        for item in view.seen.values():
            if item.parent_id is not None:
                seen_children.setdefault(item.parent_id, []).append(item.id)
        stack = list(writes.gone)
        while stack:
            for child in seen_children.get(stack.pop(), ()):
                found.add(child)
                stack.append(child)
    return found


def cascaded_tasks(
    cascades: list[Cascade], tasks: Iterable[Mapping[str, Item]], mirror: Mirror, seen: SeenObjects | None = None
) -> set[str]:
    """Tasks a session's own command changed along the way (deleted, completed or moved with a project or section,
    relabelled with a label), so query_changes does not report them as changes from elsewhere. A task is in a
    target when its field the target's type names (``tasks_by``) holds the target's id, or its name (``by_name``);
    objects nested below a target (``nested_by``, in the mirror, and as a cursor saw them when ``seen`` is given) go
    with it. Walks ``tasks``: once per call over the mirror, for writes of projects, sections and labels."""
    targets: dict[ResourceType[Any], set[str]] = {}
    for on, target in cascades:
        kind = RESOURCE_TYPES[on]
        if kind.tasks_by is not None:
            targets.setdefault(kind, set()).add(target)
    wanted: list[tuple[ResourceType[Any], set[str]]] = []  # each type with the ids or folded names tasks hold
    for kind, ids in targets.items():
        table: dict[str, Any] = getattr(mirror, kind.table)
        seen_table: dict[str, Any] = {}
        if seen is not None and kind.cursor is not None:
            seen_table = seen.seen.get(kind.cursor, {})
        if kind.by_name:
            wanted.append((kind, {o.name.casefold() for i in ids for o in (seen_table.get(i), table.get(i)) if o}))
        else:
            wanted.append((kind, kind.with_nested(ids, [*seen_table.values(), *table.values()])))
    found: set[str] = set()
    for items in tasks:
        found.update(item.id for item in items.values() if any(kind.holds(item, keys) for kind, keys in wanted))
    return found
