"""Pure values for the Sync client's retry loop: the policy (how often, how patiently) and a call's deadline. Kept
apart from the loop in client.py so the policy can be built, compared and tested without I/O."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry transient failures.

    ``max_retry_after`` bounds how long a 429 may make us wait: Todoist has asked for 66 and 513 seconds, and an MCP
    tool call that silently blocks for minutes is worse than an error that says when to try again.
    """

    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 8.0
    jitter: float = 0.25
    max_retry_after: float = 60.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("RetryPolicy.max_attempts must be at least 1")
        if min(self.base_delay, self.max_delay, self.jitter, self.max_retry_after) < 0:
            raise ValueError("RetryPolicy delays and jitter must not be negative")

    def backoff(self, attempt: int, rand: float) -> float:
        """The delay after failed attempt ``attempt`` (1-based): capped exponential growth, scaled by ±jitter.

        ``rand`` is a uniform sample in [0, 1]; 0.5 means no jitter. Jitter spreads out clients that failed together
        so they do not retry in lockstep.
        """
        # Clamp the exponent so a huge attempt number cannot overflow a float; the cap applies long before that.
        exponent = min(max(attempt - 1, 0), 64)
        delay = min(self.max_delay, self.base_delay * 2.0**exponent)
        return max(0.0, delay * (1.0 + self.jitter * (2.0 * rand - 1.0)))


DEFAULT_RETRY_POLICY = RetryPolicy()


@dataclass(frozen=True)
class Deadline:
    """When a tool call's time budget runs out, on the injected clock's monotonic seconds."""

    at: float
    monotonic: Callable[[], float]
    budget: float

    def remaining(self) -> float:
        return self.at - self.monotonic()


def fits_in(delay: float, deadline: Deadline | None) -> bool:
    """Whether a wait of ``delay`` seconds ends before the call's budget does."""
    return deadline is None or delay < deadline.remaining()
