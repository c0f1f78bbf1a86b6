"""Pure: comment_items' writes as one Plan of note commands, and its listings from the mirror.

Ids are checked against the mirror first: a comment on a deleted task or an unknown project, or an edit of an
unknown comment, fails its own entry and is not sent. A task the mirror does not hold may be a completed one (a full
sync leaves those out): its comment is sent, and the backend says whether the task exists.
"""

from __future__ import annotations

import functools
import mimetypes
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel

from tools_server.inputs import CommentEdit, NewComment
from tools_server.plans.plan import LocalError, Plan, Step
from tools_server.plans.projects import resolve_project
from tools_server.plans.tasks import label_of
from tools_server.sync.args import FileAttachment
from tools_server.sync.batch import NewUuid, new_uuid4
from tools_server.sync.commands import ItemIdArgs, Note, NoteAdd, NoteAddArgs, NoteDelete, NoteUpdate, NoteUpdateArgs
from tools_server.sync.mirror import Mirror
from tools_server.text import clip
from tools_server.user import local_time, timezone_of

# adds, edits, deletes, and the files uploaded from local paths (comment_items' file_path) by their add's index.
CommentsInput = tuple[list[NewComment], list[CommentEdit], list[str], Mapping[int, FileAttachment]]
MAX_LISTED_PER_TARGET = 20
_CONTENT_CHARS = 200


def plan_comments(changes: CommentsInput, mirror: Mirror, *, new_uuid: NewUuid = new_uuid4) -> Plan:
    adds, edits, deletes, files = changes
    steps: list[Step] = []
    for comment in adds:
        index = len(steps)
        file = _file(comment, files.get(index))
        if comment.task is not None:
            task = comment.task
            label = f"comment on {label_of(mirror, task)}"
            missing = f"task: no task with id {task}"
            if mirror.gone.get(task, ("completed",))[0] == "deleted":
                steps.append(Step(index, label, error=LocalError("ITEM_NOT_FOUND", missing)))
                continue
            args = NoteAddArgs.model_validate({"item_id": task, "content": comment.content, **file})
            command = NoteAdd(uuid=new_uuid(), temp_id=new_uuid(), args=args)
            steps.append(Step(index, label, command=command, missing=missing))
            continue
        else:
            assert comment.project is not None  # NewComment requires one of the two
            project_id, error = resolve_project(mirror, comment.project)
            label = f"comment on #{comment.project}"
            if error is not None or project_id is None:
                steps.append(Step(index, label, error=error))
                continue
            args = NoteAddArgs.model_validate({"project_id": project_id, "content": comment.content, **file})
        steps.append(Step(index, label, command=NoteAdd(uuid=new_uuid(), temp_id=new_uuid(), args=args)))
    for edit in edits:
        step = _existing(len(steps), edit.id, mirror)
        if step.error is None:
            step.command = NoteUpdate(uuid=new_uuid(), args=NoteUpdateArgs(id=edit.id, content=edit.content))
        steps.append(step)
    unique = list(dict.fromkeys(deletes))
    for note_id in unique:
        step = _existing(len(steps), note_id, mirror)
        if step.error is None:
            step.command = NoteDelete(uuid=new_uuid(), args=ItemIdArgs(id=note_id))
        steps.append(step)
    notes = (f"{len(deletes) - len(unique)} duplicate id(s) ignored",) if len(unique) < len(deletes) else ()
    return Plan(tuple(steps), notes, noun="comment change")


@functools.cache
def _types() -> mimetypes.MimeTypes:
    # The standard library's built-in table: the same answer on every machine (the host's mime.types is not read).
    return mimetypes.MimeTypes()


def _file(comment: NewComment, uploaded: FileAttachment | None) -> dict[str, FileAttachment]:
    """The ``file_attachment`` argument when a file is given (uploaded, or by URL), else nothing (an unset argument
    is never sent)."""
    if uploaded is not None:
        return {"file_attachment": uploaded}
    return {} if comment.file_url is None else {"file_attachment": _by_url(comment.file_url)}


def _by_url(url: str) -> FileAttachment:
    """An attachment pointing at an external file (DS 14): its name from the URL's path, its type from the name, so
    that Todoist can render a preview."""
    name = unquote(urlsplit(url).path.rstrip("/").rpartition("/")[2]) or None
    kind = _types().guess_type(name, strict=False)[0] if name else None
    given = {"file_url": url, "file_name": name, "file_type": kind}
    return FileAttachment.model_validate({k: v for k, v in given.items() if v is not None})  # no nulls on the wire


def _existing(index: int, note_id: str, mirror: Mirror) -> Step:
    note = mirror.notes.get(note_id)
    if note is None:
        return Step(index, note_id, error=LocalError("NOTE_NOT_FOUND", f"no comment with id {note_id}"))
    return Step(index, clip(note.content, 40))


class AttachmentBrief(BaseModel):
    name: str | None = None
    type: str | None = None  # MIME type, else the attachment's resource type
    size: int | None = None  # bytes
    url: str | None = None


class CommentBrief(BaseModel):
    id: str
    on: str  # the task or project id
    posted: str  # in the user's timezone
    content: str
    attachment: AttachmentBrief | None = None


def attachment_of(note: Note) -> AttachmentBrief | None:
    """A comment's file as the documented attachment describes it (DS 14): name, type, size and URL; a link
    attachment may carry only ``url``/``title``."""
    raw: dict[str, Any] | None = note.file_attachment
    if not raw:
        return None

    def text(*names: str) -> str | None:
        return next((str(raw[n]) for n in names if isinstance(raw.get(n), str) and raw[n]), None)

    size = raw.get("file_size")
    return AttachmentBrief(
        name=text("file_name", "title"),
        type=text("file_type", "resource_type"),
        size=size if isinstance(size, int) and not isinstance(size, bool) else None,
        url=text("file_url", "url", "image"),
    )


def _size(count: int) -> str:
    if count < 1024:
        return f"{count} B"
    return f"{count / 1024:.1f} KB" if count < 1024 * 1024 else f"{count / (1024 * 1024):.1f} MB"


def attachment_text(brief: AttachmentBrief) -> str:
    parts = [p for p in (brief.name, brief.type, _size(brief.size) if brief.size is not None else None, brief.url) if p]
    return f"[file: {', '.join(parts)}]"


def list_comments(mirror: Mirror, refs: list[str]) -> tuple[list[str], list[CommentBrief]]:
    """Text lines and briefs of the comments on each task or project (id or name), oldest first."""
    zone = timezone_of(mirror)
    lines: list[str] = []
    briefs: list[CommentBrief] = []
    for ref in dict.fromkeys(refs):
        if ref in mirror.items or ref in mirror.gone:
            target, title, key = ref, f"'{clip(label_of(mirror, ref), 40)}'", "item_id"
        else:
            project_id, error = resolve_project(mirror, ref)
            if project_id is None:
                lines.append(f"{ref}: {error.message if error else 'not found'} (no task or project)")
                continue
            target, title, key = project_id, f"#{mirror.project_name(project_id)}", "project_id"
        found = sorted((n for n in mirror.notes.values() if getattr(n, key) == target), key=lambda n: n.posted_at or "")
        lines.append(f"Comments on {title} ({target}): {len(found)}")
        for note in found[:MAX_LISTED_PER_TARGET]:
            brief = CommentBrief(
                id=note.id,
                on=target,
                posted=local_time(note.posted_at, zone),
                content=clip(note.content, _CONTENT_CHARS),
                attachment=attachment_of(note),
            )
            briefs.append(brief)
            shown = f" {attachment_text(brief.attachment)}" if brief.attachment is not None else ""
            lines.append(f"- {brief.id} {brief.posted} {brief.content}{shown}")
        if len(found) > MAX_LISTED_PER_TARGET:
            lines.append(f"+{len(found) - MAX_LISTED_PER_TARGET} more")
    return lines, briefs
