"""What `tools-server call` keeps between invocations: a JSON file next to the store, one entry per account.

Each `call` is a new process and so a new session. So that a cursor printed by one call works in the next and `undo`
reverses the previous call's write, the session's mirror (with its sync token), its cursors' seen-state and its undo
record are saved after each call and restored before the next, keyed by the token's fingerprint (never the token).
Pending resend batches are not kept: their commands and partial outcomes stay in the process that sent them, and the
CLI says so when a result names one.
"""

from __future__ import annotations

import json
import os
from collections import OrderedDict
from pathlib import Path
from typing import Any

from tools_server.cursors.seen_resources import ObjectType, SeenObjects
from tools_server.cursors.view import View
from tools_server.plans.undo import UndoRecord
from tools_server.state.sessions import Session
from tools_server.sync.commands import Item, Label, Project, Reminder, Section
from tools_server.sync.mirror import Mirror
from tools_server.sync.responses import Note

STATE_VERSION = 1
MAX_SAVED_CURSORS = 8


def state_path(db: Path) -> Path:
    return db.with_name(db.name + ".call-state.json")


def _read(path: Path) -> dict[str, Any]:
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # no state yet, or a damaged file: start afresh (the store itself is untouched)
    if not isinstance(data, dict) or data.get("version") != STATE_VERSION:  # pyright: ignore[reportUnknownMemberType]
        return {}
    return data  # pyright: ignore[reportUnknownVariableType]


def _dump_item(item: Item | None) -> dict[str, Any] | None:
    return None if item is None else item.model_dump(mode="json")


def _load_item(data: dict[str, Any] | None) -> Item | None:
    return None if data is None else Item.model_validate(data)


def restore(path: Path, fingerprint: str, session: Session) -> None:
    """Put the saved mirror, sync token, cursors and undo record of this account back into a fresh session."""
    entry: dict[str, Any] | None = _read(path).get("accounts", {}).get(fingerprint)
    if not entry:
        return
    mirror = entry.get("mirror")
    if mirror:
        session.mirror = Mirror(
            items={i["id"]: Item.model_validate(i) for i in mirror["items"]},
            projects={p["id"]: Project.model_validate(p) for p in mirror["projects"]},
            sections={s["id"]: Section.model_validate(s) for s in mirror["sections"]},
            labels={la["id"]: Label.model_validate(la) for la in mirror["labels"]},
            notes={n["id"]: Note.model_validate(n) for n in mirror.get("notes", [])},
            reminders={r["id"]: Reminder.model_validate(r) for r in mirror.get("reminders", [])},
            inbox_project_id=mirror.get("inbox_project_id"),
            timezone=mirror.get("timezone"),
            start_day=int(mirror.get("start_day", 1)),
            date_format=int(mirror.get("date_format", 0)),
            lang=mirror.get("lang"),
            synced=True,
        )
        session.sync_token = entry["sync_token"]
    # The restored mirror has no change log, so each view compares everything it saw (version -1) on its next diff.
    views = session.state.local_views()
    if views is not None:
        for cursor, seen in entry.get("cursors", {}).items():
            views[cursor] = _load_view(seen, entry.get("cursor_objects", {}).get(cursor))
            session.own_cursors[cursor] = None
    undo = entry.get("undo")
    if undo:
        session.last_write = UndoRecord(
            kind=undo["kind"],
            before={k: _load_item(v) for k, v in undo["before"].items()},
            after={k: _load_item(v) for k, v in undo.get("after", {}).items()},
            done=list(undo["done"]),
            created=list(undo["created"]),
            created_all=set(undo.get("created_all", ())),
            fields={k: set(v) for k, v in undo["fields"].items()},
            projects_created=int(undo["projects_created"]),
            reminders_added=list(undo.get("reminders_added", [])),
            reminders_removed=[Reminder.model_validate(r) for r in undo.get("reminders_removed", [])],
            orders={k: int(v) for k, v in undo.get("orders", {}).items()},
        )


def save(path: Path, fingerprint: str, session: Session) -> None:
    """Write this account's entry (other accounts' entries are kept), atomically and readable by the owner only."""
    data = _read(path) or {"version": STATE_VERSION, "accounts": {}}
    mirror = session.mirror
    cursors = list((session.state.local_views() or OrderedDict[str, View]()).items())[-MAX_SAVED_CURSORS:]
    record = session.last_write
    entry: dict[str, Any] = {
        "sync_token": session.sync_token,
        "mirror": {
            "items": [i.model_dump(mode="json") for i in mirror.items.values()],
            "projects": [p.model_dump(mode="json") for p in mirror.projects.values()],
            "sections": [s.model_dump(mode="json") for s in mirror.sections.values()],
            "labels": [la.model_dump(mode="json") for la in mirror.labels.values()],
            "notes": [n.model_dump(mode="json") for n in mirror.notes.values()],
            "reminders": [r.model_dump(mode="json") for r in mirror.reminders.values()],
            "inbox_project_id": mirror.inbox_project_id,
            "timezone": mirror.timezone,
            "start_day": mirror.start_day,
            "date_format": mirror.date_format,
            "lang": mirror.lang,
        }
        if mirror.synced
        else None,
        "cursors": {cursor: [i.model_dump(mode="json") for i in view.seen.values()] for cursor, view in cursors},
        # What each cursor saw of comments, projects, sections and labels, so they are not "added" next time.
        "cursor_objects": {
            cursor: {
                kind: [o.model_dump(mode="json") for o in table.values()] for kind, table in view.objects.seen.items()
            }
            for cursor, view in cursors
        },
        "undo": None
        if record is None
        else {
            "kind": record.kind,
            "before": {k: _dump_item(v) for k, v in record.before.items()},
            "after": {k: _dump_item(v) for k, v in record.after.items()},
            "done": record.done,
            "created": record.created,
            "created_all": sorted(record.created_all),
            "fields": {k: sorted(v) for k, v in record.fields.items()},
            "projects_created": record.projects_created,
            "reminders_added": record.reminders_added,
            "reminders_removed": [r.model_dump(mode="json") for r in record.reminders_removed],
            "orders": record.orders,
        },
    }
    data["accounts"][fingerprint] = entry
    temporary = path.with_name(path.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle, ensure_ascii=False, separators=(",", ":"))
    os.replace(temporary, path)


_OBJECT_MODELS: dict[ObjectType, type[Project | Section | Label | Note]] = {
    "project": Project,
    "section": Section,
    "label": Label,
    "comment": Note,
}


def _load_view(seen: list[dict[str, Any]], objects: dict[str, list[dict[str, Any]]] | None) -> View:
    # The restored mirror has no change log, so the view compares everything it saw (version -1) on its next diff.
    view = View(seen={i["id"]: Item.model_validate(i) for i in seen}, version=-1)
    if objects is not None:
        tables: dict[ObjectType, dict[str, Any]] = {}
        for kind, model in _OBJECT_MODELS.items():
            tables[kind] = {o["id"]: model.model_validate(o) for o in objects.get(kind, [])}
        view.objects = SeenObjects(seen=tables)
    return view
