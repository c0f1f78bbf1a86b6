"""The task write tools: add, complete, move, update, delete and reopen tasks."""

from __future__ import annotations

from typing import Annotated

from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, InputRequiredResult
from pydantic import Field, ValidationError

from tools_server.flows import write_tools
from tools_server.inputs import (
    MAX_ITEMS_PER_CALL,
    MAX_SUBTASK_DEPTH,
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
from tools_server.plans import AddResult
from tools_server.server.arguments import compact_errors
from tools_server.server.calls import DELETE, WRITE, ToolContext, Written, clock_of, write
from tools_server.server.confirm import confirmed_write
from tools_server.state import DELETE_UNCONFIRMED_MAX


def register(server: MCPServer) -> None:
    @server.tool(title="Add tasks", annotations=WRITE)
    async def add_item(
        items: Annotated[list[NewItem], Field(min_length=1, max_length=MAX_ITEMS_PER_CALL)],
        ctx: ToolContext,
        new_projects: Annotated[
            list[NewProject] | None, Field(max_length=50, description="Projects to create first; tasks may name them")
        ] = None,
        quick: Annotated[
            bool,
            Field(description="Contents in Todoist Quick Add syntax: dates, #project /section @label p1 {deadline}"),
        ] = False,
        dry_run: bool = False,
    ) -> Annotated[CallToolResult, AddResult]:
        """Create tasks (with subtasks) in one batch; unknown names fail per task with suggestions."""
        total = count_items(items)
        if total > MAX_ITEMS_PER_CALL:
            raise ToolError(f"items: at most {MAX_ITEMS_PER_CALL} tasks per call, subtasks included (got {total})")
        if tree_depth(items) > MAX_SUBTASK_DEPTH + 1:
            raise ToolError(f"items: subtasks nest at most {MAX_SUBTASK_DEPTH} levels deep")
        now = clock_of(ctx).now() if quick else None
        return await write(ctx, write_tools.ADD, (items, new_projects or [], now), dry_run)

    @server.tool(title="Complete tasks", annotations=WRITE)
    async def complete_items(ids: Ids, ctx: ToolContext, dry_run: bool = False) -> Written:
        """Complete tasks by id (subtasks too). Recurring tasks advance to their next date instead."""
        return await write(ctx, write_tools.COMPLETE, ids, dry_run)

    @server.tool(title="Move or reorder tasks", annotations=WRITE)
    async def move_items(
        ids: Ids,
        ctx: ToolContext,
        to_project: Annotated[Ref | None, Field(description="Project id or name")] = None,
        to_section: Annotated[Ref | None, Field(description="Section id or name")] = None,
        to_parent: Annotated[TaskId | None, Field(description="Parent task id")] = None,
        position: Annotated[
            Position | None, Field(description="Order among the siblings there (alone: reorder in place)")
        ] = None,
        dry_run: bool = False,
    ) -> Written:
        """Move tasks (with subtasks) to one of: a project, a section, under a parent task; position orders them."""
        try:
            target = MoveTarget(to_project=to_project, to_section=to_section, to_parent=to_parent, position=position)
        except ValidationError as exc:
            raise ToolError(f"Invalid arguments for move_items: {compact_errors(exc)}") from exc
        return await write(ctx, write_tools.MOVE, (ids, target), dry_run)

    @server.tool(title="Update tasks", annotations=WRITE)
    async def update_items(
        items: Annotated[list[ItemChanges], Field(min_length=1, max_length=MAX_ITEMS_PER_CALL)],
        ctx: ToolContext,
        dry_run: bool = False,
    ) -> Written:
        """Change fields of many tasks in one batch."""
        return await write(ctx, write_tools.UPDATE, items, dry_run)

    @server.tool(title="Delete tasks", annotations=DELETE)
    async def delete_items(
        ids: Ids,
        ctx: ToolContext,
        confirm: Annotated[
            int | None,
            Field(description=f"Over {DELETE_UNCONFIRMED_MAX} tasks (subtasks count): the number deleted"),
        ] = None,
        dry_run: bool = False,
    ) -> Written | InputRequiredResult:
        """Delete tasks with their subtasks. Cannot be undone."""
        return await confirmed_write(ctx, lambda n: write(ctx, write_tools.DELETE, ids, dry_run, n), confirm)

    @server.tool(title="Reopen completed tasks", annotations=WRITE)
    async def reopen_items(ids: Ids, ctx: ToolContext, dry_run: bool = False) -> Written:
        """Reopen completed tasks by id (e.g. from find_completed)."""
        return await write(ctx, write_tools.REOPEN, ids, dry_run)
