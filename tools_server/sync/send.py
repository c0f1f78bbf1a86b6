"""The chunked send loop: commands -> Sync requests of at most 100 commands / 1 MiB -> one ``Outcome``.

Every sent command ends in exactly one state: confirmed by ``sync_status`` ("ok" or Todoist's error), or
``NotConfirmed`` (it may have run, or was never sent) so that it can be resent later with its original uuid. A
response that leaves out a command's status leaves that command ``NotConfirmed``: it may well have run.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from tools_server.sync.batch import chunk_commands, rewrite_temp_ids
from tools_server.sync.commands import Command, SyncError, SyncResponse
from tools_server.sync.failures import Forbidden, SyncFailure, TokenRejected
from tools_server.sync.recover import missing_ids


@dataclass(frozen=True)
class NotConfirmed:
    """No sync_status was read for this command: it may have run (UNCONFIRMED) or was never sent (NOT_SENT)."""

    tag: Literal["UNCONFIRMED", "NOT_SENT", "TOKEN_REJECTED"]
    message: str
    retryable: bool


Status = Literal["ok"] | SyncError | NotConfirmed
_NO_STATUS = NotConfirmed("UNCONFIRMED", "the backend's response had no status for this command", True)
_NO_ID = NotConfirmed("UNCONFIRMED", "the backend confirmed it but did not say the new object's id", True)


@dataclass
class Outcome:
    statuses: dict[str, Status] = field(default_factory=dict[str, Status])
    temp_id_mapping: dict[str, str] = field(default_factory=dict[str, str])
    requests: int = 0
    retry_after: float | None = None  # the wait the backend asked for before the unconfirmed commands are resent


# Told progress, total and a message (the MCP SDK's ``report_progress``).
Report = Callable[[float, float | None, str | None], Awaitable[None]]


@dataclass
class Progress:
    """Progress of one send, in commands: after every chunk, and (strictly increasing) during each wait."""

    report: Report
    total: int
    done: int = 0
    _chunk: int = 0
    _waits: int = 0

    async def chunk_started(self, size: int) -> None:
        self._chunk, self._waits = size, 0

    async def chunk_done(self) -> None:
        self.done += self._chunk
        self._chunk = 0
        await self.report(self.done, self.total, f"{self.done} of {self.total} commands sent")

    async def waiting(self, seconds: float, reason: str) -> None:
        # Each notification must say more than the last: creep towards the chunk's end without reaching it.
        self._waits += 1
        value = self.done + self._chunk * (1.0 - 0.5**self._waits)
        await self.report(value, self.total, f"{reason}: waiting {seconds:g}s before retrying")


# One Sync request carrying these commands (and the read that refreshes the mirror).
Request = Callable[[Sequence[Command]], Awaitable[SyncResponse]]


async def send(
    request: Request, commands: Sequence[Command], outcome: Outcome | None = None, progress: Progress | None = None
) -> Outcome:
    """Send commands in chunks, carrying temp ids across chunks; a rejected token is raised, not recorded.

    ``outcome`` continues an earlier attempt (resend): its temp id mapping resolves references to objects that
    earlier chunks created, and the new statuses are merged into it. A 403 (a plan limit, a permission) on the first
    chunk is raised: the call executed nothing. On a later chunk, that chunk's commands fail with Todoist's error.
    """
    outcome = outcome if outcome is not None else Outcome()
    chunks = chunk_commands(commands)
    for position, chunk in enumerate(chunks):
        chunk = [rewrite_temp_ids(c, outcome.temp_id_mapping) for c in chunk]
        if progress is not None:
            await progress.chunk_started(len(chunk))
        try:
            response = await request(chunk)
        except (TokenRejected, Forbidden) as exc:
            # An earlier attempt of this request may have run before the refusal: those commands stay pending.
            maybe_ran = set(exc.unconfirmed_uuids)
            for command in chunk:
                if command.uuid in maybe_ran:
                    outcome.statuses[command.uuid] = NotConfirmed("UNCONFIRMED", str(exc), True)
            if isinstance(exc, TokenRejected) or position == 0:
                raise
            outcome.requests += 1
            for later in chunks[position:]:
                for command in later:
                    outcome.statuses.setdefault(command.uuid, exc.error)
            break
        except SyncFailure as exc:
            outcome.requests += 1
            outcome.retry_after = exc.retry_after
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
        returned = response.sync_status
        for command in chunk:
            outcome.statuses[command.uuid] = returned.get(command.uuid, _NO_STATUS)
        outcome.temp_id_mapping.update(response.temp_id_mapping)
        # Created, by the backend's word, but with no id even after a look (state/sessions.py): reported as an add
        # with no id it could be neither edited nor undone. A resend with its uuid is answered with its id.
        for command in missing_ids(chunk, response, outcome.temp_id_mapping):
            outcome.statuses[command.uuid] = _NO_ID
        if progress is not None:
            await progress.chunk_done()
    return outcome
