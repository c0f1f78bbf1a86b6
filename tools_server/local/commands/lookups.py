"""Queries and cascades several command families share, inside one request's transaction.

The indexed columns of ``objects`` cover items and sections by place and anything by ``parent_id``; notes and
reminders name their task in the JSON document, so they are found with ``json_extract`` over their kind.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from tools_server.local.errors import CommandError, not_found
from tools_server.local.tx import Obj, Tx


def rows(tx: Tx, sql: str, params: Sequence[Any]) -> list[Obj]:
    return [json.loads(row[0]) for row in tx.db.execute(sql, params)]


def _ids_param(ids: Iterable[str]) -> str:
    return json.dumps(list(ids))


def resolve_any(tx: Tx, kinds: Sequence[str], argument: str, value: str) -> tuple[str, Obj]:
    """The object an id names among several kinds (a note id may be a task note or a project note)."""
    first: CommandError | None = None
    for kind in kinds:
        try:
            return kind, tx.resolve(kind, argument, value)
        except CommandError as exc:
            first = first or exc
    raise first or not_found(kinds[0], argument)


def subprojects(tx: Tx, project_id: str) -> list[Obj]:
    """Every live project below this one, any depth (archived ones included)."""
    found: list[Obj] = []
    stack = [project_id]
    while stack:
        for child in rows(tx, "SELECT data FROM objects WHERE kind = 'project' AND parent_id = ?", (stack.pop(),)):
            if not child.get("is_deleted"):
                found.append(child)
                stack.append(child["id"])
    return found


def items_in_projects(tx: Tx, project_ids: Iterable[str]) -> list[Obj]:
    sql = "SELECT data FROM objects WHERE kind = 'item' AND project_id IN (SELECT value FROM json_each(?))"
    return [o for o in rows(tx, sql, (_ids_param(project_ids),)) if not o.get("is_deleted")]


def sections_in_projects(tx: Tx, project_ids: Iterable[str]) -> list[Obj]:
    sql = "SELECT data FROM objects WHERE kind = 'section' AND project_id IN (SELECT value FROM json_each(?))"
    return [o for o in rows(tx, sql, (_ids_param(project_ids),)) if not o.get("is_deleted")]


def items_in_section(tx: Tx, section_id: str) -> list[Obj]:
    sql = "SELECT data FROM objects WHERE kind = 'item' AND section_id = ?"
    return [o for o in rows(tx, sql, (section_id,)) if not o.get("is_deleted")]


def _live_by_field(tx: Tx, kind: str, field: str, ids: Iterable[str]) -> list[Obj]:
    sql = (
        f"SELECT data FROM objects WHERE kind = ? AND active = 1"
        f" AND json_extract(data, '$.{field}') IN (SELECT value FROM json_each(?))"
    )
    return rows(tx, sql, (kind, _ids_param(ids)))


def items_with_label(tx: Tx, name: str) -> list[Obj]:
    """Live tasks (open or completed) carrying this label name, compared without case, in the projects the account
    sees (labels are per user)."""
    sql = (
        "SELECT DISTINCT o.data FROM objects AS o, json_each(o.data, '$.labels') AS l"
        " WHERE o.kind = 'item' AND lower(l.value) = lower(?) AND o.project_id IN (SELECT value FROM json_each(?))"
    )
    return [o for o in rows(tx, sql, (name, _ids_param(tx.projects()))) if not o.get("is_deleted")]


def delete_all(tx: Tx, kind: str, objects: Iterable[Obj]) -> None:
    for obj in objects:
        obj["is_deleted"] = True
        tx.put(kind, obj)


def delete_items(tx: Tx, items: Sequence[Obj]) -> None:
    """Tasks are deleted with their comments and reminders."""
    delete_all(tx, "item", items)
    if items:
        ids = [item["id"] for item in items]
        delete_all(tx, "note", _live_by_field(tx, "note", "item_id", ids))
        delete_all(tx, "reminder", _live_by_field(tx, "reminder", "item_id", ids))


def delete_project_notes(tx: Tx, project_ids: Sequence[str]) -> None:
    delete_all(tx, "project_note", _live_by_field(tx, "project_note", "project_id", project_ids))


def restamp(tx: Tx, kind: str, objects: Iterable[Obj]) -> None:
    """Put objects back unchanged so incremental syncs return them again (e.g. a project's tasks on unarchive)."""
    for obj in objects:
        tx.put(kind, obj, touch=False)
