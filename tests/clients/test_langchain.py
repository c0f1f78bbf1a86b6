"""LangChain as its users wire it (issue 22): `langchain.mcp.MCPAdapter`, LangChain's own MCP support (the separate
langchain-mcp-adapters package does not run on mcp 2: 0.3.2 requires mcp < 2, 0.3.0 and 0.3.1 import the removed
`mcp.server.fastmcp`). Every tool bound strictly for OpenAI through langchain-openai with nothing lost, and
add -> query_changes -> undo through the tools LangChain's agents call: in one stdio session, and with a session per
call over HTTP (as langchain-mcp-adapters' `MultiServerMCPClient` opens them), where undo works from the handle the
text shows the model.

Needs the `.[clients]` extra (pinned, installed by scripts/test): without it this fails, never skips.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from langchain_core.messages import ToolMessage

from tests.clients.conversion import lost
from tests.clients.store import live_contents
from tests.clients.test_frameworks import SCRIPT, TOOLS, listed
from tests.support import http_server, local_env

if TYPE_CHECKING:
    from langchain_core.tools import BaseTool

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.slow,
    # Importing langchain.mcp warns once that the namespace is in beta.
    pytest.mark.filterwarnings("ignore:`langchain.mcp` is in beta"),
]


async def test_langchain_binds_every_tool_strictly_for_openai(tmp_path: Path) -> None:
    from fastmcp.client.transports import StdioTransport
    from langchain.mcp import MCPAdapter
    from langchain_openai import ChatOpenAI

    async with listed(tmp_path) as originals:
        by_name = {t.name: t.input_schema for t in originals}
    async with MCPAdapter(StdioTransport(command=str(SCRIPT), args=[], env=local_env(tmp_path))) as adapter:
        tools = await adapter.list_tools()
    assert len(tools) == TOOLS
    # What ChatOpenAI sends OpenAI: each tool as a strict function (langchain-core's convert_to_openai_tool).
    model = ChatOpenAI(model="gpt-5", api_key=lambda: "unused")  # no request is made
    bound: Any = model.bind_tools(tools, strict=True)  # pyright: ignore[reportUnknownMemberType]
    functions = {t["function"]["name"]: t["function"] for t in bound.kwargs["tools"]}
    assert sorted(functions) == sorted(by_name)
    for name, function in functions.items():
        assert function["strict"] is True, name
        assert "$ref" not in str(function["parameters"]), name
        assert lost(by_name[name], function["parameters"]) == [], name


async def _round_trip(tools: list[BaseTool], home: Path, *, session_per_call: bool = False) -> None:
    by_tool = {t.name: t for t in tools}

    async def call(name: str, args: dict[str, Any], status: str = "success") -> str:
        # What LangChain's agent loop does with a model's tool call; the message's content is what the model reads.
        message = await by_tool[name].ainvoke({"type": "tool_call", "name": name, "args": args, "id": f"call_{name}"})
        assert isinstance(message, ToolMessage) and message.status == status, message
        blocks: list[Any] = list(message.content)
        return "".join(str(b.get("text", "")) for b in blocks if isinstance(b, dict))  # pyright: ignore[reportUnknownMemberType, reportUnknownArgumentType]

    shown = await call("add_item", {"items": [{"content": "From LangChain"}]})
    write = re.search(r"write='([^']+)'", shown)
    assert write is not None, shown
    assert await live_contents(home) == ["From LangChain"]
    assert "From LangChain" in await call("query_changes", {})
    if session_per_call:  # no session links the calls: "undo the last write" has nothing to go by
        assert "pass write=<the 'write' id" in await call("undo", {}, status="error")
    undone = await call("undo", {"write": write.group(1)})
    assert "Undid the add" in undone, undone
    assert await live_contents(home) == []


async def test_langchain_round_trip_in_one_stdio_session(tmp_path: Path) -> None:
    from fastmcp.client.transports import StdioTransport
    from langchain.mcp import MCPAdapter

    # As LangChain's documentation shows: the agent runs inside the adapter's context, one session throughout.
    async with MCPAdapter(StdioTransport(command=str(SCRIPT), args=[], env=local_env(tmp_path))) as adapter:
        await _round_trip(await adapter.list_tools(), tmp_path)


async def test_langchain_session_per_call_over_http_undoes_from_the_handle_the_text_shows(tmp_path: Path) -> None:
    from langchain.mcp import MCPAdapter

    with http_server(tmp_path) as (port, _):
        async with MCPAdapter(f"http://127.0.0.1:{port}/mcp") as adapter:
            tools = await adapter.list_tools()
        # The adapter's context is closed: each call below connects on its own, as MultiServerMCPClient does (and
        # fastmcp negotiates the sessionless 2026-07-28 revision over HTTP), so "undo" has no last write to fall
        # back on; the handle read from the add's text names it.
        await _round_trip(tools, tmp_path, session_per_call=True)
