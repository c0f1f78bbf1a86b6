"""The comments tool: add, edit and delete comments on tasks and projects in one batch, and list them."""

from __future__ import annotations

from typing import Annotated

from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult
from pydantic import BaseModel, Field

from tools_server.flows import FileRefused, planned_attachment, read_local_files, run_write, upload_files, write_tools
from tools_server.inputs import MAX_ITEMS_PER_CALL, CommentEdit, NewComment, Ref, TaskId
from tools_server.plans import CommentBrief, WriteResult, list_comments
from tools_server.server.calls import WRITE, ToolContext, reads_local_files, run
from tools_server.state import Session
from tools_server.sync.client import SyncClient

MAX_LISTED_TARGETS = 50


class CommentsResult(WriteResult):
    comments: list[CommentBrief] | None = None


def register(server: MCPServer) -> None:
    @server.tool(annotations=WRITE, title="Comments")
    async def comment_items(
        ctx: ToolContext,
        add: Annotated[list[NewComment] | None, Field(max_length=MAX_ITEMS_PER_CALL)] = None,
        update: Annotated[list[CommentEdit] | None, Field(max_length=MAX_ITEMS_PER_CALL)] = None,
        delete: Annotated[list[TaskId] | None, Field(max_length=MAX_ITEMS_PER_CALL)] = None,
        list: Annotated[  # the argument's name is the tool's contract
            list[Ref] | None, Field(max_length=MAX_LISTED_TARGETS, description="Task/project ids")
        ] = None,
        dry_run: bool = False,
    ) -> Annotated[CallToolResult, CommentsResult]:
        """Add (on a task or project), edit, delete comments in one batch; list shows them."""
        targets = list
        adds, edits, deletes = add or [], update or [], delete or []
        if not (adds or edits or deletes or targets):
            raise ToolError("comment_items: give add, update, delete or list")
        if any(c.file_path is not None for c in adds) and not reads_local_files(ctx):
            raise ToolError(
                "add: file_path is read only by a server on your own machine (stdio or `tools-server call`); this "
                "one is reached over HTTP and reads no paths. Give file_url (a link) instead"
            )
        try:  # every file read and checked before anything is sent
            local = read_local_files(adds)
        except FileRefused as exc:
            raise ToolError(str(exc)) from None

        async def body(session: Session, client: SyncClient) -> tuple[str, BaseModel]:
            text, result = "", CommentsResult(ok=0, failed=0)
            if adds or edits or deletes:
                if dry_run:
                    files = {file.index: planned_attachment(file) for file in local}
                else:
                    files = await upload_files(client, local)
                changes = (adds, edits, deletes, files)
                text, written = await run_write(write_tools.COMMENTS, session, client, changes, dry_run)
                result = CommentsResult.model_validate(written.model_dump(exclude_none=True))
            else:
                await session.request(client)
            if targets:
                lines, briefs = list_comments(session.mirror, targets)
                text = "\n".join([text, *lines] if text else lines)
                result.comments = briefs or None
            return text, result

        return await run(ctx, body)
