"""The only reader of the real clock. Everything else takes a ``Clock`` so tests (and any date) can drive time."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)


def epoch_ms() -> int:
    """Milliseconds since the epoch, for time-ordered ids (the local store's)."""
    return time.time_ns() // 1_000_000


@dataclass(frozen=True, slots=True)
class Clock:
    """Wall time (aware, UTC) for dates the user sees, monotonic seconds for ages and timeouts."""

    now: Callable[[], datetime] = utc_now
    monotonic: Callable[[], float] = time.monotonic


SYSTEM_CLOCK = Clock()
