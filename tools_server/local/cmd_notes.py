"""Comments (task notes and project notes) and reminders (reference §3, §2.6, §2.7).

A note names either a task (``item_id``, in the ``notes`` resource) or a project (``project_id``, in
``project_notes``). A relative reminder fires ``minute_offset`` minutes before its task's due time, so the task needs a
timed due; an absolute one has its own due, with a time. Its ``due`` is stored for absolute reminders only: a relative
one's moment follows the task's due, which other commands change. Location reminders are not kept by this backend.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from tools_server.local.args_more import IdArgs, NoteAddArgs, NoteUpdateArgs, ReminderAddArgs, ReminderUpdateArgs
from tools_server.local.errors import invalid_argument
from tools_server.local.handlers import Handler, parse_args
from tools_server.local.lookups import delete_all, due_from_arg, has_time, nonblank, resolve_any
from tools_server.local.tx import Obj, Tx

NOTE_KINDS = ("note", "project_note")
_ATTACHMENT_TEXT = ("file_name", "file_type", "file_url", "upload_state", "image", "url", "title", "resource_type")


def _attachment(raw: dict[str, Any]) -> Obj:
    """An attachment as given, with the ``resource_type`` every stored attachment needs (the SDK requires it)."""
    for name in _ATTACHMENT_TEXT:
        if name in raw and raw[name] is not None and not isinstance(raw[name], str):
            raise invalid_argument(f"file_attachment.{name}", "must be a string")
    url = raw.get("file_url")
    if url is not None and urlsplit(str(url)).scheme not in ("http", "https"):
        raise invalid_argument("file_url", "must be an http or https URL")
    return {**raw, "resource_type": raw.get("resource_type") or "file"}


def _content(value: str | None, attachment: Obj | None) -> str:
    """Content is required, but a note that carries a file may have empty text."""
    if value is None:
        if attachment is None:
            raise invalid_argument("content", "Field required")
        return ""
    return value if attachment is not None else nonblank("content", value)


def note_add(tx: Tx, raw: dict[str, Any]) -> str:
    args = parse_args(NoteAddArgs, raw)
    if (args.item_id is None) == (args.project_id is None):
        raise invalid_argument("item_id", "exactly one of item_id or project_id must be set")
    attachment = _attachment(args.file_attachment) if args.file_attachment is not None else None
    content = _content(args.content, attachment)
    note: Obj = {"id": ""}
    if args.item_id is not None:
        kind = "note"
        note["item_id"] = tx.resolve("item", "item_id", args.item_id)["id"]
    else:
        kind = "project_note"
        note["project_id"] = tx.resolve("project", "project_id", args.project_id)["id"]
    note.update(
        id=tx.fresh_id(),
        posted_uid=tx.meta["user_id"],
        content=content,
        file_attachment=attachment,
        uids_to_notify=args.uids_to_notify,
        reactions=None,
        is_deleted=False,
        posted_at=tx.stamp,
    )
    tx.put(kind, note)
    return note["id"]


def note_update(tx: Tx, raw: dict[str, Any]) -> None:
    args = parse_args(NoteUpdateArgs, raw)
    kind, note = resolve_any(tx, NOTE_KINDS, "id", args.id)
    if "file_attachment" in args.model_fields_set:
        note["file_attachment"] = _attachment(args.file_attachment) if args.file_attachment is not None else None
    if args.content is not None:
        note["content"] = _content(args.content, note.get("file_attachment"))
    if args.uids_to_notify is not None:
        note["uids_to_notify"] = args.uids_to_notify
    tx.put(kind, note)


def note_delete(tx: Tx, raw: dict[str, Any]) -> None:
    kind, note = resolve_any(tx, NOTE_KINDS, "id", parse_args(IdArgs, raw).id)
    delete_all(tx, kind, [note])


# ---------------------------------------------------------------------------------------------------------------------
# Reminders


def _check_reminder(item: Obj, reminder: Obj) -> None:
    if reminder["type"] == "location":
        raise invalid_argument("type", "location reminders are not supported by the local backend")
    if reminder["type"] == "relative":
        if reminder.get("minute_offset") is None:
            raise invalid_argument("minute_offset", "required for a relative reminder")
        if not has_time(item.get("due")):
            raise invalid_argument("item_id", "a relative reminder needs a task whose due date has a time")
        return
    due = reminder.get("due")
    if due is None:
        raise invalid_argument("due", "required for an absolute reminder")
    if not has_time(due):
        raise invalid_argument("due", "a reminder's due date needs a time")
    if due.get("is_recurring"):
        raise invalid_argument("due", "a reminder's due date cannot recur")


def _shape(reminder: Obj) -> Obj:
    """Relative reminders carry minute_offset and no due; absolute ones a due and no minute_offset."""
    if reminder["type"] == "relative":
        reminder["due"] = None
    else:
        reminder.pop("minute_offset", None)
    return reminder


def reminder_add(tx: Tx, raw: dict[str, Any]) -> str:
    args = parse_args(ReminderAddArgs, raw)
    item = tx.resolve("item", "item_id", args.item_id)
    reminder: Obj = {
        "id": "",
        "notify_uid": args.notify_uid or tx.meta["user_id"],
        "item_id": item["id"],
        "type": args.type,
        "due": due_from_arg(tx, args.due) if args.due is not None else None,
        "minute_offset": args.minute_offset,
        "is_urgent": bool(args.is_urgent),
        "is_deleted": False,
    }
    _check_reminder(item, reminder)
    reminder["id"] = tx.fresh_id()
    tx.put("reminder", _shape(reminder))
    return reminder["id"]


def reminder_update(tx: Tx, raw: dict[str, Any]) -> None:
    """Given fields replace the stored ones; a change of type must bring what the new type needs."""
    args = parse_args(ReminderUpdateArgs, raw)
    reminder = tx.resolve("reminder", "id", args.id)
    item = tx.resolve("item", "item_id", reminder["item_id"])
    if args.type is not None:
        reminder["type"] = args.type
    if args.notify_uid is not None:
        reminder["notify_uid"] = args.notify_uid
    if args.due is not None:
        reminder["due"] = due_from_arg(tx, args.due)
    if args.minute_offset is not None:
        reminder["minute_offset"] = args.minute_offset
    if args.is_urgent is not None:
        reminder["is_urgent"] = args.is_urgent
    _check_reminder(item, reminder)
    tx.put("reminder", _shape(reminder))


def reminder_delete(tx: Tx, raw: dict[str, Any]) -> None:
    delete_all(tx, "reminder", [tx.resolve("reminder", "id", parse_args(IdArgs, raw).id)])


NOTE_HANDLERS: dict[str, Handler] = {
    "note_add": note_add,
    "note_update": note_update,
    "note_delete": note_delete,
    "reminder_add": reminder_add,
    "reminder_update": reminder_update,
    "reminder_delete": reminder_delete,
}
