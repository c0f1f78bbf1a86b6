"""The write tools' specs: one ``WriteSpec`` per tool (its planner, undo kind, text extras), run by
``writes.run_write``. Adding a write tool over existing commands is a planner and one spec here."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from tools_server.dues import zone
from tools_server.flows.pipeline import (
    NAME_ERRORS,
    Planned,
    WriteSpec,
    projects_note,
    recurring_note,
)
from tools_server.flows.removals import Doomed
from tools_server.inputs import ItemChanges, MoveTarget, NewItem, NewProject, ProjectOp
from tools_server.plans import (
    CommentsInput,
    Plan,
    PlanError,
    Step,
    UndoRecord,
    plan_undo,
    positions,
    state_of,
)
from tools_server.plans import comments as comment_plans
from tools_server.plans import projects as project_plans
from tools_server.plans import tasks as task_plans
from tools_server.plans.quick_add import QuickAddError, read_items
from tools_server.state import Session
from tools_server.sync.commands import ItemDelete, target_of
from tools_server.sync.mirror import Mirror
from tools_server.sync.resource_types import PROJECTS as PROJECT_TYPE
from tools_server.sync.resource_types import SECTIONS

# The tasks, the projects to create first, and with quick the moment the lines are read at (a deadline phrase is
# computed from the user's today, in the zone of the mirror).
AddInput = tuple[list[NewItem], list[NewProject], datetime | None]


def _uses_names(items: list[NewItem]) -> bool:
    # Subtasks name no project, section or assignee: they live where their parent lives.
    return any(i.project is not None or i.section is not None or i.assignee is not None for i in items)


def _plan_add(args: AddInput, mirror: Mirror) -> Planned:
    items, readings = args[0], list[str]()
    if args[2] is not None:
        try:
            items, readings = read_items(items, args[2].astimezone(zone(mirror.timezone)).date())
        except QuickAddError as exc:
            raise PlanError(str(exc)) from None
    projects, plan = task_plans.plan_add(items, mirror, new_projects=args[1])
    if readings:
        plan = replace(plan, notes=(*plan.notes, *readings))
    return Planned(plan, projects)


def _missed_names(planned: Planned) -> bool:
    plans = (planned.plan, *((planned.projects,) if planned.projects is not None else ()))
    return any(s.error is not None and s.error.tag in NAME_ERRORS for p in plans for s in p.steps)


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


async def undo_target(session: Session, write: str | None) -> UndoRecord:
    """The write undo reverses: the one ``write`` names (any client of the same account), else this session's last
    one; PlanError when there is none or no session to ask."""
    if write is not None:
        record = await session.state.find_write(write)
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
    # A store kept across processes (stdio, `call`) knows the account's last write, made by an earlier process too.
    last = await session.state.last_write() or session.last_write
    if last is None:
        raise PlanError("nothing to undo: this session has made no write since it started or since the last undo")
    return last


ADD = WriteSpec[AddInput](
    "Added",
    _plan_add,
    undo="add",
    # Quick Add lines name projects in their text, and their deadlines need the user's zone.
    needs_mirror=lambda a: a[2] is not None or _uses_names(a[0]) or any(p.parent for p in a[1]),
    missed_names=_missed_names,
    extra=projects_note,
)
COMPLETE = WriteSpec[list[str]](
    "Completed",
    lambda ids, m: Planned(task_plans.plan_complete(ids, m)),
    undo="complete",
    extra=recurring_note,
    recurrence=True,
)


def _plan_move(args: tuple[list[str], MoveTarget], mirror: Mirror) -> Planned:
    ids, target = args
    moving = target.to_project is not None or target.to_section is not None or target.to_parent is not None
    destination = task_plans.resolve_destination(target, mirror) if moving else None
    plan = task_plans.plan_move(ids, destination, mirror) if destination is not None else None
    if target.position is None:
        assert plan is not None
        return Planned(plan)
    unique = list(dict.fromkeys(ids))
    if plan is not None:  # tasks refused locally (a cycle) stay where they are and out of the order
        unique = [i for s, i in zip(plan.steps, unique, strict=True) if s.error is None]
    reorder = positions.plan_reorder(
        unique, positions.place(unique or ids, destination, target.position, mirror), target.position, mirror
    )
    if plan is None:
        steps = tuple(
            Step(n, task_plans.label_of(mirror, i), target=i, shared=reorder.uuid) for n, i in enumerate(unique)
        )
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
REOPEN = WriteSpec[list[str]]("Reopened", lambda ids, m: Planned(task_plans.plan_reopen(ids, m)), undo="reopen")
# An explicit due date on a recurring task keeps its recurrence, read from the task's current due (freshly read: a
# recurrence changed elsewhere since our last request must not be put back).
UPDATE = WriteSpec[list[ItemChanges]](
    "Updated",
    lambda changes, m: Planned(task_plans.plan_update(changes, m)),
    undo="update",
    # add_labels / remove_labels edit the task's labels as they are now, not as our last request saw them.
    refresh=lambda changes: any(
        c.due_date or c.due_datetime or c.add_labels is not None or c.remove_labels is not None for c in changes
    ),
    # The task's reminders; an assignee is one of the members of the task's project.
    needs_mirror=lambda changes: any(
        {"reminders", "locations"} & set(c.clear or ()) or c.remove_reminders or c.assignee is not None for c in changes
    ),
)


def _plan_delete(ids: list[str], mirror: Mirror) -> Planned:
    """Deleting a task deletes its subtasks: the count that needs confirmation is every task that goes."""
    gone = set(ids)
    for item_id in ids:
        if state_of(mirror, item_id) is not None:
            gone.update(mirror.descendants(item_id))
    return Planned(task_plans.plan_delete(ids, mirror), removes=len(gone))


DELETE = WriteSpec[list[str]](
    "Deleted",
    _plan_delete,
    undo="delete",
    refresh=lambda _: True,
    deletes=lambda ids, _planned, _mirror: Doomed(tasks=ids),
    extra=lambda _result, _write: " Subtasks went with them; this cannot be undone.",
)


# Undo compares each target with what our write left, so it reads what changed elsewhere first.
def _undo_deletes(record: UndoRecord, planned: Planned, mirror: Mirror) -> Doomed:
    tasks = [t for c in planned.plan.commands if isinstance(c, ItemDelete) and (t := target_of(c)) is not None]
    deleted = project_plans.deleted_with(planned.plan, mirror)
    return Doomed(
        tasks=tasks,
        projects=deleted.get(PROJECT_TYPE.name, set()),
        sections=deleted.get(SECTIONS.name, set()),
        ours=record.created_all,
    )


UNDO = WriteSpec[UndoRecord](
    "Reverted", _plan_reverse, undo=None, refresh=lambda _: True, deletes=_undo_deletes, keeps_completed=True
)
# Ids and names are checked against the mirror; one not found there may be new elsewhere: sync once and look again.
_OBJECT_ERRORS = frozenset({"ITEM_NOT_FOUND", "NOTE_NOT_FOUND", "LABEL_NOT_FOUND", *NAME_ERRORS})


def _missed_objects(planned: Planned) -> bool:
    return any(s.error is not None and s.error.tag in _OBJECT_ERRORS for s in planned.plan.steps)


COMMENTS = WriteSpec[CommentsInput](
    "Applied",
    lambda a, m: Planned(comment_plans.plan_comments(a, m)),
    undo="comments",
    needs_mirror=lambda _: True,
    missed_names=_missed_objects,
)


def _plan_projects(ops: list[ProjectOp], mirror: Mirror) -> Planned:
    # Deleting a project or section deletes its tasks: counted like delete_items, for the same confirmation.
    plan = project_plans.plan_projects(ops, mirror)
    return Planned(plan, removes=project_plans.tasks_removed(plan, mirror))


def _doomed(planned: Planned, mirror: Mirror) -> Doomed:
    deleted = project_plans.deleted_with(planned.plan, mirror)
    return Doomed(projects=deleted.get(PROJECT_TYPE.name, set()), sections=deleted.get(SECTIONS.name, set()))


# Only adds that name nothing (a label, a root project) can be planned without the account's objects.
PROJECTS = WriteSpec[list[ProjectOp]](
    "Applied",
    _plan_projects,
    undo="projects",
    needs_mirror=lambda ops: any(op.op != "add" or op.parent is not None or op.project is not None for op in ops),
    deletes=lambda _ops, planned, mirror: _doomed(planned, mirror),
    missed_names=_missed_objects,
    archived=lambda ops: any(op.op == "unarchive" and op.kind == "project" for op in ops),
)
