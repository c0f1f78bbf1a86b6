"""The MCP surface: ``build_server(backend)`` and the tools. Tools stay thin: validate -> plan -> send -> summarise."""

import logging
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal, TypeVar

from mcp.server import MCPServer
from mcp.server.lowlevel.helper_types import ReadResourceContents
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError, ToolError, UnexpectedToolError
from mcp.server.mcpserver.resources import FunctionResource
from mcp.types import CallToolResult, InputRequiredResult, TextContent, ToolAnnotations
from mcp.types import Tool as MCPTool
from pydantic import AnyUrl, BaseModel, Field, ValidationError

from tools_server import __version__
from tools_server.clock import SYSTEM_CLOCK, Clock
from tools_server.cursors.view import ChangesResult
from tools_server.filters import FilterError
from tools_server.flows import write_tools
from tools_server.flows.find_completed import find as completed_tasks
from tools_server.flows.find_items import FindResult, find
from tools_server.flows.pipeline import WriteSpec, run_resend, run_write
from tools_server.flows.query_changes import query_changes_result
from tools_server.flows.resources import PROJECTS_URI, TASK_URI_TEMPLATE, projects_json, task_json
from tools_server.flows.write_tools import undo_target
from tools_server.hosting.auth import verified_token
from tools_server.inputs import (
    MAX_ITEMS_PER_CALL,
    MAX_SUBTASK_DEPTH,
    DateStr,
    Ids,
    ItemChanges,
    MoveTarget,
    NewItem,
    NewProject,
    Position,
    Ref,
    TaskId,
    count_items,
    tree_depth,
)
from tools_server.plans.results import AddResult
from tools_server.plans.tasks import PlanError
from tools_server.server.arguments import closest_argument, compact_errors, strict_arguments
from tools_server.server.confirm import confirmed_write
from tools_server.server.context import DEFAULT_CALL_BUDGET as DEFAULT_CALL_BUDGET
from tools_server.server.context import AppState
from tools_server.server.context import Backend as Backend
from tools_server.server.projects import register_object_tools
from tools_server.server.prompts import check_prompt_call, register_prompts
from tools_server.server.schemas import LIMIT_KEYWORDS, compact_schema
from tools_server.state.sessions import (
    DELETE_UNCONFIRMED_MAX,
    CallScope,
    Session,
    SessionRegistry,
    SessionTokenRejected,
    token_fingerprint,
    token_secret,
)
from tools_server.state.store import StateBackend, StateRefusal
from tools_server.sync.client import SyncClient, SyncFailure

logger = logging.getLogger(__name__)
_T = TypeVar("_T")
_A = TypeVar("_A")

INSTRUCTIONS = (
    "Todoist tasks over the Sync API. Call query_changes first: it lists projects and tasks with ids; later calls "
    "with its cursor return only what changed. Put many tasks in ONE write call (batched, up to 1000). "
    "Priority 4 is most urgent (Todoist p1). dry_run previews a write."
)


WRITE = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True)
READ = ToolAnnotations(read_only_hint=True, open_world_hint=True)
DELETE = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=True)
# find_items reads the mirror without a request when it was synced this recently (e.g. by the write just before).
FIND_FRESH_SECONDS = 30.0

# Resending replays command uuids the backend already knows: repeating it changes nothing more.
RESEND = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=True)


class _Server(MCPServer):
    async def read_resource(self, uri: AnyUrl | str, context: Context[Any, Any] | None = None) -> Any:
        # Static resources get no Context in this SDK, but the project list is per session (per token): serve it
        # here, where the request's context is at hand. The registered resource only makes it listable.
        if str(uri) == PROJECTS_URI and context is not None:
            session, client = _session_and_client(context)
            text = await _read_guarded(session, client, lambda: projects_json(session.mirror))
            return [ReadResourceContents(content=text, mime_type="application/json")]
        return await super().read_resource(uri, context)

    async def list_tools(self) -> list[MCPTool]:
        tools = await super().list_tools()
        return [
            tool.model_copy(
                update={
                    "input_schema": compact_schema(tool.input_schema, LIMIT_KEYWORDS),
                    "output_schema": compact_schema(tool.output_schema, LIMIT_KEYWORDS) if tool.output_schema else None,
                }
            )
            for tool in tools
        ]

    def add_tool(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        super().add_tool(fn, *args, **kwargs)
        tool = self._tool_manager.get_tool(kwargs.get("name") or fn.__name__)
        if tool is not None:
            strict_arguments(tool.fn_metadata)

    async def get_prompt(
        self, name: str, arguments: dict[str, Any] | None = None, context: Context[Any, Any] | None = None
    ) -> Any:
        check_prompt_call(self._prompt_manager.list_prompts(), name, arguments)
        return await super().get_prompt(name, arguments, context)

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None) -> Any:
        tool = self._tool_manager.get_tool(name)
        if tool is not None:
            # The SDK ignores unknown top-level arguments; a misspelt `dryRun` must not turn a preview into a write.
            known = set(tool.parameters.get("properties", {}))
            unknown = sorted(set(arguments) - known)
            if unknown:
                hints = [f"{u}: unknown argument" + closest_argument(u, known) for u in unknown]
                raise ToolError(f"Invalid arguments for {name}: " + "; ".join(hints))
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            cause = exc.__cause__
            if isinstance(cause, ValidationError) and not isinstance(exc, UnexpectedToolError):
                # pydantic's own text is long and links to its docs; the model needs field and reason only.
                raise ToolError(f"Invalid arguments for {name}: {compact_errors(cause)}") from cause
            raise


def _reply(text: str, result: BaseModel) -> CallToolResult:
    # exclude_none keeps the structured result small; every omitted field has a default in the output schema.
    return CallToolResult(
        content=[TextContent(type="text", text=text)],
        structured_content=result.model_dump(mode="json", exclude_none=True),
    )


def _session_and_client(ctx: Context[AppState, Any]) -> tuple[Session, SyncClient]:
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
    account = token_fingerprint(token)
    key = f"{account}:{connection}"
    session = state.sessions.get(key, attributed=attributed, account=account, secret=token_secret(token))
    return session, backend.client_for(token)


async def _run(
    ctx: Context[AppState, Any], run: Callable[[Session, SyncClient], Awaitable[tuple[str, BaseModel]]]
) -> CallToolResult:
    """Every tool's body: the caller's session, its lock, budget and progress, error translation, and the reply."""
    session, client = _session_and_client(ctx)
    state = ctx.request_context.lifespan_context
    scope = CallScope.starting(state.clock, state.call_budget, ctx.report_progress)
    try:
        text, result = await session.run_call(scope, lambda: run(session, client))
    except (SessionTokenRejected, SyncFailure, PlanError, StateRefusal) as exc:
        raise ToolError(" ".join([str(exc), *session.take_notices()])) from exc
    return _reply(text, result)


async def _write(
    ctx: Context[AppState, Any], spec: WriteSpec[_A], args: _A, dry_run: bool, confirm: int | None = None
) -> CallToolResult:
    return await _run(ctx, lambda session, client: run_write(spec, session, client, args, dry_run, confirm))


async def _read_guarded(session: Session, client: SyncClient, render: Callable[[], _T]) -> _T:
    """Bring the mirror up to date (one incremental request) and render from it; failures become resource errors."""
    async with session.lock:
        try:
            await session.request(client)
        except (SessionTokenRejected, SyncFailure, StateRefusal) as exc:
            raise ResourceError(str(exc)) from exc
        return render()


def _unused_projects_reader() -> str:
    raise ResourceError("todoist://projects is served by _Server.read_resource")  # never reached: see read_resource


def build_server(
    backend: Backend,
    *,
    name: str = "tools-server",
    clock: Clock = SYSTEM_CLOCK,
    sessions: SessionRegistry | None = None,
    call_budget: float = DEFAULT_CALL_BUDGET,
    state: StateBackend | None = None,
) -> MCPServer:
    """The MCP server over ``backend``; each client connection (or HTTP session) gets its own sync cache.

    ``clock`` is the server's only source of time: "today" for filters, the age of a mirror, idle sessions, and the
    ``call_budget`` (seconds) each tool call may spend on the backend before it returns what is left as pending.
    """
    if not call_budget > 0:
        raise ValueError("call_budget must be a positive number of seconds")

    @asynccontextmanager
    async def lifespan(_server: MCPServer) -> AsyncGenerator[AppState]:
        yield AppState(backend, clock, call_budget, sessions, state)

    server = _Server(name, version=__version__, instructions=INSTRUCTIONS, lifespan=lifespan)

    @server.tool(title="Add tasks", annotations=WRITE)
    async def add_item(
        items: Annotated[list[NewItem], Field(min_length=1, max_length=MAX_ITEMS_PER_CALL)],
        ctx: Context[AppState, Any],
        new_projects: Annotated[
            list[NewProject] | None, Field(max_length=50, description="Projects to create first; tasks may name them")
        ] = None,
        dry_run: bool = False,
    ) -> Annotated[CallToolResult, AddResult]:
        """Create tasks (with subtasks) in one batch. Unknown project/section names fail per task with suggestions."""
        total = count_items(items)
        if total > MAX_ITEMS_PER_CALL:
            raise ToolError(f"items: at most {MAX_ITEMS_PER_CALL} tasks per call, subtasks included (got {total})")
        if tree_depth(items) > MAX_SUBTASK_DEPTH + 1:
            raise ToolError(f"items: subtasks nest at most {MAX_SUBTASK_DEPTH} levels deep")
        return await _write(ctx, write_tools.ADD, (items, new_projects or []), dry_run)

    @server.tool(title="Complete tasks", annotations=WRITE)
    async def complete_items(ids: Ids, ctx: Context[AppState, Any], dry_run: bool = False) -> CallToolResult:
        """Complete tasks by id (subtasks too). Recurring tasks advance to their next date instead."""
        return await _write(ctx, write_tools.COMPLETE, ids, dry_run)

    @server.tool(title="Move or reorder tasks", annotations=WRITE)
    async def move_items(
        ids: Ids,
        ctx: Context[AppState, Any],
        to_project: Annotated[Ref | None, Field(description="Project id or name")] = None,
        to_section: Annotated[Ref | None, Field(description="Section id or name")] = None,
        to_parent: Annotated[TaskId | None, Field(description="Parent task id")] = None,
        position: Annotated[
            Position | None, Field(description="Order among the siblings there (alone: reorder in place)")
        ] = None,
        dry_run: bool = False,
    ) -> CallToolResult:
        """Move tasks (with subtasks) to one of: a project, a section, under a parent task; position orders them."""
        try:
            target = MoveTarget(to_project=to_project, to_section=to_section, to_parent=to_parent, position=position)
        except ValidationError as exc:
            raise ToolError(f"Invalid arguments for move_items: {compact_errors(exc)}") from exc
        return await _write(ctx, write_tools.MOVE, (ids, target), dry_run)

    @server.tool(title="Update tasks", annotations=WRITE)
    async def update_items(
        items: Annotated[list[ItemChanges], Field(min_length=1, max_length=MAX_ITEMS_PER_CALL)],
        ctx: Context[AppState, Any],
        dry_run: bool = False,
    ) -> CallToolResult:
        """Change fields of many tasks in one batch. due_date on a recurring task keeps its recurrence."""
        return await _write(ctx, write_tools.UPDATE, items, dry_run)

    @server.tool(title="Delete tasks", annotations=DELETE)
    async def delete_items(
        ids: Ids,
        ctx: Context[AppState, Any],
        confirm: Annotated[
            int | None,
            Field(description=f"Over {DELETE_UNCONFIRMED_MAX} tasks (subtasks count): the number deleted"),
        ] = None,
        dry_run: bool = False,
    ) -> CallToolResult | InputRequiredResult:
        """Delete tasks with their subtasks. Cannot be undone."""
        return await confirmed_write(ctx, lambda n: _write(ctx, write_tools.DELETE, ids, dry_run, n), confirm)

    @server.tool(title="Reopen completed tasks", annotations=WRITE)
    async def reopen_items(ids: Ids, ctx: Context[AppState, Any], dry_run: bool = False) -> CallToolResult:
        """Reopen completed tasks by id (e.g. from find_completed)."""
        return await _write(ctx, write_tools.REOPEN, ids, dry_run)

    @server.tool(title="Find completed tasks", annotations=READ)
    async def find_completed(
        ctx: Context[AppState, Any],
        since: Annotated[DateStr | None, Field(description="First day (user's timezone); default: this week")] = None,
        until: Annotated[DateStr | None, Field(description="Last day, inclusive")] = None,
        by: Literal["completion", "due"] = "completion",
        project: Annotated[Ref | None, Field(description="Project id or name")] = None,
        search: Annotated[str | None, Field(min_length=1, max_length=200, description="Text in the title")] = None,
        limit: Annotated[int, Field(ge=1, le=500)] = 50,
    ) -> CallToolResult:
        """Completed tasks with ids and local completion times, and a count per day."""
        return await _run(
            ctx,
            lambda session, client: completed_tasks(
                session, client, clock.now(), since, until, by, project, search, limit
            ),
        )

    @server.tool(title="Undo a write", annotations=WRITE)
    async def undo(
        ctx: Context[AppState, Any],
        write: Annotated[str | None, Field(max_length=64, description="A write result's 'write' id")] = None,
        confirm: Annotated[int | None, Field(description="Undoing a big add: tasks deleted")] = None,
        dry_run: bool = False,
    ) -> CallToolResult | InputRequiredResult:
        """Reverse a write (add, complete, move, update): `write`, else this session's last. Skips and names tasks
        changed elsewhere since."""

        def attempt(n: int | None) -> Awaitable[CallToolResult]:
            async def body(session: Session, client: SyncClient) -> tuple[str, BaseModel]:
                if not dry_run:
                    await session.lock_writes()  # the handle is read under the lock: two undos cannot both run it
                record = await undo_target(session, write)
                return await run_write(write_tools.UNDO, session, client, record, dry_run, n)

            return _run(ctx, body)

        return await confirmed_write(ctx, attempt, confirm)

    @server.tool(title="Resend unconfirmed writes", annotations=RESEND)
    async def resend_writes(
        ctx: Context[AppState, Any],
        batch: Annotated[
            str | None,
            Field(min_length=1, max_length=64, description="The 'resend' id of a write result; omit for all pending"),
        ] = None,
    ) -> CallToolResult:
        """Finish writes whose results listed unconfirmed tasks: resends only those, each applied at most once."""
        return await _run(ctx, lambda session, client: run_resend(session, client, batch))

    @server.tool(title="Find open tasks", annotations=READ)
    async def find_items(
        filter: Annotated[
            str, Field(min_length=1, max_length=500, description="Todoist filter, e.g. 'today | overdue'")
        ],
        ctx: Context[AppState, Any],
        limit: Annotated[int, Field(ge=1, le=500)] = 50,
    ) -> CallToolResult:
        """Search open tasks with Todoist filter syntax (p1, #Project, @label, /Section, today, overdue, &, |, !)."""

        async def run(session: Session, client: SyncClient) -> tuple[str, FindResult]:
            if clock.monotonic() - session.synced_at > FIND_FRESH_SECONDS:
                await session.request(client)  # one incremental sync; a mirror synced moments ago is used as it is
            try:
                return find(session.mirror, filter, limit, clock.now())
            except FilterError as exc:
                raise PlanError(f"filter: {exc}") from exc

        return await _run(ctx, run)

    @server.tool(title="Overview and changes", annotations=READ)
    async def query_changes(
        ctx: Context[AppState, Any],
        cursor: Annotated[str | None, Field(max_length=64, description="From your previous call")] = None,
        limit: Annotated[int, Field(ge=1, le=500, description="Max tasks/changes listed")] = 50,
    ) -> Annotated[CallToolResult, ChangesResult]:
        """No cursor: overview of projects and active tasks with ids. With cursor: only what changed elsewhere since."""
        return await _run(ctx, lambda session, client: query_changes_result(session, client, cursor, limit))

    server.add_resource(
        FunctionResource(
            uri=PROJECTS_URI,
            name="projects",
            description="Projects with ids, sections and open-task counts (JSON)",
            mime_type="application/json",
            fn=_unused_projects_reader,
        )
    )

    @server.resource(
        TASK_URI_TEMPLATE, name="task", description="One open task by id (JSON)", mime_type="application/json"
    )
    async def task_resource(task_id: str, ctx: Context[AppState, Any]) -> str:
        session, client = _session_and_client(ctx)
        text = await _read_guarded(session, client, lambda: task_json(session.mirror, task_id))
        if text is None:
            raise ResourceNotFoundError(f"no open task with id {task_id!r} (completed or deleted tasks are not served)")
        return text

    register_object_tools(server, _run)
    register_prompts(server)
    return server
