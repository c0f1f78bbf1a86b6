"""The one write pipeline: a declarative spec per write tool, run by ``run_write``.

plan (pure, against the mirror; names may need a fresh sync) -> preview, or snapshot -> send -> result (unconfirmed
commands kept for resend_writes) -> undo record -> the short text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Generic, TypeVar

import anyio

from tools_server.inputs import ItemChanges, MoveTarget, NewItem, NewProject, ProjectOp
from tools_server.placement import place, plan_reorder
from tools_server.plans import (
    Plan,
    PlanError,
    Step,
    label_of,
    plan_add,
    plan_complete,
    plan_delete,
    plan_move,
    plan_reopen,
    plan_update,
    resolve_destination,
)
from tools_server.plans_comments import CommentsInput, plan_comments
from tools_server.plans_projects import plan_projects, tasks_removed
from tools_server.session import DELETE_UNCONFIRMED_MAX, DELETE_WINDOW_SECONDS, PendingFull, PendingWrite, Session
from tools_server.summary import WriteResult, build_result, combine, dry_run_result, summary_text
from tools_server.sync.client import SyncClient
from tools_server.sync.mirror import Mirror
from tools_server.sync.send import Outcome
from tools_server.sync.wire import Command, Item, SectionAdd
from tools_server.undo import OBJECT_KINDS, UndoRecord, WriteKind, images, plan_undo, state_of, undo_record
from tools_server.undo_objects import Image, object_snapshot

A = TypeVar("A")
_NAME_ERRORS = frozenset({"PROJECT_NOT_FOUND", "SECTION_NOT_FOUND"})
# Kinds whose undo needs the tasks as they were before the write.
_SNAPSHOT_KINDS: frozenset[WriteKind] = frozenset({"complete", "move", "update", "reopen"})


@dataclass(frozen=True)
class Planned:
    plan: Plan
    projects: Plan | None = None  # add_item's new projects and sections, sent before the tasks
    note: str = ""  # appended to the text, preview or not (e.g. what undo cannot reverse)
    verb: str | None = None  # the text's verb when it depends on the input
    removes: int = 0  # tasks the plan deletes, subtasks included: over the threshold it needs a confirmation
    undoing: UndoRecord | None = None  # undo: the record it reverses (forgotten once sent)


class NeedsConfirmation(Exception):
    """The write removes more tasks than may go unasked: the user must confirm ``count`` (nothing was sent)."""

    def __init__(self, count: int, message: str) -> None:
        super().__init__(message)
        self.count = count


def _never(_: object) -> bool:
    return False


def _no_extra(_result: WriteResult, _write: PendingWrite) -> str:
    return ""


@dataclass(frozen=True)
class WriteSpec(Generic[A]):
    """One write tool: how its input becomes a plan and how its result is told and remembered."""

    verb: str
    planner: Callable[[A, Mirror], Planned]  # pure; may raise PlanError
    undo: WriteKind | None  # what undo can reverse afterwards; None: nothing (the write is not undoable)
    needs_mirror: Callable[[A], bool] = _never  # names must be read from a synced mirror
    # The plan depends on the tasks' current values (a recurrence kept, subtasks counted, what undo compares): one
    # incremental read first, so a change made elsewhere since our last request is planned with, not overwritten.
    refresh: Callable[[A], bool] = _never
    missed_names: Callable[[Planned], bool] = _never  # a name was not found: one more sync may know it
    extra: Callable[[WriteResult, PendingWrite], str] = _no_extra  # said after the counts of a sent write
    recurrence: bool = False  # report which tasks recurred instead of completing
    # Read changes made elsewhere before planning (one incremental request), when the plan depends on them.
    refresh: Callable[[A], bool] = _never


async def _plan(spec: WriteSpec[A], session: Session, client: SyncClient, args: A) -> Planned:
    # Plain writes do not need the mirror, and then their first request both writes and does the full sync.
    fresh = not session.mirror.synced
    if spec.refresh(args):
        await session.request(client)
        fresh = True
    elif spec.needs_mirror(args):
        await session.ensure_synced(client)
    try:
        planned = spec.planner(args, session.mirror)
        if fresh or not spec.missed_names(planned):
            return planned
    except PlanError:
        if fresh:
            raise
    # The name may belong to a project created elsewhere since our last sync: look once more before failing.
    await session.request(client)
    return spec.planner(args, session.mirror)


async def run_write(
    spec: WriteSpec[A], session: Session, client: SyncClient, args: A, dry_run: bool, confirm: int | None = None
) -> tuple[str, WriteResult]:
    planned = await _plan(spec, session, client, args)
    plan, projects = planned.plan, planned.projects
    if dry_run:
        result = dry_run_result(plan, projects)
        return summary_text(spec.verb, plan, result, extra=planned.note), result
    unasked = planned.removes > 0 and confirm != planned.removes
    if unasked:
        _check_removal(spec, session, planned.removes)
    commands = [*(projects.commands if projects is not None else ()), *plan.commands]
    seen = images(session.mirror, commands, with_items=spec.undo in _SNAPSHOT_KINDS)
    objects: dict[str, Image | None] = {}
    if spec.undo in OBJECT_KINDS:
        objects, tasks = object_snapshot(session.mirror, commands)
        seen.items = dict[str, Item | None](tasks)
    write = PendingWrite(spec.verb, plan, projects, commands, Outcome(), recurrence=spec.recurrence)
    try:
        session.hold(write)
    except PendingFull as exc:
        raise PlanError(str(exc)) from exc
    await _send(session, client, write, commands)
    if unasked:
        session.unconfirmed_removals.append((session.clock.monotonic(), planned.removes))
    result = _result(session, write)
    if planned.undoing is not None:
        session.handles.forget(planned.undoing)  # undone: its handle must not revert it twice
    # One level of undo: a write that cannot be undone (undo itself included) leaves nothing to undo.
    record = (
        undo_record(spec.undo, seen, commands, result, session.mirror, write.outcome, objects=objects)
        if spec.undo is not None
        else None
    )
    session.last_write = record
    if record is not None and record.kind != "delete" and (record.done or record.created or record.sent):
        result.write = session.handles.mint(record)
    return summary_text(planned.verb or spec.verb, plan, result, extra=spec.extra(result, write) + planned.note), result


def _check_removal(spec: WriteSpec[A], session: Session, count: int) -> None:
    """Raise NeedsConfirmation when ``count`` more tasks would bring this session's unconfirmed removals in the window
    over the threshold."""
    recent = session.removed_recently()
    if recent + count <= DELETE_UNCONFIRMED_MAX:
        return
    what = "this undo deletes" if spec.undo is None else "deleting these"
    earlier = (
        f" ({recent} were already removed without confirmation in the last {DELETE_WINDOW_SECONDS / 60:.0f} minutes)"
        if recent
        else ""
    )
    raise NeedsConfirmation(
        count,
        f"{what} {count} tasks (subtasks included){earlier} needs confirm={count} (the number of tasks), after "
        "checking with the user; nothing was sent",
    )


async def _send(session: Session, client: SyncClient, write: PendingWrite, commands: list[Command]) -> None:
    """Send under a resend id held from before the first byte: a failure or cancel midway keeps what is unconfirmed.

    The send fills ``write.outcome`` as it goes, so an interruption leaves the statuses read so far; commands with
    none are the pending ones.
    """
    write.outcome.retry_after = None
    try:
        await session.execute(client, commands, write.outcome)
    except BaseException as exc:
        _interrupted(session, write, cancelled=isinstance(exc, anyio.get_cancelled_exc_class()))
        raise


def _interrupted(session: Session, write: PendingWrite, *, cancelled: bool) -> None:
    """The send raised (token rejected, refused, cancelled): keep the batch unless nothing can have run."""
    if not cancelled and not write.outcome.statuses:
        session.pending.pop(write.batch, None)
        return
    pending = len(write.unconfirmed())
    if pending:
        how = "was cancelled" if cancelled else "stopped early"
        session.notices.append(
            f"An earlier write {how}: {pending} of its commands are unconfirmed and kept in batch '{write.batch}'; "
            "call resend_writes to finish them (safe: nothing is applied twice)."
        )
    session.settle(write)


def _result(session: Session, write: PendingWrite) -> WriteResult:
    """The structured result; a write with unconfirmed commands keeps its batch so resend_writes can finish it."""
    result = build_result(
        write.plan, write.outcome, session.mirror, recurrence=write.recurrence, projects=write.projects
    )
    result.resend = session.settle(write)
    if result.resend is not None:
        result.retry_after = write.outcome.retry_after
    return result


async def run_resend(session: Session, client: SyncClient, batch: str | None) -> tuple[str, WriteResult]:
    """Send kept writes' unconfirmed commands again with their original uuids: the backend runs each at most once.

    No ``batch``: every write pending in this session, oldest first.
    """
    if batch is not None and batch not in session.pending:
        known = ", ".join(session.pending) or "none"
        raise PlanError(f"batch: unknown or already confirmed batch {batch!r} (pending in this session: {known})")
    batches = [batch] if batch is not None else list(session.pending)
    if not batches:
        raise PlanError("resend_writes: nothing is pending in this session; every write was confirmed or failed")
    texts: list[str] = []
    results: list[WriteResult] = []
    for name in batches:
        write = session.pending[name]
        commands = write.unconfirmed()
        await _send(session, client, write, commands)
        result = _result(session, write)
        extra = _projects_note(result, write) if write.projects else _recurring_note(result, write)
        texts.append(
            f"Resent {len(commands)} unconfirmed commands. " + summary_text(write.verb, write.plan, result, extra=extra)
        )
        results.append(result)
    if len(results) == 1:
        return texts[0], results[0]
    return "\n".join(f"[{name}] {text}" for name, text in zip(batches, texts, strict=True)), combine(results)


# ---------------------------------------------------------------------------------------------------------------------
# The specs


def _projects_note(result: WriteResult, write: PendingWrite) -> str:
    extra = ""
    if result.projects and write.projects is not None:
        # result.projects follows the project plan's steps: each is a project or one of its sections.
        counts: dict[str, list[int]] = {"project": [0, 0], "section": [0, 0]}
        for step, created in zip(write.projects.steps, result.projects, strict=True):
            is_section = isinstance(step.command, SectionAdd)
            tally = counts["section" if is_section else "project"]
            tally[0] += created.error_tag is None
            tally[1] += 1
        parts = [
            (f"{made} of " if made < total else "") + (f"{total} {kind}" if total == 1 else f"{total} {kind}s")
            for kind, (made, total) in counts.items()
            if total
        ]
        extra = " Created " + " and ".join(parts) + "."
        failed = [f"{r.name}: {r.error_tag} {r.message}" for r in result.projects if r.error_tag is not None]
        if failed:
            extra += " Not created: " + "; ".join(failed[:5]) + "."
    return extra


def _recurring_note(result: WriteResult, _write: PendingWrite | None = None) -> str:
    recurred = result.recurring or []
    if not recurred:
        return ""
    shown = ", ".join(f"{r.id} → {r.next_due}" for r in recurred[:5])
    more = f" +{len(recurred) - 5} more" if len(recurred) > 5 else ""
    return f" {len(recurred)} recurring, now due: {shown}{more}."


AddInput = tuple[list[NewItem], list[NewProject]]


def _uses_names(items: list[NewItem]) -> bool:
    return any(i.project is not None or i.section is not None or _uses_names(i.subtasks or []) for i in items)


def _plan_add(args: AddInput, mirror: Mirror) -> Planned:
    projects, plan = plan_add(args[0], mirror, new_projects=args[1])
    return Planned(plan, projects)


def _missed_names(planned: Planned) -> bool:
    plans = (planned.plan, *((planned.projects,) if planned.projects is not None else ()))
    return any(s.error is not None and s.error.tag in _NAME_ERRORS for p in plans for s in p.steps)


_UNDONE = {"comments": "comment_items call", "projects": "manage_projects call"}


def _plan_reverse(record: UndoRecord, mirror: Mirror) -> Planned:
    reversal = plan_undo(record, mirror)
    note = ""
    if reversal.changed:
        more = len(reversal.changed) - 10
        shown = ", ".join(reversal.changed[:10]) + (f" +{more} more" if more > 0 else "")
        note += f" Left as they are, changed elsewhere since: {shown}."
    if reversal.cannot:
        note += " Cannot undo: " + "; ".join(reversal.cannot) + "."
    verb = f"Undid the {_UNDONE.get(record.kind, record.kind)}: reverted"
    return Planned(reversal.plan, note=note, verb=verb, removes=reversal.removes, undoing=record)


def undo_target(session: Session, write: str | None) -> UndoRecord:
    """The write undo reverses: the one ``write`` names (any client of the same account), else this session's last
    one; PlanError when there is none or no session to ask."""
    if write is not None:
        record = session.handles.records.get(write)
        if record is None:
            raise PlanError(
                f"write: unknown, expired or already undone write handle {write!r} (handles come from write results "
                "of this account)"
            )
        return record
    if not session.attributed:
        raise PlanError(
            "undo without a write handle needs a session to know whose write was last; this HTTP client is "
            "sessionless (protocol 2026-07-28): pass write=<the 'write' id of the result you want to undo>"
        )
    if session.last_write is None:
        raise PlanError("nothing to undo: this session has made no write since it started or since the last undo")
    return session.last_write


ADD = WriteSpec[AddInput](
    "Added",
    _plan_add,
    undo="add",
    needs_mirror=lambda a: _uses_names(a[0]) or any(p.parent for p in a[1]),
    missed_names=_missed_names,
    extra=_projects_note,
)
COMPLETE = WriteSpec[list[str]](
    "Completed", lambda ids, m: Planned(plan_complete(ids, m)), undo="complete", extra=_recurring_note, recurrence=True
)


def _plan_move(args: tuple[list[str], MoveTarget], mirror: Mirror) -> Planned:
    ids, target = args
    moving = target.to_project is not None or target.to_section is not None or target.to_parent is not None
    destination = resolve_destination(target, mirror) if moving else None
    plan = plan_move(ids, destination, mirror) if destination is not None else None
    if target.position is None:
        assert plan is not None
        return Planned(plan)
    unique = list(dict.fromkeys(ids))
    if plan is not None:  # tasks refused locally (a cycle) stay where they are and out of the order
        unique = [i for s, i in zip(plan.steps, unique, strict=True) if s.error is None]
    reorder = plan_reorder(unique, place(unique or ids, destination, target.position, mirror), target.position, mirror)
    if plan is None:
        steps = tuple(Step(n, label_of(mirror, i), target=i, shared=reorder.uuid) for n, i in enumerate(unique))
        return Planned(Plan(steps, (), after=(reorder,)), verb="Reordered")
    steps = tuple(replace(s, shared=reorder.uuid) if s.error is None else s for s in plan.steps)
    return Planned(Plan(steps, plan.notes, after=(reorder,)))


# Project and section names need the mirror; a parent id does not (the backend refuses cycles as well), unless a
# position needs the siblings there.
MOVE = WriteSpec[tuple[list[str], MoveTarget]](
    "Moved",
    _plan_move,
    undo="move",
    needs_mirror=lambda a: a[1].to_parent is None or a[1].position is not None,
)
REOPEN = WriteSpec[list[str]]("Reopened", lambda ids, m: Planned(plan_reopen(ids, m)), undo="reopen")
# An explicit due date on a recurring task keeps its recurrence, read from the task's current due (freshly read: a
# recurrence changed elsewhere since our last request must not be put back).
UPDATE = WriteSpec[list[ItemChanges]](
    "Updated",
    lambda changes, m: Planned(plan_update(changes, m)),
    undo="update",
    refresh=lambda changes: any(c.due_date or c.due_datetime for c in changes),
    needs_mirror=lambda changes: any("reminders" in (c.clear or ()) for c in changes),  # the task's reminders
)


def _plan_delete(ids: list[str], mirror: Mirror) -> Planned:
    """Deleting a task deletes its subtasks: the count that needs confirmation is every task that goes."""
    children = mirror.children_index()
    gone = set(ids)
    for item_id in ids:
        if state_of(mirror, item_id) is not None:
            gone.update(mirror.descendants(item_id, children))
    return Planned(plan_delete(ids, mirror), removes=len(gone))


DELETE = WriteSpec[list[str]](
    "Deleted",
    _plan_delete,
    undo="delete",
    refresh=lambda _: True,
    extra=lambda _result, _write: " Subtasks went with them; this cannot be undone.",
)
# Undo compares each target with what our write left, so it reads what changed elsewhere first.
UNDO = WriteSpec[UndoRecord]("Reverted", _plan_reverse, undo=None, refresh=lambda _: True)
# Ids and names are checked against the mirror; one not found there may be new elsewhere: sync once and look again.
_OBJECT_ERRORS = frozenset({"ITEM_NOT_FOUND", "NOTE_NOT_FOUND", "LABEL_NOT_FOUND", *_NAME_ERRORS})


def _missed_objects(planned: Planned) -> bool:
    return any(s.error is not None and s.error.tag in _OBJECT_ERRORS for s in planned.plan.steps)


COMMENTS = WriteSpec[CommentsInput](
    "Applied",
    lambda a, m: Planned(plan_comments(a, m)),
    undo="comments",
    needs_mirror=lambda _: True,
    missed_names=_missed_objects,
)


def _plan_projects(ops: list[ProjectOp], mirror: Mirror) -> Planned:
    # Deleting a project or section deletes its tasks: counted like delete_items, for the same confirmation.
    plan = plan_projects(ops, mirror)
    return Planned(plan, removes=tasks_removed(plan, mirror))


# Only adds that name nothing (a label, a root project) can be planned without the account's objects.
PROJECTS = WriteSpec[list[ProjectOp]](
    "Applied",
    _plan_projects,
    undo="projects",
    needs_mirror=lambda ops: any(op.op != "add" or op.parent is not None or op.project is not None for op in ops),
    missed_names=_missed_objects,
)
