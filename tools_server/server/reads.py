"""The read tools and resources: the overview and what changed (query_changes), open tasks by filter (find_items),
completed tasks (find_completed), and the projects and task resources."""

from __future__ import annotations

from typing import Annotated, Literal

from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError, ToolError
from mcp.server.mcpserver.resources import FunctionResource
from mcp.types import CallToolResult
from pydantic import Field

from tools_server.cursors import ChangesResult
from tools_server.filters import FilterError
from tools_server.flows import (
    PROJECTS_URI,
    TASK_URI_TEMPLATE,
    CompletedResult,
    FindResult,
    productivity,
    query_changes_result,
    search_activity,
    search_completed_tasks,
    search_open_tasks,
    task_json,
)
from tools_server.inputs import DateStr, Ref
from tools_server.plans import PlanError
from tools_server.server.board import TOOL_META, for_board
from tools_server.server.calls import READ, ToolContext, clock_of, read_guarded, run, session_and_client
from tools_server.state import Session
from tools_server.sync.client import SyncClient

# find_items reads the mirror without a request when it was synced this recently (e.g. by the write just before).
FIND_FRESH_SECONDS = 30.0


def _unused_projects_reader() -> str:
    raise ResourceError("todoist://projects is served by the server's read_resource")  # never reached: see app.py


def register(server: MCPServer) -> None:
    @server.tool(title="Find completed tasks", annotations=READ)
    async def find_completed(
        ctx: ToolContext,
        since: Annotated[DateStr | None, Field(description="First day (user's zone); default this week")] = None,
        until: Annotated[DateStr | None, Field(description="Last day, inclusive")] = None,
        by: Literal["completion", "due", "stats", "activity"] = "completion",
        project: Annotated[Ref | None, Field(description="Project id or name")] = None,
        search: Annotated[str | None, Field(min_length=1, max_length=200, description="Text in title")] = None,
        limit: Annotated[int, Field(ge=1, le=500)] = 50,
        task: Annotated[Ref | None, Field(description="Task id")] = None,
        events: Annotated[str | None, Field(max_length=200, description="e.g. completed, task:added")] = None,
    ) -> Annotated[CallToolResult, CompletedResult]:
        """Completed tasks (ids, local times, per-day count). by=stats: goals, streaks, karma; by=activity: changes"""
        clock = clock_of(ctx)
        if by == "activity":
            return await run(
                ctx,
                lambda session, client: search_activity(
                    session, client, clock.now(), since, until, project, task, events, search, limit
                ),
            )
        given = [n for n, v in (("task", task), ("events", events)) if v]
        if given:
            raise ToolError(f"{given[0]}: used with by=activity only")
        if by == "stats":
            given = [n for n, v in (("since", since), ("until", until), ("project", project), ("search", search)) if v]
            if given:
                raise ToolError(f"{given[0]}: not used with by=stats")
            return await run(ctx, lambda session, client: productivity(session, client, clock.now()))
        return await run(
            ctx,
            lambda session, client: search_completed_tasks(
                session, client, clock.now(), since, until, by, project, search, limit
            ),
        )

    @server.tool(title="Find open tasks", annotations=READ, meta=TOOL_META)
    async def find_items(
        filter: Annotated[
            str,
            Field(
                min_length=1, max_length=500, description="Todoist filter (e.g. 'today | overdue') or saved filter name"
            ),
        ],
        ctx: ToolContext,
        limit: Annotated[int, Field(ge=1, le=500)] = 50,
    ) -> Annotated[CallToolResult, FindResult]:
        """Search open tasks with Todoist filter syntax (p1, #Project, @label, /Section, today, overdue, &, |, !)."""
        clock = clock_of(ctx)

        async def body(session: Session, client: SyncClient) -> tuple[str, FindResult]:
            if clock.monotonic() - session.synced_at > FIND_FRESH_SECONDS:
                await session.request(client)  # one incremental sync; a mirror synced moments ago is used as it is
            try:
                return search_open_tasks(session.mirror, filter, limit, clock.now())
            except FilterError as exc:
                raise PlanError(f"filter: {exc}") from exc

        return for_board(ctx, await run(ctx, body))

    @server.tool(title="Overview and changes", annotations=READ, meta=TOOL_META)
    async def query_changes(
        ctx: ToolContext,
        cursor: Annotated[str | None, Field(max_length=64, description="From your previous call")] = None,
        limit: Annotated[int, Field(ge=1, le=500, description="Max tasks/changes listed")] = 50,
        archived: Annotated[bool, Field(description="Also list archived projects")] = False,
    ) -> Annotated[CallToolResult, ChangesResult]:
        """No cursor: overview of projects and active tasks with ids. With cursor: only what changed elsewhere since."""
        result = await run(ctx, lambda session, client: query_changes_result(session, client, cursor, limit, archived))
        return for_board(ctx, result)

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
    async def task_resource(task_id: str, ctx: ToolContext) -> str:
        session, client = session_and_client(ctx)
        text = await read_guarded(session, client, lambda: task_json(session.mirror, task_id))
        if text is None:
            raise ResourceNotFoundError(f"no open task with id {task_id!r} (completed or deleted tasks are not served)")
        return text
