"""The write tools' flow: resolve names against the mirror, plan, send (or preview), summarise."""

from __future__ import annotations

from tools_server.commands import Plan, PlanError, plan_add, plan_complete, plan_move, resolve_destination
from tools_server.edits import UndoRecord, WriteKind, plan_delete, plan_undo, plan_update, snapshot
from tools_server.inputs import ItemChanges, MoveTarget, NewItem, NewProject
from tools_server.models import Command, Item, arg_value
from tools_server.session import PendingWrite, Session
from tools_server.summary import NotConfirmed, Outcome, WriteResult, build_result, dry_run_result, summary_text
from tools_server.sync_client import SyncClient

_NAME_ERRORS = frozenset({"PROJECT_NOT_FOUND", "SECTION_NOT_FOUND"})


def _uses_names(items: list[NewItem]) -> bool:
    return any(i.project is not None or i.section is not None or _uses_names(i.subtasks or []) for i in items)


def _has_name_errors(*plans: Plan) -> bool:
    return any(s.error is not None and s.error.tag in _NAME_ERRORS for p in plans for s in p.steps)


async def run_add(
    session: Session, client: SyncClient, items: list[NewItem], new_projects: list[NewProject], dry_run: bool
) -> tuple[str, WriteResult]:
    # Names need the mirror; plain tasks do not, and then the first request both writes and does the full sync.
    fresh = not session.mirror.synced
    if _uses_names(items) or any(p.parent for p in new_projects):
        await session.ensure_synced(client)
    projects, plan = plan_add(items, session.mirror, new_projects=new_projects)
    if _has_name_errors(projects, plan) and not fresh:
        # The name may belong to a project created elsewhere since our last sync: look once more before failing.
        await session.request(client)
        projects, plan = plan_add(items, session.mirror, new_projects=new_projects)
    if dry_run:
        result = dry_run_result(plan, projects)
        return summary_text("Added", plan, result), result
    commands = [*projects.commands, *plan.commands]
    outcome = await session.execute(client, commands)
    result = _result(session, PendingWrite("Added", plan, projects, commands, outcome))
    roots = [r.id for r in result.steps if r.status == "ok" and r.id is not None and r.parent_index is None]
    made = sum(p.error_tag is None for p in result.projects or ())
    session.last_write = UndoRecord("add", created=roots, projects_created=made)
    return summary_text("Added", plan, result, extra=_projects_note(result, projects)), result


def _projects_note(result: WriteResult, projects: Plan) -> str:
    extra = ""
    if result.projects:
        # result.projects follows the project plan's steps: each is a project or one of its sections.
        counts: dict[str, list[int]] = {"project": [0, 0], "section": [0, 0]}
        for step, created in zip(projects.steps, result.projects, strict=True):
            tally = counts["section" if step.kind == "section" else "project"]
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


def _recurring_note(result: WriteResult) -> str:
    recurred = result.recurring or []
    if not recurred:
        return ""
    shown = ", ".join(f"{r.id} → {r.next_due}" for r in recurred[:5])
    more = f" +{len(recurred) - 5} more" if len(recurred) > 5 else ""
    return f" {len(recurred)} recurring, now due: {shown}{more}."


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
    commands: list[Command] = write.unconfirmed()
    fresh = Outcome(temp_id_mapping=dict(write.outcome.temp_id_mapping))
    again = await session.execute(client, commands, fresh)
    write.outcome.statuses.update(again.statuses)
    write.outcome.temp_id_mapping.update(again.temp_id_mapping)
    write.outcome.requests += again.requests
    result = _result(session, write)
    extra = _projects_note(result, write.projects) if write.projects else _recurring_note(result)
    return f"Resent {len(commands)} unconfirmed commands. " + summary_text(
        write.verb, write.plan, result, extra=extra
    ), result


async def run_complete(session: Session, client: SyncClient, ids: list[str], dry_run: bool) -> tuple[str, WriteResult]:
    plan = plan_complete(ids, session.mirror)
    if dry_run:
        result = dry_run_result(plan)
        return summary_text("Completed", plan, result), result
    before = snapshot(session.mirror, _targets(plan.commands))
    outcome = await session.execute(client, plan.commands)
    result = _result(session, PendingWrite("Completed", plan, None, list(plan.commands), outcome, recurrence=True))
    _remember(session, "complete", before, result)
    return summary_text("Completed", plan, result, extra=_recurring_note(result)), result


async def run_move(
    session: Session, client: SyncClient, ids: list[str], target: MoveTarget, dry_run: bool
) -> tuple[str, WriteResult]:
    fresh = not session.mirror.synced
    if target.to_parent is None:
        # Project and section names need the mirror; a parent id does not (the backend refuses cycles as well).
        await session.ensure_synced(client)
    try:
        destination = resolve_destination(target, session.mirror)
    except PlanError:
        if fresh:
            raise
        await session.request(client)
        destination = resolve_destination(target, session.mirror)
    plan = plan_move(ids, destination, session.mirror)
    if dry_run:
        result = dry_run_result(plan)
        return summary_text("Moved", plan, result), result
    before = snapshot(session.mirror, _targets(plan.commands))
    outcome = await session.execute(client, plan.commands)
    result = _result(session, PendingWrite("Moved", plan, None, list(plan.commands), outcome))
    _remember(session, "move", before, result)
    return summary_text("Moved", plan, result), result


def _targets(commands: list[Command]) -> list[str]:
    """The task id each command acts on (commands that edit an existing task all carry ``args.id``)."""
    return [str(arg_value(c.args, "id") or "") for c in commands]


def _remember(session: Session, kind: WriteKind, before: dict[str, Item | None], result: WriteResult) -> UndoRecord:
    done = [r.id for r in result.steps if r.status == "ok" and r.id is not None]
    record = UndoRecord(kind, before=before, done=done)
    session.last_write = record
    return record


async def run_update(
    session: Session, client: SyncClient, changes: list[ItemChanges], dry_run: bool
) -> tuple[str, WriteResult]:
    if any(c.due_date or c.due_datetime for c in changes):
        await session.ensure_synced(client)  # recurrence is kept from the task's current due
    plan = plan_update(changes, session.mirror)
    if dry_run:
        result = dry_run_result(plan)
        return summary_text("Updated", plan, result), result
    commands = plan.commands
    before = snapshot(session.mirror, _targets(commands))
    outcome = await session.execute(client, commands)
    result = _result(session, PendingWrite("Updated", plan, None, list(commands), outcome))
    record = _remember(session, "update", before, result)
    record.fields = {
        target: set(c.args.model_fields_set) - {"id"} for target, c in zip(_targets(commands), commands, strict=True)
    }
    return summary_text("Updated", plan, result), result


async def run_delete(session: Session, client: SyncClient, ids: list[str], dry_run: bool) -> tuple[str, WriteResult]:
    plan = plan_delete(ids, session.mirror)
    if dry_run:
        result = dry_run_result(plan)
        return summary_text("Deleted", plan, result), result
    outcome = await session.execute(client, plan.commands)
    result = _result(session, PendingWrite("Deleted", plan, None, list(plan.commands), outcome))
    _remember(session, "delete", {}, result)
    return summary_text("Deleted", plan, result, extra=" Subtasks went with them; this cannot be undone."), result


async def run_undo(session: Session, client: SyncClient, dry_run: bool) -> tuple[str, WriteResult]:
    if not session.attributed:
        raise PlanError(
            "undo needs a session to know whose write was last; this HTTP client is sessionless (protocol 2026-07-28). "
            "Reverse the write explicitly (complete_items/move_items/update_items), or connect over stdio"
        )
    record = session.last_write
    if record is None:
        raise PlanError("nothing to undo: this session has made no write since it started or since the last undo")
    await session.ensure_synced(client)
    plan, cannot = plan_undo(record, session.mirror)
    note = (" Cannot undo: " + "; ".join(cannot) + ".") if cannot else ""
    if dry_run:
        result = dry_run_result(plan)
        return summary_text("Undo would revert", plan, result, extra=note), result
    outcome = await session.execute(client, plan.commands)
    result = _result(session, PendingWrite("Reverted", plan, None, list(plan.commands), outcome))
    session.last_write = None  # one level: undoing the undo is not offered
    verb = f"Undid the last {record.kind}:"
    return summary_text(verb + " reverted", plan, result, extra=note), result
