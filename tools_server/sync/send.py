"""The chunked send loop: commands -> Sync requests of at most 100 commands / 1 MiB -> one ``Outcome``.

Every command ends in exactly one state: confirmed by ``sync_status`` (ok or Todoist's error), or ``NotConfirmed``
(it may have run, or was never sent) so that it can be resent later with its original uuid.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from tools_server.sync.batch import chunk_commands, rewrite_temp_ids
from tools_server.sync.client import SyncFailure, TokenRejected
from tools_server.sync.wire import Command, SyncError, SyncResponse


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


_NO_STATUS = NotConfirmed("UNCONFIRMED", "the backend's response carried no status for this command", True)

# One Sync request carrying these commands (and the read that refreshes the mirror).
Request = Callable[[Sequence[Command]], Awaitable[SyncResponse]]


async def send(request: Request, commands: Sequence[Command], outcome: Outcome | None = None) -> Outcome:
    """Send commands in chunks, carrying temp ids across chunks; a rejected token is raised, not recorded.

    ``outcome`` continues an earlier attempt (resend): its temp id mapping resolves references to objects that
    earlier chunks created, and the new statuses are merged into it.
    """
    outcome = outcome if outcome is not None else Outcome()
    chunks = chunk_commands(commands)
    for position, chunk in enumerate(chunks):
        chunk = [rewrite_temp_ids(c, outcome.temp_id_mapping) for c in chunk]
        try:
            response = await request(chunk)
        except TokenRejected:
            raise
        except SyncFailure as exc:
            outcome.requests += 1
            # The client knows when nothing can have reached the backend (e.g. connection refused): say so.
            maybe_ran = set(exc.unconfirmed_uuids)
            unconfirmed = NotConfirmed("UNCONFIRMED", str(exc), exc.retryable)
            unsent = NotConfirmed("NOT_SENT", f"not sent: {exc}", exc.retryable)
            for command in chunk:
                outcome.statuses[command.uuid] = unconfirmed if command.uuid in maybe_ran else unsent
            # Later chunks may depend on this one's temp ids, and the backend is failing: do not send them.
            skipped = NotConfirmed("NOT_SENT", "not sent: an earlier request of this call failed", True)
            for later in chunks[position + 1 :]:
                for command in later:
                    outcome.statuses[command.uuid] = skipped
            break
        outcome.requests += 1
        outcome.statuses.update(response.sync_status)
        outcome.temp_id_mapping.update(response.temp_id_mapping)
        # A status missing (or unreadable, see sync/objects.py) leaves the command in doubt: kept for resending.
        for command in chunk:
            if command.uuid not in response.sync_status:
                outcome.statuses[command.uuid] = _NO_STATUS
    return outcome
