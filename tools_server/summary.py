"""Pure summaries: a plan plus what the backend answered -> the structured result and the short text the model reads.

A step is "ok" only when ``sync_status`` said "ok" for its uuid; anything not read there is reported as not confirmed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, Field

from tools_server.commands import Plan, Step
from tools_server.mirror import Mirror
from tools_server.models import SyncError

# Failures listed one per line in the text before "+N more".
MAX_LISTED_FAILURES = 10
# Created ids are spelled out in the text only for small batches, to keep any successful batch about 300 characters.
MAX_LISTED_IDS = 3
_LABEL_CHARS = 40


@dataclass(frozen=True)
class NotConfirmed:
    """No sync_status was read for this command: it may have run (UNCONFIRMED) or was never sent (NOT_SENT)."""

    tag: Literal["UNCONFIRMED", "NOT_SENT", "TOKEN_REJECTED"]
    message: str
    retryable: bool


Status = Literal["ok"] | SyncError | NotConfirmed


@dataclass
class Outcome:
    statuses: dict[str, Status] = field(default_factory=dict[str, Status])
    temp_id_mapping: dict[str, str] = field(default_factory=dict[str, str])
    requests: int = 0
    resynced: bool = False


class StepResult(BaseModel):
    index: int
    status: Literal["ok", "error"]
    id: str | None = None
    parent_index: int | None = None
    error_tag: str | None = None
    message: str | None = None
    retryable: bool | None = None
    recurred: bool | None = Field(default=None, description="complete_items: the task recurs and stays open")
    next_due: str | None = None


class WriteResult(BaseModel):
    ok: int
    failed: int
    results: list[StepResult]
    projects: list[StepResult] | None = Field(default=None, description="add_item: new projects and sections")
    notes: list[str] | None = None
    dry_run: bool | None = None
    plan: list[dict[str, object]] | None = Field(default=None, description="dry_run: the commands that would be sent")
    requests: int | None = None
    resend: str | None = Field(default=None, description="Batch id for resend_writes when some writes are unconfirmed")


# ---------------------------------------------------------------------------------------------------------------------


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
    assert step.command is not None  # a step has a command or an error
    command = step.command
    status = outcome.statuses.get(command.uuid)
    created = outcome.temp_id_mapping.get(command.temp_id) if command.temp_id else None
    target = created or getattr(command.args, "id", None)
    if status == "ok":
        result = StepResult(index=step.index, status="ok", id=target, parent_index=step.parent_index)
        if recurrence and target is not None:
            item = mirror.items.get(target)
            if item is not None and item.due is not None and item.due.is_recurring:
                result.recurred, result.next_due = True, item.due.date
        return result
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
    results = [step_result(s, outcome, mirror, recurrence=recurrence) for s in plan.steps]
    project_results = [step_result(s, outcome, mirror) for s in projects.steps] if projects else None
    ok = sum(r.status == "ok" for r in results)
    return WriteResult(
        ok=ok,
        failed=len(results) - ok,
        results=results,
        projects=project_results or None,
        notes=list(plan.notes) or None,
        requests=outcome.requests,
    )


def dry_run_result(plan: Plan, projects: Plan | None = None) -> WriteResult:
    """What would be sent, validated, with local errors reported as failures."""
    steps = [*(projects.steps if projects else ()), *plan.steps]
    empty = Outcome()
    results = [
        StepResult(index=s.index, status="ok", parent_index=s.parent_index)
        if s.error is None
        else step_result(s, empty, Mirror())
        for s in plan.steps
    ]
    ok = sum(r.status == "ok" for r in results)
    return WriteResult(
        ok=ok,
        failed=len(results) - ok,
        results=results,
        notes=list(plan.notes) or None,
        dry_run=True,
        plan=[s.command.to_wire() for s in steps if s.command is not None],
    )


# ---------------------------------------------------------------------------------------------------------------------
# Text


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _LABEL_CHARS else text[: _LABEL_CHARS - 1] + "…"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def failure_lines(plan: Plan, result: WriteResult) -> list[str]:
    labels = {s.index: s.label for s in plan.steps}
    failures = [r for r in result.results if r.status == "error"]
    lines = [
        f"- #{r.index} '{_short(labels.get(r.index, ''))}': {r.error_tag} {r.message or ''}".rstrip()
        + (" (retryable)" if r.retryable else "")
        for r in failures[:MAX_LISTED_FAILURES]
    ]
    if len(failures) > MAX_LISTED_FAILURES:
        lines.append(f"+{len(failures) - MAX_LISTED_FAILURES} more")
    return lines


def summary_text(verb: str, plan: Plan, result: WriteResult, *, extra: str = "") -> str:
    """E.g. 'Completed 5 tasks.' or 'Moved 3 of 4 tasks. Failed: ...' with one short line per failure."""
    total = len(result.results)
    head = (
        f"{verb} {_plural(total, 'task')}" if result.failed == 0 else f"{verb} {result.ok} of {_plural(total, 'task')}"
    )
    if result.dry_run:
        head = f"Dry run, nothing sent: would send {_plural(len(result.plan or ()), 'command')}; {result.ok} valid"
    ok_ids = [r for r in result.results if r.status == "ok" and r.id]
    if not result.dry_run and 0 < len(ok_ids) <= MAX_LISTED_IDS:
        labels = {s.index: s.label for s in plan.steps}
        head += ": " + ", ".join(f"'{_short(labels.get(r.index, ''))}' ({r.id})" for r in ok_ids)
    parts = [head + "." + extra]
    if result.notes:
        parts.append("Note: " + "; ".join(result.notes) + ".")
    if result.failed:
        parts.append("Failed:")
        parts.extend(failure_lines(plan, result))
    if result.resend:
        unsure = sum(r.error_tag in ("UNCONFIRMED", "NOT_SENT") for r in result.results)
        parts.append(
            f"{_plural(unsure, 'task')} not confirmed: call resend_writes with batch '{result.resend}' to send the "
            "same commands again (safe: nothing is applied twice). Do not repeat the original call."
        )
    return "\n".join(parts)
