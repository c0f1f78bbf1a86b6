"""A Plan: the Sync commands a write will send, one Step per task, project or section, in input order.

Nothing here sends anything. A step that cannot be planned (an unknown project name, say) carries a local error and
no command, so the summary can report it beside the backend's answers in input order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tools_server.sync.commands import Command


@dataclass(frozen=True)
class LocalError:
    """Why a step was not sent: the model can fix it by changing its input."""

    tag: str
    message: str


@dataclass(slots=True)
class Step:
    """One planned task, project or section: a command to send, or the local error that stopped it (not frozen:
    a frozen dataclass sets each field through object.__setattr__, twice the cost, and nothing mutates a Step)."""

    index: int
    label: str
    command: Command | None = None
    error: LocalError | None = None
    parent_index: int | None = None
    # Sent right after ``command`` for the same task (its reminders); the step is ok only when all of them are.
    extras: tuple[Command, ...] = ()
    target: str | None = None  # the task's id when ``command`` does not name it (a reminder-only update)
    # uuid of another command this step depends on: the item_reorder of Plan.after, or a listed ancestor's deletion
    shared: str | None = None
    # Said instead of the backend's words when it does not know the object ``command`` names: a step sent for an
    # object the mirror cannot hold (a completed task) is worded by what it was meant to find.
    missing: str | None = None


@dataclass(frozen=True)
class Plan:
    steps: tuple[Step, ...]
    notes: tuple[str, ...] = ()
    noun: str = "task"  # what a step is, in the result's text
    after: tuple[Command, ...] = ()  # sent after every step (move_items' item_reorder; steps name it in shared)

    @property
    def commands(self) -> list[Command]:
        commands: list[Command] = []
        for step in self.steps:
            if step.command is not None:
                commands.append(step.command)
                commands.extend(step.extras)
        commands.extend(self.after)
        return commands


class PlanError(ValueError):
    """The whole request is unusable (e.g. an unknown destination): nothing is planned."""


def not_found(kind: str, ref: str, suggestions: Sequence[str]) -> str:
    """The one wording of a reference (a name, or an id) that matched nothing, with the closest names if any."""
    found = f"no {kind} named '{ref}'"
    return f"{found}; closest: {', '.join(suggestions)}" if suggestions else found
