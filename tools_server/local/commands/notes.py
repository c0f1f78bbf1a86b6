"""Comment commands (reference §3, §2.6): a note names either a task (``item_id``, in the ``notes`` resource) or a
project (``project_id``, in ``project_notes``); its text may be empty only when it carries a file."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from pydantic import StrictStr

from tools_server.local.args import Args, Id, IdArgs, parse_args
from tools_server.local.commands.fields import assign_given, nonblank
from tools_server.local.commands.lookups import delete_all, resolve_any
from tools_server.local.commands.table import command
from tools_server.local.errors import invalid_argument
from tools_server.local.tx import Obj, Tx

NOTE_KINDS = ("note", "project_note")
_ATTACHMENT_TEXT = ("file_name", "file_type", "file_url", "upload_state", "image", "url", "title", "resource_type")


class NoteAddArgs(Args):
    item_id: Id | None = None
    project_id: Id | None = None
    content: StrictStr | None = None
    file_attachment: dict[str, Any] | None = None
    uids_to_notify: list[StrictStr] | None = None


class NoteUpdateArgs(Args):
    id: Id
    content: StrictStr | None = None
    file_attachment: dict[str, Any] | None = None
    uids_to_notify: list[StrictStr] | None = None


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


@command
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


@command
def note_update(tx: Tx, raw: dict[str, Any]) -> None:
    args = parse_args(NoteUpdateArgs, raw)
    kind, note = resolve_any(tx, NOTE_KINDS, "id", args.id)
    if "file_attachment" in args.model_fields_set:
        note["file_attachment"] = _attachment(args.file_attachment) if args.file_attachment is not None else None
    if args.content is not None:
        note["content"] = _content(args.content, note.get("file_attachment"))
    assign_given(note, args, "uids_to_notify")
    tx.put(kind, note)


@command
def note_delete(tx: Tx, raw: dict[str, Any]) -> None:
    kind, note = resolve_any(tx, NOTE_KINDS, "id", parse_args(IdArgs, raw).id)
    delete_all(tx, kind, [note])
