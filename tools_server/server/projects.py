"""The tools for comments, projects, sections and labels, registered on the server by ``build_server``.

They take the server's tool runtime as an argument (``run``: session, lock, error translation and reply) and confirm
deletions through ``confirm.confirmed_write`` as delete_items does, so this module needs nothing from server.py.
"""

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, InputRequiredResult, ToolAnnotations
from pydantic import BaseModel, Field

from tools_server.flows import pipeline, write_tools
from tools_server.inputs import MAX_ITEMS_PER_CALL, MAX_OPS_PER_CALL, CommentEdit, NewComment, ProjectOp, Ref, TaskId
from tools_server.plans.comments import CommentBrief, list_comments
from tools_server.plans.results import WriteResult
from tools_server.server.confirm import confirmed_write
from tools_server.state.sessions import Session
from tools_server.sync.client import SyncClient

Body = Callable[[Session, SyncClient], Awaitable[tuple[str, BaseModel]]]
Run = Callable[[Context[Any, Any], Body], Awaitable[CallToolResult]]

WRITE = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True)
MANAGE = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=True)
MAX_LISTED_TARGETS = 50


class CommentsResult(WriteResult):
    comments: list[CommentBrief] | None = None


def register_object_tools(server: MCPServer, run: Run) -> None:
    @server.tool(annotations=WRITE, title="Comments")
    async def comment_items(
        ctx: Context[Any, Any],
        add: Annotated[list[NewComment] | None, Field(max_length=MAX_ITEMS_PER_CALL)] = None,
        update: Annotated[list[CommentEdit] | None, Field(max_length=MAX_ITEMS_PER_CALL)] = None,
        delete: Annotated[list[TaskId] | None, Field(max_length=MAX_ITEMS_PER_CALL)] = None,
        list: Annotated[  # the argument's name is the tool's contract
            list[Ref] | None, Field(max_length=MAX_LISTED_TARGETS, description="Task/project ids")
        ] = None,
        dry_run: bool = False,
    ) -> CallToolResult:
        """Add (on a task or project), edit, delete comments in one batch; list shows them."""
        targets = list
        changes = (add or [], update or [], delete or [])
        if not (any(changes) or targets):
            raise ToolError("comment_items: give add, update, delete or list")

        async def body(session: Session, client: SyncClient) -> tuple[str, BaseModel]:
            text, result = "", CommentsResult(ok=0, failed=0)
            if any(changes):
                text, written = await pipeline.run_write(write_tools.COMMENTS, session, client, changes, dry_run)
                result = CommentsResult.model_validate(written.model_dump(exclude_none=True))
            else:
                await session.request(client)
            if targets:
                lines, briefs = list_comments(session.mirror, targets)
                text = "\n".join([text, *lines] if text else lines)
                result.comments = briefs or None
            return text, result

        return await run(ctx, body)

    @server.tool(annotations=MANAGE, title="Projects, sections, labels")
    async def manage_projects(
        ops: Annotated[list[ProjectOp], Field(min_length=1, max_length=MAX_OPS_PER_CALL)],
        ctx: Context[Any, Any],
        confirm: Annotated[int | None, Field(description="Deleting >3 tasks: their count")] = None,
        dry_run: bool = False,
    ) -> CallToolResult | InputRequiredResult:
        """Change projects, sections, labels by id or name in one batch; ops may name projects added before them."""

        def attempt(count: int | None) -> Awaitable[CallToolResult]:
            # Deleting projects or sections is counted in tasks removed, confirmed as delete_items is.
            async def body(session: Session, client: SyncClient) -> tuple[str, BaseModel]:
                return await pipeline.run_write(write_tools.PROJECTS, session, client, ops, dry_run, count)

            return run(ctx, body)

        return await confirmed_write(ctx, attempt, confirm)
