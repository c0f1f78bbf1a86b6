"""Pure: comment_items' writes as one Plan of note commands, and its listings from the mirror.

Ids are checked against the mirror first: a comment on a deleted task or an unknown project, or an edit of an
unknown comment, fails its own entry and is not sent. A task the mirror does not hold may be a completed one (a full
sync leaves those out): its comment is sent, and the backend says whether the task exists.
"""

from __future__ import annotations

from pydantic import BaseModel

from tools_server.inputs import CommentEdit, NewComment
from tools_server.plans.plan import LocalError, Plan, Step
from tools_server.plans.projects import resolve_project
from tools_server.plans.tasks import label_of
from tools_server.sync.batch import NewUuid, new_uuid4
from tools_server.sync.commands import ItemIdArgs, NoteAdd, NoteAddArgs, NoteDelete, NoteUpdate, NoteUpdateArgs
from tools_server.sync.mirror import Mirror
from tools_server.text import clip
from tools_server.user import local_time, timezone_of

CommentsInput = tuple[list[NewComment], list[CommentEdit], list[str]]
MAX_LISTED_PER_TARGET = 20
_CONTENT_CHARS = 200


def plan_comments(changes: CommentsInput, mirror: Mirror, *, new_uuid: NewUuid = new_uuid4) -> Plan:
    adds, edits, deletes = changes
    steps: list[Step] = []
    for comment in adds:
        index = len(steps)
        if comment.task is not None:
            task = comment.task
            label = f"comment on {label_of(mirror, task)}"
            missing = f"task: no task with id {task}"
            if mirror.gone.get(task, ("completed",))[0] == "deleted":
                steps.append(Step(index, label, error=LocalError("ITEM_NOT_FOUND", missing)))
                continue
            args = NoteAddArgs(item_id=task, content=comment.content)
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
            args = NoteAddArgs(project_id=project_id, content=comment.content)
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


def _existing(index: int, note_id: str, mirror: Mirror) -> Step:
    note = mirror.notes.get(note_id)
    if note is None:
        return Step(index, note_id, error=LocalError("NOTE_NOT_FOUND", f"no comment with id {note_id}"))
    return Step(index, clip(note.content, 40))


class CommentBrief(BaseModel):
    id: str
    on: str  # the task or project id
    posted: str  # in the user's timezone
    content: str


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
            )
            briefs.append(brief)
            lines.append(f"- {brief.id} {brief.posted} {brief.content}")
        if len(found) > MAX_LISTED_PER_TARGET:
            lines.append(f"+{len(found) - MAX_LISTED_PER_TARGET} more")
    return lines, briefs
