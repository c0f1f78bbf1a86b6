"""Pure: a session's own writes count as seen in the cursors it opened, so query_changes lists only changes made
elsewhere."""

from __future__ import annotations

from collections.abc import Sequence

from tools_server.cursors.seen_objects import cascaded_tasks
from tools_server.cursors.view import View
from tools_server.plans.undo_projects import touched_ids
from tools_server.sync.commands import Command, arg_value
from tools_server.sync.mirror import Mirror
from tools_server.sync.send import Outcome


def mark_own_writes(view: View, mirror: Mirror, commands: Sequence[Command], outcome: Outcome) -> None:
    """Mark what ``commands`` touched (with subtasks and cascades) as seen in ``view``."""
    touched: set[str] = set()
    gone: list[str] = []
    children: dict[str, list[str]] | None = None
    cascades: list[tuple[str, str]] = []
    for command in commands:
        if command.temp_id is not None:
            # A new object: its subtasks, if any, are new commands of this same call.
            created = outcome.temp_id_mapping.get(command.temp_id)
            if created is not None:
                touched.add(created)
            continue
        kind = str(vars(command)["type"])
        target = arg_value(command.args, "id")
        if not kind.startswith("item_"):
            # Comments, projects, sections, labels: the object itself, the ids of an order list, and the tasks a
            # project, section or label command changes along the way.
            touched.update(touched_ids(command))
            if target is not None:
                cascades.append((kind, target))
            continue
        if target is None:
            continue
        touched.add(target)
        if children is None:
            children = mirror.children_index()  # once per call, and only for edits of existing tasks
        touched.update(mirror.descendants(target, children))
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
