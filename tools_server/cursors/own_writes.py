"""Pure: a session's own writes count as seen in the cursors it opened, so query_changes lists only changes made
elsewhere.

What a command changed is read from its declaration: the ids it touches, whether those are tasks (with their
subtasks) or other objects, and the tasks it cascades to, found through its resource type's declaration.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tools_server.cursors.seen_resources import SeenObjects
from tools_server.cursors.view import View
from tools_server.sync.commands import Command, Item, facts_of, target_of, touched_ids
from tools_server.sync.mirror import Mirror
from tools_server.sync.resource_types import RESOURCE_TYPES, ResourceType
from tools_server.sync.send import Outcome


def mark_own_writes(view: View, mirror: Mirror, commands: Sequence[Command], outcome: Outcome) -> None:
    """Mark what ``commands`` touched (with subtasks and cascades) as seen in ``view``."""
    touched: set[str] = set()
    gone: list[str] = []
    cascades: list[tuple[str, str]] = []  # (resource type, target) of the commands that cascade to tasks
    for command in commands:
        if command.temp_id is not None:
            # A new object: its subtasks, if any, are new commands of this same call.
            created = outcome.temp_id_mapping.get(command.temp_id)
            if created is not None:
                touched.add(created)
            continue
        facts = facts_of(command)
        if facts.own_write == "objects":
            touched.update(touched_ids(command))
            target = target_of(command)
            if target is not None and facts.cascades_to is not None:
                cascades.append((facts.on, target))
            continue
        if facts.own_write == "none":
            continue
        for target in touched_ids(command):
            touched.add(target)
            touched.update(mirror.descendants(target))
            if target not in mirror.items:
                gone.append(target)
    if cascades:
        touched |= cascaded_tasks(cascades, view.seen, view.objects, mirror)
    if gone:
        # Completed or deleted with its subtasks: they left the mirror, so find them in what the view saw.
        seen_children: dict[str, list[str]] = {}
        for item in view.seen.values():
            if item.parent_id is not None:
                seen_children.setdefault(item.parent_id, []).append(item.id)
        stack = list(gone)
        while stack:
            for child in seen_children.get(stack.pop(), ()):
                touched.add(child)
                stack.append(child)
    view.refresh(mirror, touched)


def cascaded_tasks(
    cascades: list[tuple[str, str]], seen_items: Mapping[str, Item], seen: SeenObjects, mirror: Mirror
) -> set[str]:
    """Tasks a session's own command changed along the way (deleted, completed or moved with a project or section,
    relabelled with a label), so query_changes does not report them as changes from elsewhere. A task is in a
    target when its field the target's type names (``tasks_by``) holds the target's id, or its name (``by_name``);
    objects nested below a target (``nested_by``, as the cursor saw them) go with it."""
    targets: dict[ResourceType[Any], set[str]] = {}
    for on, target in cascades:
        kind = RESOURCE_TYPES[on]
        if kind.tasks_by is not None:
            targets.setdefault(kind, set()).add(target)
    wanted: list[tuple[ResourceType[Any], set[str]]] = []  # each type with the ids or folded names tasks hold
    for kind, ids in targets.items():
        seen_table: dict[str, Any] = seen.seen.get(kind.cursor, {}) if kind.cursor is not None else {}
        if kind.by_name:
            table: dict[str, Any] = getattr(mirror, kind.table)
            wanted.append((kind, {o.name.casefold() for i in ids for o in (seen_table.get(i), table.get(i)) if o}))
        else:
            wanted.append((kind, kind.with_nested(ids, seen_table.values())))
    found: set[str] = set()
    for items in (seen_items, mirror.items):
        found.update(item.id for item in items.values() if any(kind.holds(item, keys) for kind, keys in wanted))
    return found
