"""Google's Agent Development Kit (google-adk) as its users wire it (issue 22): `McpToolset` over stdio, the function
declarations ADK builds for Gemini keep every field (nested subtasks keep their item schema), and an
add -> query_changes -> undo round trip goes through ADK's own runner, with a scripted model in place of Gemini.

Needs the `.[clients]` extra (pinned, installed by scripts/test): without it this fails, never skips.
"""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any

import pytest

from tests.clients.conversion import lost, lower_types
from tests.clients.store import live_contents
from tests.clients.test_frameworks import SCRIPT, TOOLS, listed
from tests.support import local_env

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


def _subtasks_keep_their_items(parameters: dict[str, Any]) -> None:
    # A $ref used to become a bare ARRAY or an untyped object ("Circular ref"); the tree is 4 levels below a task.
    node: dict[str, Any] = parameters["properties"]["items"]["items"]
    for _ in range(4):
        node = node["properties"]["subtasks"]["items"]
        assert {"content", "due", "reminders"} <= set(node["properties"]), node


# ADK reads `tool.inputSchema` first, which fastmcp (installed for pydantic-ai and LangChain) marks deprecated on
# mcp 2.x once it is imported in the same process.
@pytest.mark.filterwarnings("ignore:Accessing `Tool.inputSchema` is deprecated")
@pytest.mark.filterwarnings("ignore:Accessing `Tool.outputSchema` is deprecated")
async def test_google_adk_declarations_keep_every_field_and_a_runner_round_trips(tmp_path: Path) -> None:
    from google.adk.agents import LlmAgent
    from google.adk.features import FeatureName, override_feature_enabled
    from google.adk.models.base_llm import BaseLlm
    from google.adk.models.llm_request import LlmRequest
    from google.adk.models.llm_response import LlmResponse
    from google.adk.runners import InMemoryRunner
    from google.adk.tools.mcp_tool import McpToolset, StdioConnectionParams
    from google.adk.tools.mcp_tool.mcp_tool import McpTool
    from google.genai import types
    from mcp import StdioServerParameters

    async with listed(tmp_path) as originals:
        by_name = {t.name: t.input_schema for t in originals}
    server = StdioServerParameters(command=str(SCRIPT), args=[], env=local_env(tmp_path))
    toolset = McpToolset(connection_params=StdioConnectionParams(server_params=server, timeout=30))
    try:
        tools = [t for t in await toolset.get_tools() if isinstance(t, McpTool)]
        assert len(tools) == TOOLS
        # ADK's default (its JSON_SCHEMA_FOR_FUNC_DECL feature, on): the input schema goes to Gemini as JSON Schema.
        for tool in tools:
            declared = tool._get_declaration().parameters_json_schema  # pyright: ignore[reportPrivateUsage]
            assert isinstance(declared, dict), tool.name
            assert lost(by_name[tool.name], declared) == [], tool.name  # pyright: ignore[reportUnknownArgumentType]
        # The feature off: ADK's own converter to Gemini's Schema subset (what older ADK always did).
        override_feature_enabled(FeatureName.JSON_SCHEMA_FOR_FUNC_DECL, False)
        try:
            for tool in tools:
                schema = tool._get_declaration().parameters  # pyright: ignore[reportPrivateUsage]
                assert schema is not None, tool.name
                converted = lower_types(schema.model_dump(exclude_none=True, mode="json"))
                assert lost(by_name[tool.name], converted) == [], tool.name
                if tool.name == "add_item":
                    _subtasks_keep_their_items(converted)
        finally:
            override_feature_enabled(FeatureName.JSON_SCHEMA_FOR_FUNC_DECL, True)

        seen: list[dict[str, Any]] = []
        offered: list[str] = []
        stored: list[str] = []

        class Scripted(BaseLlm):
            """Gemini's place in ADK's loop: reads the last tool response, asks for the next call."""

            async def generate_content_async(
                self, llm_request: LlmRequest, stream: bool = False
            ) -> AsyncGenerator[LlmResponse]:
                if not offered:
                    offered.extend(llm_request.tools_dict)
                    add = llm_request.tools_dict["add_item"]._get_declaration()  # pyright: ignore[reportPrivateUsage]
                    assert add is not None and add.parameters_json_schema == by_name["add_item"]
                responses = [
                    p.function_response.response or {}
                    for c in llm_request.contents
                    for p in c.parts or []
                    if p.function_response is not None
                ]
                seen[:] = responses
                if not responses:
                    call = types.FunctionCall(name="add_item", args={"items": [{"content": "From ADK"}]})
                elif len(responses) == 1:
                    stored.extend(await live_contents(tmp_path))  # the add reached the store
                    call = types.FunctionCall(name="query_changes", args={})
                elif len(responses) == 2:
                    # The model acts on what ADK shows it: the tool's result, text block included.
                    found = re.search(r"write='([^']+)'", _text(responses[0]))
                    assert found is not None, responses[0]
                    call = types.FunctionCall(name="undo", args={"write": found.group(1)})
                else:
                    yield LlmResponse(content=types.Content(role="model", parts=[types.Part(text="done")]))
                    return
                yield LlmResponse(content=types.Content(role="model", parts=[types.Part(function_call=call)]))

        agent = LlmAgent(name="todoist", model=Scripted(model="scripted"), tools=[toolset])
        runner = InMemoryRunner(agent=agent, app_name="clients")
        session = await runner.session_service.create_session(app_name="clients", user_id="u")
        message = types.Content(role="user", parts=[types.Part(text="add a task, look, undo it")])
        async for _ in runner.run_async(user_id="u", session_id=session.id, new_message=message):
            pass
    finally:
        await toolset.close()
    assert sorted(offered) == sorted(by_name)
    added, overview, undone = seen
    assert stored == ["From ADK"]
    assert "From ADK" in _text(added) and "From ADK" in _text(overview), overview
    assert undone["structuredContent"]["ok"] == 1 and "Undid the add" in _text(undone), undone
    assert await live_contents(tmp_path) == []


def _text(response: dict[str, Any]) -> str:
    """The text blocks of a tool result as ADK hands it to the model (the MCP result, dumped)."""
    return "".join(str(block.get("text", "")) for block in response.get("content", []))
