"""MCP over stdio, where every request with an id gets an answer.

The SDK's stdio reader parses each line with pydantic's JSON parser; a line it cannot parse (nested deeper than the
parser's recursion limit, a lone surrogate escape such as ``"\\ud800"``) reaches the server as a bare exception, which
it drops: the client waits for a reply that never comes. Over HTTP the same request gets a JSON-RPC error. Here such
a line is answered the same way: if it is a request with a usable id, it gets a Parse error (-32700) or Invalid Request
(-32600) naming the parser's reason; lines without an id (notifications, noise) are still dropped.

And a client that writes its requests and closes stdin (a pipeline, a script) gets every answer: at the end of input
the server keeps reading nothing until the requests it read have been answered (bounded by ``DRAIN_SECONDS``), where
the SDK's loop ended at once and cancelled what was still running (the last request of a burst went unanswered).
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any, Self, cast

import anyio
from anyio.abc import AsyncResource
from mcp.server import MCPServer
from mcp.server.stdio import stdio_server
from mcp.shared.message import SessionMessage
from mcp_types import (
    INVALID_REQUEST,
    PARSE_ERROR,
    ErrorData,
    JSONRPCError,
    JSONRPCNotification,
    JSONRPCRequest,
    JSONRPCResponse,
)
from pydantic import ValidationError

from tools_server.text import clip

_REASON_CHARS = 200
# How long the end of input waits for requests still being answered: a write may take the call budget, but a client
# that closed stdin is gone or done; this keeps a stuck request from holding the process.
DRAIN_SECONDS = 30.0


def request_id(line: str) -> str | int | None:
    """The top-level ``id`` of a JSON-RPC request in ``line`` when it has a ``method`` too, read without parsing the
    whole line (which is what failed): one pass that tracks strings and depth and decodes only depth-1 values."""
    decoder = json.JSONDecoder()
    depth, index, found, method = 0, 0, None, False
    expecting_key = False
    while index < len(line):
        char = line[index]
        if char == '"':
            try:
                text, end = decoder.raw_decode(line, index)
            except ValueError:
                return None
            rest = line[end:].lstrip()
            if depth == 1 and expecting_key and rest.startswith(":"):
                value_at = len(line) - len(rest) + 1
                while value_at < len(line) and line[value_at] in " \t\r\n":
                    value_at += 1
                if text == "method":
                    method = True
                elif text == "id":
                    try:
                        value, _ = decoder.raw_decode(line, value_at)
                    except ValueError:
                        return None
                    if isinstance(value, bool) or not isinstance(value, str | int):
                        return None
                    found = value
                expecting_key = False
                index = value_at
                continue
            expecting_key = False
            index = end
            continue
        if char in "{[":
            depth += 1
            expecting_key = char == "{" and depth == 1
        elif char in "}]":
            depth -= 1
        elif char == "," and depth == 1:
            expecting_key = True
        index += 1
    return found if method else None


def _answer_for(exc: Exception) -> JSONRPCError | None:
    """The error reply to a line the SDK could not read, when that line was a request with an id."""
    if not isinstance(exc, ValidationError) or not exc.errors():
        return None
    first = exc.errors()[0]
    raw: Any = first.get("input")
    if isinstance(raw, str):
        ident = request_id(raw)
        code = PARSE_ERROR if first["type"] == "json_invalid" else INVALID_REQUEST
    elif isinstance(raw, dict) and "method" in raw:
        value: Any = cast(dict[str, Any], raw).get("id")
        ident = value if isinstance(value, str | int) and not isinstance(value, bool) else None
        code = INVALID_REQUEST
    else:
        return None
    if ident is None:
        return None
    kind = "Parse error" if code == PARSE_ERROR else "Invalid request"
    reason = clip(str(first["msg"]), _REASON_CHARS)
    return JSONRPCError(jsonrpc="2.0", id=ident, error=ErrorData(code=code, message=f"{kind}: {reason}"))


class _Replies(AsyncResource):
    """The server's write stream, noting which requests have had their answer."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.unanswered: set[str | int] = set()
        self._drained: anyio.Event | None = None  # set once the end of input waits for the last answers

    def asked(self, ident: str | int) -> None:
        self.unanswered.add(ident)

    def withdrawn(self, ident: object) -> None:
        """A request the client cancelled: it gets no answer (MCP's cancellation), so none is waited for."""
        if isinstance(ident, str | int):
            self._answered(ident)

    def _answered(self, ident: str | int) -> None:
        self.unanswered.discard(ident)
        if not self.unanswered and self._drained is not None:
            self._drained.set()

    async def send(self, item: SessionMessage, /) -> None:
        await self._inner.send(item)
        message = item.message
        if isinstance(message, JSONRPCResponse | JSONRPCError) and message.id is not None:
            self._answered(message.id)

    async def drained(self) -> None:
        """Until every request read so far is answered, at most DRAIN_SECONDS (nothing is read after it)."""
        if not self.unanswered:
            return
        self._drained = anyio.Event()
        with anyio.move_on_after(DRAIN_SECONDS):
            await self._drained.wait()

    async def aclose(self) -> None:
        await self._inner.aclose()


class _Answering(AsyncResource):
    """The SDK's read stream, minus the lines it could not parse: those that were requests are answered here."""

    def __init__(self, inner: Any, write: _Replies) -> None:
        self._inner = inner
        self._write = write

    @property
    def last_context(self) -> Any:  # the dispatcher runs each message in its sender's context
        return getattr(self._inner, "last_context", None)

    async def receive(self) -> SessionMessage | Exception:
        while True:
            try:
                item: SessionMessage | Exception = await self._inner.receive()
            except anyio.EndOfStream:
                await self._write.drained()
                raise
            if not isinstance(item, Exception):
                message = item.message
                if isinstance(message, JSONRPCRequest):
                    self._write.asked(message.id)
                elif isinstance(message, JSONRPCNotification) and message.method == "notifications/cancelled":
                    self._write.withdrawn((message.params or {}).get("requestId"))
                return item
            answer = _answer_for(item)
            if answer is None:
                return item  # the SDK logs and drops it, as before
            await self._write.send(SessionMessage(answer))

    async def aclose(self) -> None:
        await self._inner.aclose()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> SessionMessage | Exception:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None


async def run_stdio(server: MCPServer) -> None:
    """``server.run_stdio_async()``, with unreadable requests answered."""
    lowlevel = server._lowlevel_server  # pyright: ignore[reportPrivateUsage]  # run_stdio_async's own path
    try:
        async with stdio_server() as (read_stream, write_stream):
            replies = _Replies(write_stream)
            await lowlevel.run(_Answering(read_stream, replies), replies, lowlevel.create_initialization_options())
    except* BrokenPipeError:
        # The client closed its end while an answer was on its way (a host quitting mid-call): nobody is left to
        # answer, which is an end, not a failure. Writes already made to the stores stand (each is committed before
        # it is answered). stdout goes to /dev/null so that Python's exit does not fail flushing it again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
