"""Putting writes right: undo a write, and resend the commands of a write that were not confirmed."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Annotated

from mcp.server import MCPServer
from mcp.types import CallToolResult, InputRequiredResult
from pydantic import BaseModel, Field

from tools_server.flows import run_resend, run_write, write_tools
from tools_server.server.calls import RESEND, WRITE, ToolContext, Written, run
from tools_server.server.confirm import confirmed_write
from tools_server.state import Session
from tools_server.sync.client import SyncClient


def register(server: MCPServer) -> None:
    @server.tool(title="Undo a write", annotations=WRITE)
    async def undo(
        ctx: ToolContext,
        write: Annotated[str | None, Field(max_length=64, description="A write result's 'write' id")] = None,
        confirm: Annotated[int | None, Field(description="Undoing a big add: tasks deleted")] = None,
        dry_run: bool = False,
    ) -> Written | InputRequiredResult:
        """Reverse a write (`write`, else this session's last); skips and names tasks changed elsewhere since."""

        def attempt(n: int | None) -> Awaitable[CallToolResult]:
            async def body(session: Session, client: SyncClient) -> tuple[str, BaseModel]:
                if not dry_run:
                    await session.lock_writes()  # the handle is read under the lock: two undos cannot both run it
                record = await write_tools.undo_target(session, write)
                return await run_write(write_tools.UNDO, session, client, record, dry_run, n)

            return run(ctx, body)

        return await confirmed_write(ctx, attempt, confirm)

    @server.tool(title="Resend unconfirmed writes", annotations=RESEND)
    async def resend_writes(
        ctx: ToolContext,
        batch: Annotated[
            str | None,
            Field(min_length=1, max_length=64, description="The 'resend' id of a write result; omit for all pending"),
        ] = None,
    ) -> Written:
        """Finish writes whose results listed unconfirmed tasks: resends only those, each applied at most once."""
        return await run(ctx, lambda session, client: run_resend(session, client, batch))
