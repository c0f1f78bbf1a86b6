"""The one write pipeline: a declarative spec per write tool, run by ``run_write``.

plan (pure, against the mirror; names may need a fresh sync) -> preview, or snapshot -> send -> result (unconfirmed
commands kept for resend_writes) -> undo record -> the short text.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Generic, TypeVar

import anyio

from tools_server.flows.removals import Doomed, completed_going
from tools_server.plans import (
    PendingFull,
    PendingWrite,
    Plan,
    PlanError,
    UndoRecord,
    WriteKind,
    WriteResult,
    build_result,
    combine,
    dry_run_result,
    images,
    named,
    reversible,
    summary_text,
    undo_record,
    unresumable_text,
)
from tools_server.state import DELETE_UNCONFIRMED_MAX, DELETE_WINDOW_SECONDS, Session, StateRefusal
from tools_server.sync.client import SyncClient
from tools_server.sync.commands import Command, facts_of
from tools_server.sync.mirror import Mirror
from tools_server.sync.resource_types import RESOURCE_TYPES
from tools_server.sync.send import Outcome

A = TypeVar("A")
# How a model checks what a write whose batch is gone did, before writing anything again.
LOSS_CHECK = (
    "Check with find_items (or query_changes with a cursor from before the write) which of its tasks exist, and "
    "repeat only what is missing"
)
NAME_ERRORS = frozenset({"PROJECT_NOT_FOUND", "SECTION_NOT_FOUND"})


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
    # A missed name may be an archived project's (full syncs leave them out): read those too before failing.
    archived: Callable[[A], bool] = _never
    extra: Callable[[WriteResult, PendingWrite], str] = _no_extra  # said after the counts of a sent write
    recurrence: bool = False  # report which tasks recurred instead of completing
    # What the write deletes, whose completed tasks (which the mirror does not hold) go along: read and counted
    # before the confirmation threshold is checked (flows/removals.py).
    deletes: Callable[[A, Planned, Mirror], Doomed] | None = None
    # An undo: completed tasks added since to what it would delete are someone else's, so it sends nothing.
    keeps_completed: bool = False
    # Read changes made elsewhere before planning (one incremental request), when the plan depends on them.
    refresh: Callable[[A], bool] = _never


async def _plan(spec: WriteSpec[A], session: Session, client: SyncClient, args: A) -> Planned:
    # Plain writes do not need the mirror: their first request reads it (state/sessions.py), then writes.
    fresh = not session.mirror.synced
    if spec.refresh(args):
        await session.request(client)
        fresh = True
    elif spec.needs_mirror(args):
        await session.ensure_synced(client)
    archived = spec.archived(args)
    try:
        planned = spec.planner(args, session.mirror)
        if not spec.missed_names(planned) or (fresh and not archived):
            return planned
    except PlanError:
        if fresh and not archived:
            raise
    if not fresh:
        # The name may belong to a project created elsewhere since our last sync: look once more before failing.
        await session.request(client)
    if archived:
        await session.read_archived(client)
    return spec.planner(args, session.mirror)


async def run_write(
    spec: WriteSpec[A], session: Session, client: SyncClient, args: A, dry_run: bool, confirm: int | None = None
) -> tuple[str, WriteResult]:
    if not dry_run:
        await session.lock_writes()
    planned = await _plan(spec, session, client, args)
    doomed = spec.deletes(args, planned, session.mirror) if spec.deletes is not None and not dry_run else None
    if doomed:
        completed = await completed_going(client, session.mirror, doomed, session.clock.now())
        if completed and spec.keeps_completed:
            raise PlanError(
                f"undo: what it would delete now holds {completed} completed task(s) it did not add (completed "
                "elsewhere since); nothing was sent. Delete by hand what should go"
            )
        planned = replace(planned, removes=planned.removes + completed)
    plan, projects = planned.plan, planned.projects
    if dry_run:
        result = dry_run_result(plan, projects)
        return summary_text(spec.verb, plan, result, extra=planned.note), result
    unasked = planned.removes > 0 and confirm != planned.removes
    if unasked:
        await _check_removal(spec, session, planned.removes)
    commands = [*(projects.commands if projects is not None else ()), *plan.commands]
    seen = images(spec.undo, session.mirror, commands) if spec.undo is not None else None
    write = PendingWrite(spec.verb, plan, projects, commands, Outcome(), recurrence=spec.recurrence)
    try:
        await session.hold(write)
    except PendingFull as exc:
        raise PlanError(str(exc)) from exc
    # What the write keeps after its request (cursors' views, the batch dropped, its undo record) is written in one
    # transaction where that is cheaper (the state file: 5 commits were 1.8 ms of a 100-task write over stdio).
    session.state.defer_writes()
    try:
        await _send(session, client, write, commands)
        # From here the write has landed: a state store that fails now is a warning after its result, never its
        # result.
        warnings: list[str] = []
        if unasked:
            await _kept(session.state.add_removal(session.clock.now().timestamp(), planned.removes), warnings)
        result = await _result(session, write, warnings)
        if planned.undoing is not None and planned.undoing.handle is not None:
            # Undone: its handle must not revert it twice.
            await _kept(session.state.forget_write(planned.undoing.handle), warnings)
        # One level of undo: a write that cannot be undone (undo itself included) leaves nothing to undo.
        record = (
            undo_record(spec.undo, seen, commands, result, session.mirror, write.outcome)
            if spec.undo is not None and seen is not None
            else None
        )
        session.last_write = record
        if record is not None and reversible(record):
            result.write = record.handle = await _kept(session.state.mint_write(record), warnings)
        # With its handle: a later process's undo without one (the file store).
        await _kept(session.state.keep_last_write(record), warnings)
    except BaseException:
        with anyio.CancelScope(shield=True), contextlib.suppress(StateRefusal):
            await session.state.flush()  # what was kept before the failure; a failure here is logged
        raise
    try:
        await session.state.flush()
    except StateRefusal as exc:
        warnings.append(str(exc))
        if record is not None:
            result.write = record.handle = None  # its undo record was not kept
    text = summary_text(
        planned.verb or spec.verb, named(plan, session.mirror), result, extra=spec.extra(result, write) + planned.note
    )
    return _warned(text, result, warnings)


_T = TypeVar("_T")


async def _kept(step: Awaitable[_T], warnings: list[str]) -> _T | None:
    """A state store step after the write landed: its refusal becomes a warning in the result."""
    try:
        return await step
    except StateRefusal as exc:
        warnings.append(str(exc))
        return None


def _warned(text: str, result: WriteResult, warnings: list[str]) -> tuple[str, WriteResult]:
    if not warnings:
        return text, result
    note = "Warning: the write above stands, but " + "; ".join(dict.fromkeys(warnings)) + "."
    result.notes = [*(result.notes or ()), note]
    return f"{text} {note}", result


async def _check_removal(spec: WriteSpec[A], session: Session, count: int) -> None:
    """Raise NeedsConfirmation when ``count`` more tasks would bring this session's unconfirmed removals in the window
    over the threshold."""
    recent = await session.removed_recently()
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
        # Between requests the stored batch is brought up to date, so a replica that dies mid-write leaves another
        # only the unconfirmed rest to resend.
        await session.execute(client, commands, write.outcome, checkpoint=lambda: session.state.keep_pending(write))
    except BaseException as exc:
        with anyio.CancelScope(shield=True):  # a cancelled call still records what it left pending
            await _interrupted(session, write, cancelled=isinstance(exc, anyio.get_cancelled_exc_class()))
        raise


async def _interrupted(session: Session, write: PendingWrite, *, cancelled: bool) -> None:
    """The send raised (token rejected, refused, cancelled): keep the batch unless nothing can have run."""
    if not cancelled and not write.outcome.statuses:
        await session.state.drop_pending(write.batch)
        return
    pending = len(write.unconfirmed())
    how = "was cancelled" if cancelled else "stopped early"
    try:
        await session.settle(write)
    except StateRefusal:
        # The store is gone too (Redis down): the batch could not be brought up to date, and the last copy kept may
        # be gone with the store. Never leave the model thinking nothing ran.
        session.notices.append(
            f"A write {how} with {pending} commands unconfirmed, and the state store could not keep them: some may "
            f"have run. {LOSS_CHECK}."
        )
        raise
    if pending:
        session.notices.append(
            f"An earlier write {how}: {pending} of its commands are unconfirmed and kept in batch '{write.batch}'; "
            "call resend_writes to finish them (safe: nothing is applied twice)."
        )


async def _result(session: Session, write: PendingWrite, warnings: list[str]) -> WriteResult:
    """The structured result; a write with unconfirmed commands keeps its batch so resend_writes can finish it."""
    result = build_result(
        write.plan, write.outcome, session.mirror, recurrence=write.recurrence, projects=write.projects
    )
    result.resend = await _kept(session.settle(write), warnings)
    unconfirmed = len(write.unconfirmed())
    if result.resend is None and unconfirmed:
        warnings.append(f"its {unconfirmed} unconfirmed commands could not be kept to resend. {LOSS_CHECK}")
    if result.resend is not None:
        result.retry_after = write.outcome.retry_after
    return result


async def run_resend(session: Session, client: SyncClient, batch: str | None) -> tuple[str, WriteResult]:
    """Send kept writes' unconfirmed commands again with their original uuids: the backend runs each at most once.

    No ``batch``: every write pending for this account (any client, any replica), oldest first.
    """
    await session.lock_writes()  # a batch another replica is still sending waits for it to finish or die
    pending = await session.pending()
    # Kept but unreadable (an earlier version's, or sealed with another secret): named, never dropped in silence.
    stale = await session.state.unresumable()
    if batch is not None and batch not in pending:
        if batch in stale:
            raise PlanError("batch: " + unresumable_text({batch: stale[batch]}))
        known = ", ".join(pending) or "none"
        lost = await session.state.lost()
        why = f"; {lost}" if lost else ""
        # Finished and forgotten, or lost with the store: the store cannot tell which, so neither is claimed.
        raise PlanError(
            f"batch: unknown or already confirmed batch {batch!r} (pending for this account: {known}); if it was "
            f"never confirmed, the state store lost it{why}. {LOSS_CHECK}"
        )
    batches = [batch] if batch is not None else list(pending)
    if not batches:
        if stale:
            raise PlanError("resend_writes: " + unresumable_text(stale))
        lost = await session.state.lost()
        if lost:
            raise PlanError(f"resend_writes: nothing is pending for this account, but {lost}. {LOSS_CHECK}")
        raise PlanError(
            "resend_writes: nothing is pending for this account in its state store; writes it kept were all "
            "confirmed or failed"
        )
    texts: list[str] = []
    results: list[WriteResult] = []
    warnings: list[str] = []
    for name in batches:
        write = pending[name]
        commands = write.unconfirmed()
        await _send(session, client, write, commands)
        result = await _result(session, write, warnings)
        extra = projects_note(result, write) if write.projects else recurring_note(result, write)
        texts.append(
            f"Resent {len(commands)} unconfirmed commands. "
            + summary_text(write.verb, named(write.plan, session.mirror), result, extra=extra)
        )
        results.append(result)
    stale_note = unresumable_text(stale) if stale and batch is None else None
    if len(results) == 1:
        text, result = texts[0], results[0]
    else:
        text = "\n".join(f"[{name}] {text}" for name, text in zip(batches, texts, strict=True))
        result = combine(results)
    if stale_note is not None:
        result.notes = [*(result.notes or ()), stale_note]
        text += "\n" + stale_note
    return _warned(text, result, warnings)


# ---------------------------------------------------------------------------------------------------------------------
# The specs


def projects_note(result: WriteResult, write: PendingWrite) -> str:
    extra = ""
    if result.projects and write.projects is not None:
        # result.projects follows the project plan's steps: each is a project or one of its sections, which are
        # planned only with their project (a step with no command is a project that could not be planned).
        counts: dict[str, list[int]] = {"project": [0, 0], "section": [0, 0]}
        for step, created in zip(write.projects.steps, result.projects, strict=True):
            of = RESOURCE_TYPES[facts_of(step.command).on].word if step.command is not None else "project"
            tally = counts[of]
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


def recurring_note(result: WriteResult, _write: PendingWrite | None = None) -> str:
    recurred = result.recurring or []
    if not recurred:
        return ""
    shown = ", ".join(f"{r.id} → {r.next_due}" for r in recurred[:5])
    more = f" +{len(recurred) - 5} more" if len(recurred) > 5 else ""
    return f" {len(recurred)} recurring, now due: {shown}{more}."
