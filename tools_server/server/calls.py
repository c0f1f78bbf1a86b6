"""Every tool call's runtime: who is calling (the session of their token), the call budget, the two error channels,
and the reply (a text block carrying every id and handle, plus the structured result)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel

from tools_server.clock import SYSTEM_CLOCK, Clock
from tools_server.flows import WriteSpec, run_write
from tools_server.hosting.auth import mark_token_refused, verified_token
from tools_server.plans import PlanError, WriteResult
from tools_server.state import DEFAULT_CALL_BUDGET as DEFAULT_CALL_BUDGET
from tools_server.state import (
    CallScope,
    Session,
    SessionRegistry,
    SessionTokenRejected,
    StateBackend,
    StateRefusal,
    token_fingerprint,
    token_secret,
)
from tools_server.sync.client import SyncClient, SyncFailure, TokenRejected

_T = TypeVar("_T")
_A = TypeVar("_A")

Body = Callable[[Session, SyncClient], Awaitable[tuple[str, BaseModel]]]
# A write tool's reply, advertised with the write result's schema: clients that validate or show structured results
# need an output schema on every tool (issue 22), and the SDK checks each reply against it.
Written = Annotated[CallToolResult, WriteResult]

WRITE = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True)
READ = ToolAnnotations(read_only_hint=True, open_world_hint=True)
DELETE = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=True)
MANAGE = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=True)
# Resending replays command uuids the backend already knows: repeating it changes nothing more.
RESEND = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=True)


@dataclass(frozen=True)
class Backend:
    """Where Sync requests go. ``client_for(token)`` gives the client for an API token (cached by the caller)."""

    default_token: str
    client_for: Callable[[str], SyncClient]
    # In HTTP mode a client may send its own Todoist token as `Authorization: Bearer`; only for the Todoist backend.
    accepts_client_tokens: bool = False
    # Multi-user HTTP: every call uses the caller's verified token (hosting.auth.BearerGate); never ``default_token``.
    per_user: bool = False
    # What keys the default token's state (mirror, handles) when the token itself changes over time: a stored login's
    # access token is renewed every hour, its account stays. None: the token keys it.
    default_account: str | None = None

    def account_key(self, token: str) -> str:
        """The secret that keys (and, derived, seals) ``token``'s state."""
        return self.default_account if self.default_account and token == self.default_token else token


@dataclass
class AppState:
    """What a server instance holds (its lifespan context): the backend and the sessions of its clients."""

    backend: Backend
    clock: Clock = SYSTEM_CLOCK
    call_budget: float = DEFAULT_CALL_BUDGET
    # Given by `tools-server call`, which restores a session's handles before the call and saves them after it.
    registry: SessionRegistry | None = None
    # Where handles live (in process unless `--state redis://...`); ignored when ``registry`` is given.
    state: StateBackend | None = None
    # stdio and `call`: paths the user gives may be read (comment_items' file_path). Never over HTTP.
    local_files: bool = False
    sessions: SessionRegistry = field(init=False)

    def __post_init__(self) -> None:
        registry = self.registry
        self.sessions = registry if registry is not None else SessionRegistry(clock=self.clock, state=self.state)


# The context every tool and resource takes: its lifespan context is the server's AppState.
ToolContext = Context[AppState, Any]


def clock_of(ctx: ToolContext) -> Clock:
    return ctx.request_context.lifespan_context.clock


def reads_local_files(ctx: ToolContext) -> bool:
    """Whether this call may read the server machine's files: a local server (stdio, ``call``), and a call that did
    not come over HTTP (which carries headers), whatever the server was built with."""
    return ctx.request_context.lifespan_context.local_files and ctx.headers is None


def reply(text: str, result: BaseModel) -> CallToolResult:
    # exclude_none keeps the structured result small; every omitted field has a default in the output schema.
    return CallToolResult(
        content=[TextContent(type="text", text=text)],
        structured_content=result.model_dump(mode="json", exclude_none=True),
    )


def session_and_client(ctx: ToolContext) -> tuple[Session, SyncClient]:
    """The caller's session: one per stdio process, per MCP session id over HTTP, always scoped by API token."""
    state = ctx.request_context.lifespan_context
    backend = state.backend
    token = backend.default_token
    headers = ctx.headers
    connection = "stdio"
    if headers is not None:
        connection = "http:" + (headers.get("mcp-session-id") or "shared")
        auth = headers.get("authorization") or ""
        if backend.accepts_client_tokens and auth.lower().startswith("bearer ") and auth[7:].strip():
            token = auth[7:].strip()
    if backend.per_user:
        verified = verified_token(ctx.request_context.request)
        if verified is None:  # the gate refuses such requests; never fall back to another account
            raise ToolError("this server needs Authorization: Bearer <your Todoist token>")
        token = verified
    # Without a session id (2026-07-28 clients are sessionless) calls cannot be attributed to one client.
    attributed = connection != "http:shared"
    keyed = backend.account_key(token)
    account = token_fingerprint(keyed)
    key = f"{account}:{connection}"
    session = state.sessions.get(key, attributed=attributed, account=account, secret=token_secret(keyed))
    return session, backend.client_for(token)


async def run(ctx: ToolContext, body: Body) -> CallToolResult:
    """Every tool's body: the caller's session, its lock, budget and progress, error translation, and the reply."""
    session, client = session_and_client(ctx)
    state = ctx.request_context.lifespan_context
    scope = CallScope.starting(state.clock, state.call_budget, ctx.report_progress)
    try:
        text, result = await session.run_call(scope, lambda: body(session, client))
    except ToolError as exc:
        raise ToolError(client.redact(str(exc))) from exc
    except (SessionTokenRejected, SyncFailure, PlanError, StateRefusal) as exc:
        if state.backend.per_user and isinstance(exc, SessionTokenRejected | TokenRejected):
            mark_token_refused(ctx.request_context.request)  # HTTP 401 for the client, not this tool error
        raise ToolError(client.redact(" ".join([str(exc), *session.take_notices()]))) from exc
    # The one place a call's words leave the server: every field of the text and the structured result is redacted
    # here, whatever failure shape carried backend text into it.
    answer = reply(client.redact(text), result)
    answer.structured_content = client.redact(answer.structured_content)
    return answer


async def write(
    ctx: ToolContext, spec: WriteSpec[_A], args: _A, dry_run: bool, confirm: int | None = None
) -> CallToolResult:
    return await run(ctx, lambda session, client: run_write(spec, session, client, args, dry_run, confirm))


async def read_guarded(session: Session, client: SyncClient, render: Callable[[], _T]) -> _T:
    """Bring the mirror up to date (one incremental request) and render from it; failures become resource errors."""
    async with session.lock:
        try:
            await session.request(client)
        except (SessionTokenRejected, SyncFailure, StateRefusal) as exc:
            raise ResourceError(client.redact(str(exc))) from exc
        return render()
