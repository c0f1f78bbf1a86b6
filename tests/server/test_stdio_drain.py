"""The end of stdin waits for the answers to the requests already read (a client that writes a burst and closes its
end gets every answer), and not for a request the client cancelled. Over memory streams: no process, no timing."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from mcp.shared.message import SessionMessage
from mcp_types import JSONRPCNotification, JSONRPCRequest, JSONRPCResponse

from tools_server.server.stdio import _Answering, _Replies  # pyright: ignore[reportPrivateUsage]

pytestmark = pytest.mark.anyio


async def _read_all(reader: _Answering, seen: list[Any]) -> None:
    async for item in reader:
        seen.append(item)
    seen.append("end")


async def test_the_end_of_input_comes_after_the_answer_to_the_last_request() -> None:
    into_server, server_reads = anyio.create_memory_object_stream[SessionMessage | Exception](10)
    server_writes, out_of_server = anyio.create_memory_object_stream[SessionMessage](10)
    replies = _Replies(server_writes)
    seen: list[Any] = []
    async with server_reads, server_writes, out_of_server, anyio.create_task_group() as tg:
        tg.start_soon(_read_all, _Answering(server_reads, replies), seen)
        await into_server.send(SessionMessage(JSONRPCRequest(jsonrpc="2.0", id=4, method="ping")))
        await into_server.aclose()  # the client's last line, then the end of its input
        await anyio.wait_all_tasks_blocked()
        assert len(seen) == 1 and seen[-1] != "end"  # read, not yet answered: the end waits
        await replies.send(SessionMessage(JSONRPCResponse(jsonrpc="2.0", id=4, result={})))
        await anyio.wait_all_tasks_blocked()
        assert seen[-1] == "end"
        answer = (await out_of_server.receive()).message
        assert isinstance(answer, JSONRPCResponse) and answer.id == 4


async def test_a_cancelled_request_is_not_waited_for() -> None:
    into_server, server_reads = anyio.create_memory_object_stream[SessionMessage | Exception](10)
    server_writes, out_of_server = anyio.create_memory_object_stream[SessionMessage](10)
    replies = _Replies(server_writes)
    seen: list[Any] = []
    async with server_reads, server_writes, out_of_server, anyio.create_task_group() as tg:
        tg.start_soon(_read_all, _Answering(server_reads, replies), seen)
        await into_server.send(SessionMessage(JSONRPCRequest(jsonrpc="2.0", id="slow", method="tools/call")))
        cancel = JSONRPCNotification(jsonrpc="2.0", method="notifications/cancelled", params={"requestId": "slow"})
        await into_server.send(SessionMessage(cancel))
        await into_server.aclose()
        await anyio.wait_all_tasks_blocked()
        assert seen[-1] == "end" and replies.unanswered == set()
