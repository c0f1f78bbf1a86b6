"""What can go wrong with a Sync request, as values: the failure classes and the pure helpers that describe them.

Each failure says which command uuids *might* have run (``unconfirmed_uuids``), so callers never report "not done"
for a command the backend may in fact have applied, and the wait the backend asked for (``retry_after``) when it
said one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from tools_server.sync.commands import SyncError
from tools_server.text import clip

# A JSON error's own text quoted in a message is cut to this length: enough to diagnose (a body that is not
# Todoist's JSON error is never quoted; its status is named instead).
MAX_QUOTED_CHARS = 200
_FORBIDDEN_HINTS = {
    "PROJECT_FROZEN": "the project is frozen (the account is over its plan's limits)",
    "FORBIDDEN": "this account may not do that",
    "AUTH_INSUFFICIENT_TOKEN_SCOPE": "the token lacks the scope for this (it needs data:read_write)",
}

# ---------------------------------------------------------------------------------------------------------------------
# Failures


class SyncFailure(Exception):
    """A Sync request that did not produce a response.

    ``retryable`` says whether sending the same request later may succeed. ``unconfirmed_uuids`` lists the commands
    whose outcome is unknown because some attempt may have reached the backend; it is empty when we know nothing ran.
    """

    def __init__(
        self,
        message: str,
        *,
        retryable: bool = False,
        unconfirmed_uuids: Sequence[str] = (),
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.unconfirmed_uuids: tuple[str, ...] = tuple(unconfirmed_uuids)
        self.retry_after = retry_after  # the wait the backend asked for, when it said


class TokenRejected(SyncFailure):
    """401, or 403 AUTH_INVALID_TOKEN: the API token is invalid or revoked. Nothing will work until it is changed."""

    def __init__(self, message: str, *, error: SyncError, unconfirmed_uuids: Sequence[str] = ()) -> None:
        super().__init__(message, retryable=False, unconfirmed_uuids=unconfirmed_uuids)
        self.error = error


class RateLimited(SyncFailure):
    """429 that outlasted the retries, or asked for a longer wait than the policy allows."""

    def __init__(self, message: str, *, retry_after: float | None, unconfirmed_uuids: Sequence[str] = ()) -> None:
        super().__init__(message, retryable=True, unconfirmed_uuids=unconfirmed_uuids, retry_after=retry_after)


class BackendUnavailable(SyncFailure):
    """Transient server errors or transport failures outlasted the retries or the call's time budget, or a 2xx body
    could not be read."""

    def __init__(
        self, message: str, *, unconfirmed_uuids: Sequence[str] = (), retry_after: float | None = None
    ) -> None:
        super().__init__(message, retryable=True, unconfirmed_uuids=unconfirmed_uuids, retry_after=retry_after)


class RequestRejected(SyncFailure):
    """Any other non-2xx: the request itself is wrong, so sending it again would fail the same way."""

    def __init__(self, message: str, *, error: SyncError, unconfirmed_uuids: Sequence[str] = ()) -> None:
        super().__init__(message, retryable=False, unconfirmed_uuids=unconfirmed_uuids)
        self.error = error


class Forbidden(RequestRejected):
    """403 for a plan limit (``*_LIMIT_REACHED``), a frozen project or a permission: the request executed nothing and
    would be refused again, but the token is fine."""


# ---------------------------------------------------------------------------------------------------------------------
# Pure helpers


def parse_retry_after(value: object) -> float | None:
    """Seconds from a ``Retry-After`` header or ``error_extra.retry_after``; ``None`` if absent or unusable.

    Todoist sends seconds (reference §4). The HTTP-date form is not handled: it would need a wall clock, and the body's
    ``retry_after`` or plain backoff is a fine fallback.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        try:
            seconds = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return seconds


def quote(text: str) -> str:
    """Backend text made fit for one line of a message."""
    return clip(text, MAX_QUOTED_CHARS)


def describe_error(status: int, error: SyncError) -> str:
    """``HTTP 400 INVALID_ARGUMENT_VALUE: Invalid argument value; argument=sync_token`` from what is present."""
    text = f"HTTP {status}"
    if error.error_tag:
        text += f" {error.error_tag}"
    if error.error:
        text += f": {quote(error.error)}"
    argument: object = error.error_extra.get("argument")
    if isinstance(argument, str) and argument:
        text += f"; argument={argument}"
    explanation: object = error.error_extra.get("explanation")
    if isinstance(explanation, str) and explanation:
        text += f" ({quote(explanation)})"
    return text


def forbidden_message(error: SyncError) -> str:
    """A 403 that is not about the token: name the limit or permission, and say the token is fine."""
    tag = error.error_tag or ""
    if tag.endswith("_LIMIT_REACHED"):
        reason = f"a plan limit was reached ({tag.removesuffix('_REACHED').replace('_', ' ').lower()})"
    else:
        reason = _FORBIDDEN_HINTS.get(tag, "the backend does not allow this request")
    return (
        f"Todoist refused the request: {reason} ({describe_error(403, error)}). The API token is fine; nothing was "
        "applied by this request"
    )
