"""``build_server(backend)``: the MCP server with its tool groups, resources and prompts, and the server-wide rules
every tool follows (compact schemas, strict arguments, short argument errors)."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from contextlib import asynccontextmanager
from types import CodeType
from typing import Any

from mcp.server import MCPServer
from mcp.server.lowlevel.helper_types import ReadResourceContents
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from mcp.server.mcpserver.tools import Tool as MCPServerTool
from mcp.types import Tool as MCPTool
from pydantic import AnyUrl, ValidationError

from tools_server import __version__
from tools_server.clock import SYSTEM_CLOCK, Clock
from tools_server.flows import PROJECTS_URI, projects_json
from tools_server.inputs import MAX_SUBTASK_DEPTH
from tools_server.server import comments, projects, reads, recovery, tasks
from tools_server.server.arguments import closest_argument, compact_errors, strict_arguments, without_client_keys
from tools_server.server.board import board_apps
from tools_server.server.calls import DEFAULT_CALL_BUDGET, AppState, Backend, read_guarded, session_and_client
from tools_server.server.prompts import check_prompt_call, register_prompts
from tools_server.server.schemas import LIMIT_KEYWORDS, output_schema, portable_schema, result_model
from tools_server.state import SessionRegistry, StateBackend

INSTRUCTIONS = (
    "Todoist tasks over the Sync API. Call query_changes first: it lists projects and tasks with ids; later calls "
    "with its cursor return only what changed. Put many tasks in ONE write call (batched, up to 1000). "
    "Priority 4 is most urgent (Todoist p1). dry_run previews a write."
)


# Subtasks (NewSubtask, the one recursive model) unrolled MAX_SUBTASK_DEPTH levels below their task: add_item
# refuses deeper trees, so the unrolled schema says exactly what the server accepts.
_COPIES = MAX_SUBTASK_DEPTH


# Tools built once per process, by the code, arguments and options they were registered with (see _Server.add_tool).
_BUILT: dict[tuple[CodeType, tuple[Any, ...], str], MCPServerTool] = {}


class _Server(MCPServer):
    async def read_resource(self, uri: AnyUrl | str, context: Context[Any, Any] | None = None) -> Any:
        # Static resources get no Context in this SDK, but the project list is per session (per token): serve it
        # here, where the request's context is at hand. The registered resource only makes it listable.
        if str(uri) == PROJECTS_URI and context is not None:
            session, client = session_and_client(context)
            text = await read_guarded(session, client, lambda: projects_json(session.mirror))
            return [ReadResourceContents(content=text, mime_type="application/json")]
        return await super().read_resource(uri, context)

    async def list_tools(self) -> list[MCPTool]:
        tools = await super().list_tools()
        listed: list[MCPTool] = []
        for tool in tools:
            output = tool.output_schema
            inputs = portable_schema(tool.input_schema, LIMIT_KEYWORDS, _COPIES)
            outputs = portable_schema(output, LIMIT_KEYWORDS) if output else None
            listed.append(tool.model_copy(update={"input_schema": inputs, "output_schema": outputs}))
        return listed

    def add_tool(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        # The SDK builds a tool's argument model and input schema from its signature for every server (two thirds of
        # build_server, which every session of the tests and of sessionless HTTP pays). A tool group registers the same
        # function code with the same options each time, so the first build in this process is reused with the new
        # closure: the signature, and so everything derived from it, is the same.
        key = (fn.__code__, args, repr(sorted(kwargs.items())))
        built = _BUILT.get(key)
        if built is not None:
            self._tool_manager._tools[built.name] = built.model_copy(update={"fn": fn})  # pyright: ignore[reportPrivateUsage]
            return
        self._add_tool(fn, *args, **kwargs)
        tool = self._tool_manager.get_tool(kwargs.get("name") or fn.__name__)
        if tool is not None:
            _BUILT[key] = tool

    def _add_tool(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        result = result_model(fn)
        if result is not None:
            # The SDK derives a tool's output schema anew for every server built (about 2 ms a tool, a third of a
            # test's set-up); a result model's schema never changes, so it is derived once per process below.
            kwargs["structured_output"] = False
        super().add_tool(fn, *args, **kwargs)
        tool = self._tool_manager.get_tool(kwargs.get("name") or fn.__name__)
        if tool is not None:
            strict_arguments(tool.fn_metadata)
            if result is not None:
                # Both read live by the SDK: the schema is advertised, each reply is validated against the model.
                tool.fn_metadata.output_schema = output_schema(result)
                tool.fn_metadata.output_model = result

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
            arguments = without_client_keys(name, arguments, known)
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


def build_server(
    backend: Backend,
    *,
    name: str = "tools-server",
    clock: Clock = SYSTEM_CLOCK,
    sessions: SessionRegistry | None = None,
    call_budget: float = DEFAULT_CALL_BUDGET,
    state: StateBackend | None = None,
    local_files: bool = False,
) -> MCPServer:
    """The MCP server over ``backend``; each client connection (or HTTP session) gets its own sync cache.

    ``clock`` is the server's only source of time: "today" for filters, the age of a mirror, idle sessions, and the
    ``call_budget`` (seconds) each tool call may spend on the backend before it returns what is left as pending.
    ``local_files``: the server runs on the user's machine (stdio, ``call``) and may read a path they give
    (comment_items' file_path); off by default, and never honoured for a call that came over HTTP.
    """
    if not call_budget > 0:
        raise ValueError("call_budget must be a positive number of seconds")

    @asynccontextmanager
    async def lifespan(_server: MCPServer) -> AsyncGenerator[AppState]:
        yield AppState(backend, clock, call_budget, sessions, state, local_files)

    server = _Server(name, version=__version__, instructions=INSTRUCTIONS, lifespan=lifespan, extensions=[board_apps()])
    # The order of tools/list: writes on tasks first, then the reads, putting writes right, comments, projects.
    for group in (tasks, reads, recovery, comments, projects):
        group.register(server)
    register_prompts(server)
    return server
