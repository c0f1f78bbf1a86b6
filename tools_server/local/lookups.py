"""Queries and cascades the project/section/label/note commands share, inside one request's transaction.

The indexed columns of ``objects`` cover items and sections by place and anything by ``parent_id``; notes and
reminders name their task in the JSON document, so they are found with ``json_extract`` over their kind.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from tools_server.local.args import Due, DueArg
from tools_server.local.dates import DueError, next_occurrence, resolve_due
from tools_server.local.errors import CommandError, invalid_argument, not_found
from tools_server.local.moments import as_utc, parse_moment, timestamp
from tools_server.local.tx import Obj, Tx


def rows(tx: Tx, sql: str, params: Sequence[Any]) -> list[Obj]:
    return [json.loads(row[0]) for row in tx.db.execute(sql, params)]


def _ids_param(ids: Iterable[str]) -> str:
    return json.dumps(list(ids))


def nonblank(argument: str, value: str) -> str:
    if not value.strip():
        raise invalid_argument(argument, "must not be empty")
    return value


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
    """Live tasks (open or completed) carrying this label name, compared without case."""
    sql = (
        "SELECT DISTINCT o.data FROM objects AS o, json_each(o.data, '$.labels') AS l"
        " WHERE o.kind = 'item' AND lower(l.value) = lower(?)"
    )
    return [o for o in rows(tx, sql, (name,)) if not o.get("is_deleted")]


def delete_all(tx: Tx, kind: str, objects: Iterable[Obj]) -> None:
    for obj in objects:
        obj["is_deleted"] = True
        tx.put(kind, obj)


def delete_item_dependents(tx: Tx, item_ids: Sequence[str]) -> None:
    """A deleted task takes its comments and reminders with it."""
    if not item_ids:
        return
    delete_all(tx, "note", _live_by_field(tx, "note", "item_id", item_ids))
    delete_all(tx, "reminder", _live_by_field(tx, "reminder", "item_id", item_ids))


def delete_items(tx: Tx, items: Sequence[Obj]) -> None:
    delete_all(tx, "item", items)
    delete_item_dependents(tx, [item["id"] for item in items])


def delete_project_notes(tx: Tx, project_ids: Sequence[str]) -> None:
    delete_all(tx, "project_note", _live_by_field(tx, "project_note", "project_id", project_ids))


def stamp_argument(argument: str, value: str) -> str:
    """A date-time argument (``completed_at``, ``archived_at``) as a stored UTC stamp; it must name its offset."""
    try:
        moment = parse_moment(value)
    except ValueError:
        raise invalid_argument(argument, f"{value!r} is not an RFC 3339 date-time") from None
    if moment.tzinfo is None:
        raise invalid_argument(argument, "needs a timezone, e.g. a trailing Z")
    return timestamp(as_utc(moment))


def restamp(tx: Tx, kind: str, objects: Iterable[Obj]) -> None:
    """Put objects back unchanged so incremental syncs return them again (e.g. a project's tasks on unarchive)."""
    for obj in objects:
        tx.put(kind, obj, touch=False)


# ---------------------------------------------------------------------------------------------------------------------
# Due dates


def due_from_arg(tx: Tx, due: DueArg) -> Obj:
    """A due argument (of a task, a reminder, a recurring completion) as stored, read in the user's timezone."""
    if not tx.accept_client_due_shapes:
        # Not documented inputs (reference §3): a datetime goes in due.date, and lang is a string or left out.
        if "datetime" in due.model_fields_set:
            raise invalid_argument("due.datetime", "not a due input key; send the datetime as due.date")
        if "lang" in due.model_fields_set and due.lang is None:
            raise invalid_argument("due.lang", "must be a language code such as 'en', or left out")
    try:
        resolved = resolve_due(due, now=tx.now, timezone=tx.meta.get("timezone", "UTC"))
    except DueError as exc:
        raise invalid_argument(exc.argument, exc.explanation) from None
    return resolved.model_dump()


def following_due(tx: Tx, stored: Obj) -> Obj | None:
    """A recurring due's next occurrence, or None when it is not recurring (or not understood)."""
    if not stored.get("is_recurring"):
        return None
    due = Due.model_validate(stored)
    following = next_occurrence(due, now=tx.now, timezone=tx.meta.get("timezone", "UTC"))
    return following.model_dump() if following is not None else None


def has_time(due: Obj | None) -> bool:
    return due is not None and "T" in str(due.get("date", ""))
