"""Agent frameworks as their users wire them (issue 22): each converts every tool's schema (strict where it has a
strict mode) with nothing lost, and an add -> query_changes -> undo round trip goes through the framework's own
tool invocation, reading the handles where that framework shows them to the model. No LLM: the calls are scripted.

Needs the `.[clients]` extra (pinned versions, installed by scripts/test, the README's test command): without it
these tests fail, never skip. Each framework starts the server over stdio, as its documentation shows.
"""

from __future__ import annotations

import copy
import json
import re
import sys
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters
from mcp.types import Tool

from tests.clients.conversion import lost, lower_types
from tests.support import local_env

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

SCRIPT = Path(sys.executable).with_name("tools-server")
TOOLS = 13


@asynccontextmanager
async def listed(home: Path) -> AsyncGenerator[list[Tool]]:
    async with Client(StdioServerParameters(command=str(SCRIPT), args=[], env=local_env(home))) as client:
        yield (await client.list_tools()).tools


def _handle(pattern: str, text: str) -> str:
    found = re.search(pattern, text)
    assert found is not None, text
    return found.group(1)


# --- openai-agents ----------------------------------------------------------------------------------------------


async def test_openai_agents_converts_every_tool_strictly_and_round_trips(tmp_path: Path) -> None:
    import agents
    from agents.mcp import MCPServerStdio
    from agents.tool import FunctionTool
    from agents.tool_context import ToolContext

    async with listed(tmp_path) as originals:
        by_name = {t.name: t.input_schema for t in originals}
    params: Any = {"command": str(SCRIPT), "args": [], "env": local_env(tmp_path)}
    async with MCPServerStdio(params=params, name="todoist") as server:
        agent = agents.Agent(name="a", mcp_servers=[server], mcp_config={"convert_schemas_to_strict": True})
        tools = [
            t for t in await agent.get_mcp_tools(agents.RunContextWrapper(context=None)) if isinstance(t, FunctionTool)
        ]
        assert len(tools) == TOOLS
        for tool in tools:
            assert tool.strict_json_schema, f"{tool.name} fell back to non-strict"
            assert lost(by_name[tool.name], tool.params_json_schema) == [], tool.name
        by_tool = {t.name: t for t in tools}

        async def call(name: str, args: dict[str, Any]) -> str:
            # What a strict model sends: every property, null when unused (openai-agents passes it on as is).
            raw = json.dumps(args)
            ctx = ToolContext(context=None, tool_name=name, tool_call_id="call_1", tool_arguments=raw)
            return str(await by_tool[name].on_invoke_tool(ctx, raw))

        strict_nulls = {"new_projects": None, "dry_run": False}
        item = {k: None for k in by_tool["add_item"].params_json_schema["properties"]["items"]["items"]["properties"]}
        shown = await call("add_item", {"items": [{**item, "content": "From openai-agents"}], **strict_nulls})
        write = _handle(r"write='([^']+)'", shown)  # openai-agents shows the model the text block
        overview = await call("query_changes", {"cursor": None, "limit": 50})
        assert "From openai-agents" in overview
        cursor = _handle(r"cursor: (\S+)", overview)
        undone = await call("undo", {"write": write, "confirm": None, "dry_run": False})
        assert "error" not in undone.lower(), undone
        changes = await call("query_changes", {"cursor": cursor, "limit": 50})
        assert "From openai-agents" not in changes or "deleted" in changes.lower(), changes


# --- pydantic-ai ------------------------------------------------------------------------------------------------


async def test_pydantic_ai_converts_every_tool_for_openai_strict_and_google_and_round_trips(tmp_path: Path) -> None:
    from fastmcp.client import Client as FastMCPClient
    from fastmcp.client.transports import StdioTransport
    from pydantic_ai import Agent
    from pydantic_ai.mcp import MCPToolset
    from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart, ToolCallPart, ToolReturnPart
    from pydantic_ai.models.function import AgentInfo, FunctionModel
    from pydantic_ai.profiles.google import GoogleJsonSchemaTransformer
    from pydantic_ai.profiles.openai import OpenAIJsonSchemaTransformer

    async with listed(tmp_path) as originals:
        by_name = {t.name: t.input_schema for t in originals}
    seen: list[Any] = []
    script: list[tuple[str, dict[str, Any]]] = []

    def returned(messages: list[ModelMessage]) -> Any:
        contents: list[Any] = [
            p.content  # pyright: ignore[reportUnknownMemberType]
            for m in messages
            for p in getattr(m, "parts", [])
            if isinstance(p, ToolReturnPart)
        ]
        return contents[-1] if contents else None

    def model(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        if not script:  # the first turn: check the tool definitions the model would be given
            assert len(info.function_tools) == TOOLS
            for tool in info.function_tools:
                for transformer in (OpenAIJsonSchemaTransformer, GoogleJsonSchemaTransformer):
                    converted = transformer(copy.deepcopy(tool.parameters_json_schema), strict=True).walk()
                    assert "$ref" not in json.dumps(converted), (transformer.__name__, tool.name)
                    assert lost(by_name[tool.name], converted) == [], (transformer.__name__, tool.name)
            script.append(("add_item", {"items": [{"content": "From pydantic-ai"}]}))
        elif len(script) == 1:
            seen.append(returned(messages))  # pydantic-ai shows the model the structured result
            script.append(("query_changes", {}))
        elif len(script) == 2:
            seen.append(returned(messages))
            script.append(("undo", {"write": seen[0]["write"]}))
        else:
            seen.append(returned(messages))
            return ModelResponse(parts=[TextPart("done")])
        name, args = script[-1]
        return ModelResponse(parts=[ToolCallPart(name, args, tool_call_id=f"call_{len(script)}")])

    transport = StdioTransport(command=str(SCRIPT), args=[], env=local_env(tmp_path))
    agent = Agent(FunctionModel(model), toolsets=[MCPToolset(FastMCPClient(transport))])
    result = await agent.run("add a task, look, undo it")
    assert result.output == "done"
    added, overview, undone = seen
    assert added["ok"] == 1 and added["write"]
    assert any(t["content"] == "From pydantic-ai" for t in overview["tasks"])
    assert undone["ok"] == 1, undone


# --- google-genai -----------------------------------------------------------------------------------------------


# google-genai reads `tool.inputSchema`, which fastmcp (installed for pydantic-ai) marks deprecated on mcp 2.x.
@pytest.mark.filterwarnings("ignore:Accessing `Tool.inputSchema` is deprecated")
async def test_google_genai_keeps_every_field_and_nested_subtasks_and_round_trips(tmp_path: Path) -> None:
    from google.genai import types
    from google.genai._adapters import McpToGenAiToolAdapter
    from google.genai._mcp_utils import mcp_to_gemini_tool

    async with Client(StdioServerParameters(command=str(SCRIPT), args=[], env=local_env(tmp_path))) as client:
        listing = await client.list_tools()
        for tool in listing.tools:
            declaration = mcp_to_gemini_tool(tool).function_declarations
            assert declaration is not None and declaration[0].parameters is not None
            converted = lower_types(declaration[0].parameters.model_dump(exclude_none=True, mode="json"))
            assert lost(tool.input_schema, converted) == [], tool.name
            if tool.name == "add_item":
                # Nested subtasks keep their item schema (a $ref used to become a bare ARRAY), 4 levels deep.
                node: dict[str, Any] = converted["properties"]["items"]["items"]
                for _ in range(4):
                    node = node["properties"]["subtasks"]["items"]
                    assert {"content", "due", "reminders"} <= set(node["properties"]), node

        # The adapter google-genai's automatic function calling uses for an MCP session.
        adapter = McpToGenAiToolAdapter(client.session, listing)  # type: ignore[arg-type]

        async def call(name: str, args: dict[str, Any]) -> str:
            result = await adapter.call_tool(types.FunctionCall(name=name, args=args))
            assert not result.is_error, result
            return "".join(getattr(block, "text", "") for block in result.content)

        shown = await call("add_item", {"items": [{"content": "From google-genai", "subtasks": [{"content": "s"}]}]})
        write = _handle(r"write='([^']+)'", shown)
        assert "From google-genai" in await call("query_changes", {})
        assert "error" not in (await call("undo", {"write": write, "confirm": 2})).lower()
