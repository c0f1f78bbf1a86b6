"""What outlives one call: per-account mirrors and sessions, and the handles kept in memory, a file or Redis.

The face other wings import from (``file``: what `tools-server call` keeps between runs, as a module); the modules
below it are this wing's own."""

from typing import TYPE_CHECKING

from tools_server.state import file
from tools_server.state.memory import MemoryState
from tools_server.state.sessions import (
    DEFAULT_CALL_BUDGET,
    DELETE_UNCONFIRMED_MAX,
    DELETE_WINDOW_SECONDS,
    CallScope,
    Session,
    SessionRegistry,
    SessionTokenRejected,
    token_fingerprint,
    token_secret,
)
from tools_server.state.store import DEFAULT_ACCOUNT_REQUESTS, BudgetSpent, StateBackend, StateRefusal

if TYPE_CHECKING:
    from tools_server.state.redis import DEFAULT_LOCK_SECONDS, SCHEMES, StateUnreachable, connect, masked, redis_state

_REDIS_NAMES = frozenset({"DEFAULT_LOCK_SECONDS", "SCHEMES", "StateUnreachable", "connect", "masked", "redis_state"})


def __getattr__(name: str) -> object:
    # The Redis store's names load it, and the redis client with it, when first asked for (`--state redis://...`
    # over HTTP): importing redis.asyncio was 53 ms of every stdio server's start, which never uses it.
    if name in _REDIS_NAMES:
        from tools_server.state import redis

        return getattr(redis, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DEFAULT_ACCOUNT_REQUESTS",
    "DEFAULT_CALL_BUDGET",
    "DEFAULT_LOCK_SECONDS",
    "DELETE_UNCONFIRMED_MAX",
    "DELETE_WINDOW_SECONDS",
    "SCHEMES",
    "BudgetSpent",
    "CallScope",
    "MemoryState",
    "Session",
    "SessionRegistry",
    "SessionTokenRejected",
    "StateBackend",
    "StateRefusal",
    "StateUnreachable",
    "connect",
    "file",
    "masked",
    "redis_state",
    "token_fingerprint",
    "token_secret",
]
