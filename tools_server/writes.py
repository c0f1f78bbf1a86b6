"""The one write pipeline: a declarative spec per write tool, run by ``run_write``.

plan (pure, against the mirror; names may need a fresh sync) -> preview, or snapshot -> send -> result (unconfirmed
commands kept for resend_writes) -> undo record -> the short text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Generic, TypeVar

from tools_server.inputs import ItemChanges, MoveTarget, NewItem, NewProject
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
from tools_server.session import PendingWrite, Session
from tools_server.summary import WriteResult, build_result, dry_run_result, summary_text
from tools_server.sync.client import SyncClient
from tools_server.sync.mirror import Mirror
from tools_server.sync.send import NotConfirmed, Outcome
from tools_server.undo import UndoRecord, WriteKind, images, plan_undo, undo_record

A = TypeVar("A")
_NAME_ERRORS = frozenset({"PROJECT_NOT_FOUND", "SECTION_NOT_FOUND"})
# Kinds whose undo needs the tasks as they were before the write.
_SNAPSHOT_KINDS: frozenset[WriteKind] = frozenset({"complete", "move", "update"})


@dataclass(frozen=True)
class Planned:
    plan: Plan
    projects: Plan | None = None  # add_item's new projects and sections, sent before the tasks
    note: str = ""  # appended to the text, preview or not (e.g. what undo cannot reverse)
    verb: str | None = None  # the text's verb when it depends on the input


def _never(_: object) -> bool:
    return False


def _no_extra(_: WriteResult) -> str:
    return ""


@dataclass(frozen=True)
class WriteSpec(Generic[A]):
    """One write tool: how its input becomes a plan and how its result is told and remembered."""

    verb: str
    planner: Callable[[A, Mirror], Planned]  # pure; may raise PlanError
    undo: WriteKind | None  # what undo can reverse afterwards; None: nothing (the write is not undoable)
    needs_mirror: Callable[[A], bool] = _never  # names (or current values) must be read from a synced mirror
    missed_names: Callable[[Planned], bool] = _never  # a name was not found: one more sync may know it
    extra: Callable[[WriteResult], str] = _no_extra  # said after the counts of a sent write
    recurrence: bool = False  # report which tasks recurred instead of completing


async def _plan(spec: WriteSpec[A], session: Session, client: SyncClient, args: A) -> Planned:
    # Plain writes do not need the mirror, and then their first request both writes and does the full sync.
    fresh = not session.mirror.synced
    if spec.needs_mirror(args):
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
    spec: WriteSpec[A], session: Session, client: SyncClient, args: A, dry_run: bool
) -> tuple[str, WriteResult]:
    planned = await _plan(spec, session, client, args)
    plan, projects = planned.plan, planned.projects
    if dry_run:
        result = dry_run_result(plan, projects)
        return summary_text(spec.verb, plan, result, extra=planned.note), result
    commands = [*(projects.commands if projects is not None else ()), *plan.commands]
    seen = images(session.mirror, commands, with_items=spec.undo in _SNAPSHOT_KINDS)
    outcome = await session.execute(client, commands)
    result = _result(session, PendingWrite(spec.verb, plan, projects, commands, outcome, recurrence=spec.recurrence))
    # One level of undo: a write that cannot be undone (undo itself included) leaves nothing to undo.
    session.last_write = undo_record(spec.undo, seen, commands, result, outcome) if spec.undo is not None else None
    return summary_text(planned.verb or spec.verb, plan, result, extra=spec.extra(result) + planned.note), result


def _result(session: Session, write: PendingWrite) -> WriteResult:
    """The structured result; a write with unconfirmed commands is kept so resend_writes can finish it safely."""
    result = build_result(
        write.plan, write.outcome, session.mirror, recurrence=write.recurrence, projects=write.projects
    )
    if any(isinstance(s, NotConfirmed) for s in write.outcome.statuses.values()):
        result.resend = session.keep_pending(write)
    return result


async def run_resend(session: Session, client: SyncClient, batch: str) -> tuple[str, WriteResult]:
    """Send a kept write's unconfirmed commands again with their original uuids: the backend runs each at most once."""
    write = session.pending.pop(batch, None)
    if write is None:
        known = ", ".join(session.pending) or "none"
        raise PlanError(f"batch: unknown or already confirmed batch {batch!r} (pending in this session: {known})")
    commands = write.unconfirmed()
    again = await session.execute(client, commands, Outcome(temp_id_mapping=dict(write.outcome.temp_id_mapping)))
    write.outcome.statuses.update(again.statuses)
    write.outcome.temp_id_mapping.update(again.temp_id_mapping)
    write.outcome.requests += again.requests
    result = _result(session, write)
    extra = _projects_note(result) if write.projects else _recurring_note(result)
    return f"Resent {len(commands)} unconfirmed commands. " + summary_text(
        write.verb, write.plan, result, extra=extra
    ), result


# ---------------------------------------------------------------------------------------------------------------------
# The specs


def _projects_note(result: WriteResult) -> str:
    extra = ""
    if result.projects:
        made = [r for r in result.projects if r.error_tag is None]
        extra = f" Created {len(made)} of {len(result.projects)} projects/sections."
        failed = [f"{r.name}: {r.error_tag} {r.message}" for r in result.projects if r.error_tag is not None]
        if failed:
            extra += " Not created: " + "; ".join(failed[:5]) + "."
    return extra


def _recurring_note(result: WriteResult) -> str:
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


def _plan_reverse(record: UndoRecord, mirror: Mirror) -> Planned:
    plan, cannot = plan_undo(record, mirror)
    note = (" Cannot undo: " + "; ".join(cannot) + ".") if cannot else ""
    return Planned(plan, note=note, verb=f"Undid the last {record.kind}: reverted")


def undo_target(session: Session) -> UndoRecord:
    """The write undo reverses: this session's last one; PlanError when there is none or no session to ask."""
    if not session.attributed:
        raise PlanError(
            "undo needs a session to know whose write was last; this HTTP client is sessionless (protocol 2026-07-28). "
            "Reverse the write explicitly (complete_items/move_items/update_items), or connect over stdio"
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
        return Planned(Plan(steps, (), (reorder,)), verb="Reordered")
    steps = tuple(replace(s, shared=reorder.uuid) if s.error is None else s for s in plan.steps)
    return Planned(Plan(steps, plan.notes, (reorder,)))


# Project and section names need the mirror; a parent id does not (the backend refuses cycles as well), unless a
# position needs the siblings there.
MOVE = WriteSpec[tuple[list[str], MoveTarget]](
    "Moved",
    _plan_move,
    undo="move",
    needs_mirror=lambda a: a[1].to_parent is None or a[1].position is not None,
)
REOPEN = WriteSpec[list[str]]("Reopened", lambda ids, m: Planned(plan_reopen(ids, m)), undo="reopen")
# An explicit due date on a recurring task keeps its recurrence, read from the task's current due.
UPDATE = WriteSpec[list[ItemChanges]](
    "Updated",
    lambda changes, m: Planned(plan_update(changes, m)),
    undo="update",
    needs_mirror=lambda changes: any(c.due_date or c.due_datetime or "reminders" in (c.clear or ()) for c in changes),
)
DELETE = WriteSpec[list[str]](
    "Deleted",
    lambda ids, m: Planned(plan_delete(ids, m)),
    undo="delete",
    extra=lambda _: " Subtasks went with them; this cannot be undone.",
)
UNDO = WriteSpec[UndoRecord]("Reverted", _plan_reverse, undo=None, needs_mirror=lambda _: True)
