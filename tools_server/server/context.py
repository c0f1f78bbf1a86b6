"""What a server instance holds: the backend it talks to and the sessions of its clients (per token)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from tools_server.clock import SYSTEM_CLOCK, Clock
from tools_server.state.sessions import DEFAULT_CALL_BUDGET as DEFAULT_CALL_BUDGET
from tools_server.state.sessions import SessionRegistry
from tools_server.state.store import StateBackend
from tools_server.sync.client import SyncClient


@dataclass(frozen=True)
class Backend:
    """Where Sync requests go. ``client_for(token)`` gives the client for an API token (cached by the caller)."""

    default_token: str
    client_for: Callable[[str], SyncClient]
    # In HTTP mode a client may send its own Todoist token as `Authorization: Bearer`; only for the Todoist backend.
    accepts_client_tokens: bool = False
    # Multi-user HTTP: every call uses the caller's verified token (http_auth.BearerGate); never ``default_token``.
    per_user: bool = False


@dataclass
class AppState:
    backend: Backend
    clock: Clock = SYSTEM_CLOCK
    call_budget: float = DEFAULT_CALL_BUDGET
    # Given by `tools-server call`, which restores a session's handles before the call and saves them after it.
    registry: SessionRegistry | None = None
    # Where handles live (in process unless `--state redis://...`); ignored when ``registry`` is given.
    state: StateBackend | None = None
    sessions: SessionRegistry = field(init=False)

    def __post_init__(self) -> None:
        registry = self.registry
        self.sessions = registry if registry is not None else SessionRegistry(clock=self.clock, state=self.state)
