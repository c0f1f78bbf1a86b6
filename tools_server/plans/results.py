"""Pure summaries: a plan plus what the backend answered -> the structured result and the short text the model reads.

A step is "ok" only when ``sync_status`` said "ok" for its uuid; anything not read there is reported as not confirmed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, PrivateAttr, WithJsonSchema

from tools_server.dues import show_due
from tools_server.plans.plan import Plan, Step
from tools_server.sync.commands import SyncError, arg_value
from tools_server.sync.mirror import Mirror
from tools_server.sync.send import NotConfirmed, Outcome, Status
from tools_server.text import clip

# Failures listed one per line in the text before "+N more".
MAX_LISTED_FAILURES = 10
# Created ids are spelled out in the text only for small batches, to keep any successful batch about 300 characters.
MAX_LISTED_IDS = 3
# Larger batches list ids only, in input order, until the whole text of an all-ok result reaches this length.
MAX_TEXT_CHARS = 300
_LABEL_CHARS = 40


@dataclass(slots=True, kw_only=True)
class StepResult:
    """One input task's outcome (internal: the text is built from these; the model gets the compact WriteResult).

    A plain dataclass, not a pydantic model: one is built per task and never validated or serialised.
    """

    index: int
    status: Literal["ok", "error"]
    id: str | None = None
    parent_index: int | None = None
    error_tag: str | None = None
    message: str | None = None
    retryable: bool | None = None
    recurred: bool | None = None
    next_due: str | None = None
    partial: Failure | None = None  # ok, but a sub-command (a reminder) failed: reported beside the failures


class Failure(BaseModel):
    index: int = Field(description="Position of the task in the input (depth-first for subtasks)")
    id: str | None = None
    error_tag: str
    message: str | None = None
    retryable: bool


class Recurring(BaseModel):
    id: str
    next_due: str


class Created(BaseModel):
    name: str
    id: str | None = None
    error_tag: str | None = None
    message: str | None = None


# Result models: compact on purpose (the model reads one on every write, so a success costs one id at most). Each tool
# advertises only the fields it can return; WriteResult, the union, is what the code builds.
class MoveResult(BaseModel):
    ok: int
    failed: int
    failures: list[Failure] | None = None
    notes: list[str] | None = None
    dry_run: bool | None = None
    plan: list[dict[str, object]] | None = Field(default=None, description="Commands that would be sent")
    requests: int | None = None
    resend: str | None = Field(default=None, description="Unconfirmed writes: pass to resend_writes")
    write: str | None = Field(default=None, description="For undo")
    retry_after: float | None = Field(default=None, description="Seconds the backend asked to wait before resending")


class CompleteResult(MoveResult):
    recurring: list[Recurring] | None = Field(default=None, description="Tasks that advanced instead")


class AddResult(MoveResult):
    # Advertised without an item schema: clients re-validate every structured result, and the Python SDK's
    # jsonschema spends about 13 us per entry on "anyOf: [string, null]" (1.3 ms for a 100-task add, more than all
    # of our own summarising); a type list would be cheaper but is not portable. The description carries the type.
    ids: Annotated[list[str | None], WithJsonSchema({"type": "array"})] | None = Field(
        default=None, description="New ids (strings) in input order (depth-first); null=failed"
    )
    projects: list[Created] | None = None


class WriteResult(AddResult, CompleteResult):
    pending: list[str] | None = Field(default=None, description="Batches still unconfirmed (resend_writes of all)")
    _steps: list[StepResult] = PrivateAttr(default_factory=list[StepResult])

    @property
    def steps(self) -> list[StepResult]:
        return self._steps


def compact(
    steps: list[StepResult], *, created: bool, project_steps: list[tuple[str, StepResult]] | None = None, **fields: Any
) -> WriteResult:
    ok = sum(r.status == "ok" for r in steps)
    failures = [
        Failure(
            index=r.index, id=r.id, error_tag=r.error_tag or "ERROR", message=r.message, retryable=bool(r.retryable)
        )
        if r.partial is None
        else r.partial
        for r in steps
        if r.status == "error" or r.partial is not None
    ]
    recurring = [Recurring(id=r.id, next_due=r.next_due) for r in steps if r.recurred and r.id and r.next_due]
    projects = [
        Created(name=name, id=r.id, error_tag=r.error_tag, message=r.message)
        if r.status == "error"
        else Created(name=name, id=r.id)
        for name, r in project_steps or ()
    ]
    result = WriteResult(
        ok=ok,
        failed=len(steps) - ok,
        ids=[r.id if r.status == "ok" else None for r in steps] if created else None,
        failures=failures or None,
        recurring=recurring or None,
        projects=projects or None,
        **fields,
    )
    result._steps = steps  # pyright: ignore[reportPrivateUsage]
    return result


# ---------------------------------------------------------------------------------------------------------------------


def _failed_extra(step: Step, outcome: Outcome) -> SyncError | None:
    """The backend's error for one of the step's sub-commands when its own command went through: then the step did
    what it is named for (its task exists) and only that sub-command failed. None when anything is unconfirmed."""
    if step.command is None or outcome.statuses.get(step.command.uuid) != "ok":
        return None
    if step.shared is not None and outcome.statuses.get(step.shared) != "ok":
        return None
    failed: SyncError | None = None
    for extra in step.extras:
        status = outcome.statuses.get(extra.uuid)
        if isinstance(status, SyncError):
            failed = failed or status
        elif status != "ok":
            return None
    return failed


_UNKNOWN_ID_TAGS = frozenset({"ITEM_NOT_FOUND", "INVALID_TEMP_ID"})


def step_result(step: Step, outcome: Outcome, mirror: Mirror, *, recurrence: bool = False) -> StepResult:
    """One step's result; for completions, whether the task recurred and its next due date."""
    if step.error is not None:
        return StepResult(
            index=step.index,
            status="error",
            parent_index=step.parent_index,
            error_tag=step.error.tag,
            message=step.error.message,
            retryable=False,
        )
    command = step.command
    created = outcome.temp_id_mapping.get(command.temp_id) if command is not None and command.temp_id else None
    target = step.target or created or (arg_value(command.args, "id") if command is not None else None)
    # A step is ok when every command it depends on is; else the first one that is not decides.
    uuids = ([command.uuid] if command is not None else []) + [c.uuid for c in step.extras]
    uuids += [step.shared] if step.shared is not None else []
    status: Status | None = "ok"
    for uuid in uuids:
        status = outcome.statuses.get(uuid)
        if status != "ok":
            break
    extra_failed = _failed_extra(step, outcome) if status != "ok" and command is not None else None
    if status == "ok" or extra_failed is not None:
        result = StepResult(index=step.index, status="ok", id=target, parent_index=step.parent_index)
        if extra_failed is not None:
            # The task itself was written (a retry would duplicate it): it counts as done, with its id, and the
            # sub-command that failed (a reminder) is named on its own.
            tag = extra_failed.error_tag or "ERROR"
            result.partial = Failure(
                index=step.index,
                id=target,
                error_tag=tag,
                message=f"the task was written; its reminder was not: {_error_message(extra_failed)}",
                retryable=extra_failed.retryable,
            )
        if recurrence and target is not None:
            item = mirror.items.get(target)
            if item is not None and item.due is not None and item.due.is_recurring:
                result.recurred, result.next_due = True, show_due(item.due, mirror.timezone, rule=False)
        return result
    if isinstance(status, SyncError) and step.missing is not None and status.error_tag in _UNKNOWN_ID_TAGS:
        # An id that names nothing: Todoist says ITEM_NOT_FOUND, or INVALID_TEMP_ID when it is not shaped as an id.
        return StepResult(
            index=step.index,
            status="error",
            id=target,
            parent_index=step.parent_index,
            error_tag="ITEM_NOT_FOUND",
            message=step.missing,
            retryable=False,
        )
    if isinstance(status, SyncError):
        tag = status.error_tag or (f"ERROR_{status.error_code}" if status.error_code is not None else "ERROR")
        return StepResult(
            index=step.index,
            status="error",
            id=target,
            parent_index=step.parent_index,
            error_tag=tag,
            message=_error_message(status),
            retryable=status.retryable,
        )
    if status is None:
        status = NotConfirmed("UNCONFIRMED", "no status was returned for this command", True)
    return StepResult(
        index=step.index,
        status="error",
        id=target,
        parent_index=step.parent_index,
        error_tag=status.tag,
        message=status.message,
        retryable=status.retryable,
    )


def _error_message(error: SyncError) -> str:
    message = error.error or "error"
    extra = error.error_extra
    argument, explanation = extra.get("argument"), extra.get("explanation")
    if argument:
        message += f" ({argument}"
        message += f": {explanation})" if explanation else ")"
    return message


def build_result(
    plan: Plan, outcome: Outcome, mirror: Mirror, *, recurrence: bool = False, projects: Plan | None = None
) -> WriteResult:
    steps = [step_result(s, outcome, mirror, recurrence=recurrence) for s in plan.steps]
    project_steps = [(s.label, step_result(s, outcome, mirror)) for s in projects.steps] if projects else None
    # New ids are listed for steps that create what they name: a step whose command creates and that names no other
    # target (a reminder added by update_items creates a reminder, not the step's task).
    created = any(s.command is not None and s.command.creates_temp_id and s.target is None for s in plan.steps)
    created = created or projects is not None
    return compact(
        steps, created=created, project_steps=project_steps, notes=list(plan.notes) or None, requests=outcome.requests
    )


def dry_run_result(plan: Plan, projects: Plan | None = None) -> WriteResult:
    """What would be sent, validated, with local errors reported as failures."""
    empty = Outcome()
    steps = [
        StepResult(index=s.index, status="ok", parent_index=s.parent_index)
        if s.error is None
        else step_result(s, empty, Mirror())
        for s in plan.steps
    ]
    return compact(
        steps,
        created=False,
        notes=list(plan.notes) or None,
        dry_run=True,
        plan=[c.to_wire() for c in [*(projects.commands if projects else ()), *plan.commands]],
    )


# ---------------------------------------------------------------------------------------------------------------------
# Text


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def failure_lines(plan: Plan, result: WriteResult) -> list[str]:
    labels = {s.index: s.label for s in plan.steps}
    failures = [r.partial or r for r in result.steps if r.status == "error" or r.partial is not None]
    lines = [
        f"- #{r.index} '{clip(labels.get(r.index, ''), _LABEL_CHARS)}': {r.error_tag} {r.message or ''}".rstrip()
        + (" (retryable)" if r.retryable else "")
        for r in failures[:MAX_LISTED_FAILURES]
    ]
    if len(failures) > MAX_LISTED_FAILURES:
        lines.append(f"+{len(failures) - MAX_LISTED_FAILURES} more")
    return lines


def _id_list(ids: list[str], budget: int) -> str:
    """'New ids in input order: a, b, c +N more' in at most ``budget`` characters (at least one id is named)."""
    text = "New ids in input order: " + ids[0]
    for position, item_id in enumerate(ids[1:], start=1):
        rest = len(ids) - position - 1
        tail = f" +{rest} more" if rest else ""
        if len(text) + 2 + len(item_id) + len(tail) > budget:
            return text + f" +{len(ids) - position} more"
        text += ", " + item_id
    return text


def named(plan: Plan, mirror: Mirror) -> Plan:
    """``plan`` with each step its planner could only label by the id of its task (a task outside the mirror, such as
    a completed one) named by the task's title, once the backend's answer to the write has brought it into ``mirror``
    (a reopened task is active again): the text shows titles, with no request of its own."""
    steps = list(plan.steps)
    for position, step in enumerate(steps):
        task_id = arg_value(step.command.args, "id") if step.command is not None else None
        item = mirror.items.get(step.label) if step.label == task_id else None
        if item is not None:
            steps[position] = replace(step, label=item.content)
    return replace(plan, steps=tuple(steps))


# Notes said in the text, the rest only in the structured result: a quick-add call reads back every line it read, and
# 1,000 lines would otherwise put some 65,000 characters in front of the model.
_NOTES_SHOWN = 20


def summary_text(verb: str, plan: Plan, result: WriteResult, *, extra: str = "") -> str:
    """E.g. 'Completed 5 tasks.' or 'Moved 3 of 4 tasks. Failed: ...' with one short line per failure."""
    if result.write:
        # Many clients show the model only this text (OpenAI's Responses API, openai-agents and LangChain by
        # default): the handle an undo needs must be here, not only in the structured result.
        extra += f" Undo: write='{result.write}'."
    total = len(result.steps)
    noun = plan.noun
    head = f"{verb} {_plural(total, noun)}" if result.failed == 0 else f"{verb} {result.ok} of {_plural(total, noun)}"
    if result.dry_run:
        head = f"Dry run, nothing sent: would send {_plural(len(result.plan or ()), 'command')}; {result.ok} valid"
    ok_ids = [r for r in result.steps if r.status == "ok" and r.id]
    if not result.dry_run and 0 < len(ok_ids) <= MAX_LISTED_IDS:
        labels = {s.index: s.label for s in plan.steps}
        head += ": " + ", ".join(f"'{clip(labels.get(r.index, ''), _LABEL_CHARS)}' ({r.id})" for r in ok_ids)
    elif not result.dry_run and result.ids is not None and ok_ids:
        # Every input has its place, a failed one named by its number, so no id is shifted onto another task.
        ids = [r.id if r.status == "ok" and r.id else f"#{r.index} failed" for r in result.steps]
        head += ". " + _id_list(ids, MAX_TEXT_CHARS - len(head) - len(". .") - len(extra))
    parts = [head + "." + extra]
    if result.notes:
        shown = result.notes[:_NOTES_SHOWN]
        more = (
            f"; +{len(result.notes) - len(shown)} more in the structured notes"
            if len(result.notes) > len(shown)
            else ""
        )
        parts.append("Note: " + "; ".join(shown) + more + ".")
    if result.failed or any(r.partial is not None for r in result.steps):
        parts.append("Failed:")
        parts.extend(failure_lines(plan, result))
    if result.resend:
        unsure = sum(r.error_tag in ("UNCONFIRMED", "NOT_SENT") for r in result.steps)
        after = result.retry_after
        wait = f" (retry after {after:g} s: the backend asked to wait that long)" if after is not None else ""
        parts.append(
            f"{_plural(unsure, noun)} not confirmed: call resend_writes with batch '{result.resend}'"
            + wait
            + " to send the same commands again (safe: nothing is applied twice). Do not repeat the original call."
        )
    return "\n".join(parts)


def combine(results: list[WriteResult]) -> WriteResult:
    """Several batches' results as one (resend_writes with no batch): totals, failures, what is still pending."""
    pending = [r.resend for r in results if r.resend is not None]
    waits = [r.retry_after for r in results if r.retry_after is not None]
    combined = WriteResult(
        ok=sum(r.ok for r in results),
        failed=sum(r.failed for r in results),
        failures=[f for r in results for f in r.failures or ()] or None,
        requests=sum(r.requests or 0 for r in results),
        resend=pending[0] if pending else None,
        pending=pending or None,
        retry_after=max(waits) if waits else None,
    )
    combined._steps = [s for r in results for s in r.steps]  # pyright: ignore[reportPrivateUsage]
    return combined
