"""The projects tool: add, update, move, reorder, archive and delete projects, sections, labels and saved filters in one
batch."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Annotated

from mcp.server import MCPServer
from mcp.types import CallToolResult, InputRequiredResult
from pydantic import BaseModel, Field

from tools_server.flows import run_write, write_tools
from tools_server.inputs import MAX_OPS_PER_CALL, ProjectOp
from tools_server.server.calls import MANAGE, ToolContext, Written, run
from tools_server.server.confirm import confirmed_write
from tools_server.state import Session
from tools_server.sync.client import SyncClient


def register(server: MCPServer) -> None:
    @server.tool(annotations=MANAGE, title="Projects, sections, labels, filters")
    async def manage_projects(
        ops: Annotated[list[ProjectOp], Field(min_length=1, max_length=MAX_OPS_PER_CALL)],
        ctx: ToolContext,
        confirm: Annotated[int | None, Field(description="Deleting >3 tasks: their count")] = None,
        dry_run: bool = False,
    ) -> Written | InputRequiredResult:
        """Change projects, sections, labels, saved filters by id or name in one batch; ops may name new ones."""

        def attempt(count: int | None) -> Awaitable[CallToolResult]:
            # Deleting projects or sections is counted in tasks removed, confirmed as delete_items is.
            async def body(session: Session, client: SyncClient) -> tuple[str, BaseModel]:
                return await run_write(write_tools.PROJECTS, session, client, ops, dry_run, count)

            return run(ctx, body)

        return await confirmed_write(ctx, attempt, confirm)
