"""The write tools' flow: resolve names against the mirror, plan, send (or preview), summarise."""

from __future__ import annotations

from tools_server.commands import Plan, PlanError, plan_add, plan_complete, plan_move, resolve_destination
from tools_server.inputs import MoveTarget, NewItem, NewProject
from tools_server.models import Command
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
    return summary_text("Added", plan, result, extra=_projects_note(result)), result


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
    extra = _projects_note(result) if write.projects else _recurring_note(result)
    return f"Resent {len(commands)} unconfirmed commands. " + summary_text(
        write.verb, write.plan, result, extra=extra
    ), result


async def run_complete(session: Session, client: SyncClient, ids: list[str], dry_run: bool) -> tuple[str, WriteResult]:
    plan = plan_complete(ids, session.mirror)
    if dry_run:
        result = dry_run_result(plan)
        return summary_text("Completed", plan, result), result
    outcome = await session.execute(client, plan.commands)
    result = _result(session, PendingWrite("Completed", plan, None, list(plan.commands), outcome, recurrence=True))
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
    outcome = await session.execute(client, plan.commands)
    result = _result(session, PendingWrite("Moved", plan, None, list(plan.commands), outcome))
    return summary_text("Moved", plan, result), result
