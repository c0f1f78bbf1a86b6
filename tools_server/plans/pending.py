"""A write call whose commands were not all confirmed, kept so resend_writes can finish it with the same uuids."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from tools_server.plans.plan import Plan
from tools_server.sync.commands import Command
from tools_server.sync.send import NotConfirmed, Outcome

# Unconfirmed commands an account keeps for resend_writes. Never evicted: a write that would go over is refused
# before anything is sent, and the model is told to finish the pending ones first.
MAX_PENDING_COMMANDS = 2000


@dataclass
class PendingWrite:
    """A write call whose commands were not all confirmed; resending them with the same uuids is safe."""

    verb: str
    plan: Plan
    projects: Plan | None
    commands: list[Command]
    outcome: Outcome
    recurrence: bool = False
    batch: str = ""  # its resend id once kept

    def unconfirmed(self) -> list[Command]:
        """Commands with no status read (none returned, never sent, or cut off by a cancel): they may have run."""
        statuses = self.outcome.statuses
        return [c for c in self.commands if isinstance(statuses.get(c.uuid, _UNREAD), NotConfirmed)]


_UNREAD = NotConfirmed("UNCONFIRMED", "no status was read for this command", True)


class PendingFull(Exception):
    """The account already holds as many unconfirmed commands as it may: nothing was sent."""


def check_room(pending: dict[str, PendingWrite], write: PendingWrite) -> None:
    """Raise PendingFull when keeping ``write`` would take the account over MAX_PENDING_COMMANDS."""
    held = sum(len(w.unconfirmed()) for w in pending.values())
    if held + len(write.commands) > MAX_PENDING_COMMANDS:
        raise PendingFull(
            f"{held} commands of earlier writes are still unconfirmed for this account (batches "
            f"{', '.join(pending)}); at most {MAX_PENDING_COMMANDS} may wait. Call resend_writes (no batch needed) "
            "to finish them first; nothing was sent"
        )


def unresumable_text(batches: Mapping[str, str]) -> str:
    """What resend_writes says of kept batches it cannot read back (``batches``: id -> why): never silence, since
    their commands may or may not have run."""
    named = "; ".join(f"{batch}: {why}" for batch, why in batches.items())
    return (
        f"Cannot resume {len(batches)} pending batch(es) ({named}). Their commands may or may not have run: check "
        "with query_changes or find_items what arrived and repeat only what is missing, or finish them with "
        "resend_writes on the version that kept them before upgrading."
    )
