"""Pure: what the model has seen of the resource types a cursor reports beside tasks (comments, projects, sections,
labels: those declared with a ``cursor`` name), and what changed since, in one line each.

Mirrored objects are replaced, never mutated, so a view keeps references; an object counts as changed only when a
field its type declares ``compared`` differs (a new ``updated_at`` alone is not news).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from tools_server.sync.commands import Label, Project, Section
from tools_server.sync.mirror import Mirror
from tools_server.sync.resource_types import RESOURCE_TYPES
from tools_server.sync.resource_types import ObjectType as ObjectType
from tools_server.sync.responses import Note
from tools_server.text import clip

ObjectChangeKind = Literal["added", "updated", "archived", "deleted"]
ObjectChange = tuple[ObjectChangeKind, ObjectType, str, str, str | None]  # (kind, of, id, text, detail)
# The declared types a cursor reports, by what it calls them: their mirror tables and the fields it compares (task
# and project comments share one table, so they are one entry).
_TRACKED: dict[ObjectType, tuple[str, tuple[str, ...]]] = {
    kind.cursor: (kind.table, kind.compared) for kind in RESOURCE_TYPES.values() if kind.cursor is not None
}
_FIELDS = {of: compared for of, (_, compared) in _TRACKED.items()}
_TEXT_CHARS = 80


def _tables(mirror: Mirror) -> dict[ObjectType, dict[str, Any]]:
    return {of: getattr(mirror, table) for of, (table, _) in _TRACKED.items()}


@dataclass
class SeenObjects:
    seen: dict[ObjectType, dict[str, Any]] = field(default_factory=dict[ObjectType, dict[str, Any]])

    def refresh(self, mirror: Mirror, ids: Iterable[str] | None = None) -> None:
        """All of the mirror's objects as seen, or only ``ids`` (this session's own writes)."""
        tables = _tables(mirror)
        if ids is None:
            self.seen = {kind: dict(table) for kind, table in tables.items()}
            return
        wanted = set(ids)
        for kind, table in tables.items():
            seen = self.seen.setdefault(kind, {})
            for object_id in wanted:
                current = table.get(object_id)
                if current is not None:
                    seen[object_id] = current
                else:
                    seen.pop(object_id, None)

    def diff(self, mirror: Mirror) -> list[ObjectChange]:
        changes: list[ObjectChange] = []
        archived = {**mirror.archived_projects, **mirror.archived_sections}
        for kind, table in _tables(mirror).items():
            seen = self.seen.get(kind, {})
            for object_id, now in table.items():
                before = seen.get(object_id)
                if before is None:
                    changes.append(("added", kind, object_id, _text(now), _where(now, mirror)))
                elif before is not now and any(getattr(before, f) != getattr(now, f) for f in _FIELDS[kind]):
                    changes.append(("updated", kind, object_id, _text(now), _what(before, now, kind)))
            for object_id, before in seen.items():
                if object_id not in table:
                    gone: ObjectChangeKind = "archived" if object_id in archived else "deleted"
                    changes.append((gone, kind, object_id, _text(before), None))
        return changes


def _text(obj: Project | Section | Label | Note) -> str:
    return clip(obj.content if isinstance(obj, Note) else obj.name, _TEXT_CHARS)


def _where(obj: Any, mirror: Mirror) -> str | None:
    if isinstance(obj, Note):
        if obj.item_id is not None:
            task = mirror.items.get(obj.item_id)
            return f"on {obj.item_id}" + (f" '{clip(task.content, 40)}'" if task is not None else "")
        return f"on #{mirror.project_name(obj.project_id or '')}"
    if isinstance(obj, Section):
        return f"in #{mirror.project_name(obj.project_id)}"
    if isinstance(obj, Project) and obj.parent_id:
        return f"under #{mirror.project_name(obj.parent_id)}"
    return None


def _what(before: Any, now: Any, kind: ObjectType) -> str:
    changed = [f for f in _FIELDS[kind] if getattr(before, f) != getattr(now, f)]
    if "name" in changed:
        return f"was '{clip(before.name, 40)}'"
    return "changed " + ", ".join(changed)
