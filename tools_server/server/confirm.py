"""Asking the user before a write removes many tasks, in whatever way the client can.

* 2026-07-28 clients (sessionless, no back-channel): the call answers ``input_required`` with a form elicitation
  (multi-round-trip requests); the client asks the user and calls again with the answer, and the count asked rides
  the SDK-sealed ``request_state``, so an answer confirms exactly the count it was asked about.
* older clients that declared elicitation: the server-initiated ``elicitation/create`` request, mid-call.
* any other client: the error asks the model for ``confirm=<number of tasks>``, after checking with the user.

A user who says no (declines, cancels, or unticks the box) is reported as having declined, with no word of
``confirm=``: the model must take the answer, not route around it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from mcp.server.elicitation import render_elicitation_schema
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.shared.exceptions import MCPError
from mcp.types import CallToolResult, ElicitRequest, ElicitRequestFormParams, ElicitResult, InputRequiredResult
from mcp_types.version import is_version_at_least
from pydantic import BaseModel, Field

from tools_server.flows import NeedsConfirmation

logger = logging.getLogger(__name__)

QUESTION_KEY = "confirm_removal"
_INPUT_REQUIRED_VERSION = "2026-07-28"  # first revision that elicits through InputRequiredResult


class ConfirmRemoval(BaseModel):
    confirm: bool = Field(description="Delete them")


def question(count: int) -> str:
    return f"Delete {count} tasks (subtasks included)? This cannot be undone."


def declined(count: int) -> ToolError:
    return ToolError(f"the user declined deleting {count} tasks; nothing was sent")


async def confirmed_write(
    ctx: Context[Any, Any], attempt: Callable[[int | None], Awaitable[CallToolResult]], confirm: int | None
) -> CallToolResult | InputRequiredResult:
    """Run ``attempt`` (a write taking the confirmed count); when it needs a confirmation, get one from the user."""
    answer = _answer(ctx)
    if answer is not None:
        count, accepted = answer
        if not accepted:
            raise declined(count)
        confirm = count
    try:
        return await attempt(confirm)
    except NeedsConfirmation as need:
        if answer is not None:  # the tasks changed between the question and the answer: ask again from the start
            raise ToolError(f"{need} (the user confirmed {answer[0]}, but it is now {need.count})") from need
        if not _can_elicit(ctx):
            raise ToolError(str(need)) from need
        if _input_required(ctx):
            schema = render_elicitation_schema(ConfirmRemoval)
            request = ElicitRequest(
                params=ElicitRequestFormParams(message=question(need.count), requested_schema=schema)
            )
            state = json.dumps({"count": need.count})
            return InputRequiredResult(input_requests={QUESTION_KEY: request}, request_state=state)
        said_yes = await _asked_mid_call(ctx, need.count)
        if said_yes is None:  # the user was never asked: the model may still check with them and pass confirm
            raise ToolError(str(need)) from need
        if not said_yes:
            raise declined(need.count) from need
        asked = need.count
    try:
        return await attempt(asked)
    except NeedsConfirmation as again:
        raise ToolError(str(again)) from again


def _input_required(ctx: Context[Any, Any]) -> bool:
    version = ctx.protocol_version
    return version is not None and is_version_at_least(version, _INPUT_REQUIRED_VERSION)


def _can_elicit(ctx: Context[Any, Any]) -> bool:
    capabilities = ctx.client_capabilities
    return capabilities is not None and capabilities.elicitation is not None


def _answer(ctx: Context[Any, Any]) -> tuple[int, bool] | None:
    """(count asked, accepted) when this call is the retry that carries the user's answer to our question."""
    if not _input_required(ctx) or ctx.request_state is None or not ctx.input_responses:
        return None
    response = ctx.input_responses.get(QUESTION_KEY)
    try:
        count = int(json.loads(ctx.request_state)["count"])
    except (ValueError, KeyError, TypeError):
        return None  # the SDK authenticates request_state; anything else is not our question's state
    if not isinstance(response, ElicitResult):
        return None
    content = response.content or {}
    return count, response.action == "accept" and content.get("confirm") is True


async def _asked_mid_call(ctx: Context[Any, Any], count: int) -> bool | None:
    """The server-initiated request (protocol up to 2025-11-25): the user's yes or no, None when asking failed."""
    try:
        answer = await ctx.elicit(question(count), ConfirmRemoval)
    except (MCPError, ValueError):  # no back-channel after all, the client failed, or its answer was malformed
        logger.info("elicitation failed; asking for confirm instead", exc_info=True)
        return None
    return answer.action == "accept" and answer.data.confirm
