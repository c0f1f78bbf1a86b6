"""Issue 22's "Must show" table: for each client/framework, how many tools convert strictly (or compile, or convert
at all where the framework has no strict mode), how many fields the conversion loses, and whether a scripted
add -> query_changes -> undo works through the framework's own invocation path from the handle it shows the model,
the store read at the end. No LLM. The same measures tests/clients/ asserts; this prints them instead of failing,
so it can be pointed at an older server.

Usage: .venv/bin/python scripts/clients_table.py [--server PATH_TO_tools-server]   (default: this venv's)
Needs the `.[clients]` extra and `npm ci` (the TypeScript SDK and the Inspector).
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import re
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, cast

import anyio
from mcp import Client, StdioServerParameters

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.clients: the conversion measures the tests use

from tests.clients.conversion import lost, lower_types  # noqa: E402
from tests.clients.store import live_contents  # noqa: E402
from tests.support import local_env  # noqa: E402

Schemas = dict[str, dict[str, Any]]
Call = Callable[[str, dict[str, Any]], Awaitable[str]]
ROUND_TRIP_TASK = "Round trip"


class Row:
    def __init__(self, framework: str, converted: str, lost_fields: list[str], round_trip: str) -> None:
        self.framework, self.converted, self.lost, self.round_trip = framework, converted, lost_fields, round_trip

    def cells(self) -> list[str]:
        shown = "; ".join(self.lost[:2]) + (f" (+{len(self.lost) - 2})" if len(self.lost) > 2 else "")
        return [
            self.framework,
            self.converted,
            f"{len(self.lost)}" + (f": {shown}" if self.lost else ""),
            self.round_trip,
        ]


async def round_trip(home: Path, call: Call, handle: Callable[[Any], str | None] | None = None) -> str:
    """add -> query_changes -> undo with the write handle read from what the framework showed the model (its text
    unless ``handle`` reads it elsewhere); "yes" only when the store holds the task after the add and not after."""
    try:
        shown = await call("add_item", {"items": [{"content": ROUND_TRIP_TASK}]})
        write = handle(shown) if handle is not None else _text_handle(shown)
        if write is None:
            return f"no: no undo handle in what the model reads ({str(shown)[:80]})"
        if await live_contents(home) != [ROUND_TRIP_TASK]:
            return "no: the add did not reach the store"
        if ROUND_TRIP_TASK not in str(await call("query_changes", {})):
            return "no: query_changes does not show the task"
        undone = str(await call("undo", {"write": write}))
        if await live_contents(home) != []:
            return f"no: undo failed ({undone[:80]})"
        return "yes"
    except Exception as exc:  # a framework refusing a call is a result of the table, not a crash of the script
        return f"no: {type(exc).__name__}: {str(exc)[:100]}"


def _structured_handle(shown: Any) -> str | None:
    write = cast(dict[str, Any], shown).get("write") if isinstance(shown, dict) else None
    return str(write) if write else None


def _text_handle(shown: Any) -> str | None:
    found = re.search(r"write='([^']+)'", str(shown))
    return found.group(1) if found else None


def _params(server: str, home: Path) -> StdioServerParameters:
    return StdioServerParameters(command=server, args=[], env=local_env(home))


def _lost_all(originals: Schemas, converted: dict[str, dict[str, Any]]) -> list[str]:
    """Each lost field once per tool: a field of the subtask tree counts once whatever the depth (the recursive
    $ref of older schemas has no depth, the unrolled tree has 4)."""
    found = (
        f"{name}: {_SUBTASKS.sub('subtasks[].', field)}"
        for name, schema in converted.items()
        for field in lost(originals[name], schema)
    )
    return list(dict.fromkeys(found))


_SUBTASKS = re.compile(r"(?:subtasks\[\]\.)+")


def _unused(declared: dict[str, Any]) -> Any:
    """What a strict model sends for a property it does not use: its default, false for a flag, else null."""
    return declared["default"] if "default" in declared else (False if declared.get("type") == "boolean" else None)


async def openai_agents(server: str, originals: Schemas, home: Path) -> Row:
    import agents
    from agents.mcp import MCPServerStdio
    from agents.tool import FunctionTool
    from agents.tool_context import ToolContext

    params: Any = {"command": server, "args": [], "env": local_env(home)}
    async with MCPServerStdio(params=params, name="todoist") as mcp_server:
        agent = agents.Agent(name="a", mcp_servers=[mcp_server], mcp_config={"convert_schemas_to_strict": True})
        listed = await agent.get_mcp_tools(agents.RunContextWrapper(context=None))
        tools = {t.name: t for t in listed if isinstance(t, FunctionTool)}
        strict = sum(t.strict_json_schema for t in tools.values())
        lost_fields = _lost_all(originals, {n: t.params_json_schema for n, t in tools.items()})

        async def call(name: str, args: dict[str, Any]) -> str:
            # A strict model sends every property: for the ones it does not use, the default or null.
            properties: dict[str, Any] = tools[name].params_json_schema.get("properties", {})
            declared: dict[str, Any] = originals[name].get("properties", {})
            strict_tool = tools[name].strict_json_schema  # a tool that fell back to non-strict gets what is used
            full = ({k: _unused(declared.get(k, {})) for k in properties} if strict_tool else {}) | args
            if name == "add_item" and strict_tool:
                item_properties = properties["items"]["items"].get("properties", {})
                item_declared = declared["items"]["items"].get("properties", {})
                unused = {k: _unused(item_declared.get(k, {})) for k in item_properties}
                full["items"] = [unused | i for i in args["items"]]
            raw = json.dumps(full)
            ctx = ToolContext(context=None, tool_name=name, tool_call_id="c", tool_arguments=raw)
            return str(await tools[name].on_invoke_tool(ctx, raw))

        trip = await round_trip(home, call)
    return Row("openai-agents (strict)", f"{strict}/{len(tools)} strict", lost_fields, trip)


async def pydantic_ai(server: str, originals: Schemas, home: Path) -> list[Row]:
    from fastmcp.client import Client as FastMCPClient
    from fastmcp.client.transports import StdioTransport
    from pydantic_ai.mcp import MCPToolset
    from pydantic_ai.profiles.google import GoogleJsonSchemaTransformer
    from pydantic_ai.profiles.openai import OpenAIJsonSchemaTransformer

    rows: list[Row] = []
    openai: dict[str, dict[str, Any]] = {}
    strict = 0
    google: dict[str, dict[str, Any]] = {}
    for name, schema in originals.items():
        transformer = OpenAIJsonSchemaTransformer(copy.deepcopy(schema), strict=True)
        openai[name] = transformer.walk()
        strict += bool(transformer.is_strict_compatible) and "$ref" not in json.dumps(openai[name])
        google[name] = GoogleJsonSchemaTransformer(copy.deepcopy(schema), strict=True).walk()
    toolset = MCPToolset(FastMCPClient(StdioTransport(command=server, args=[], env=local_env(home))))
    async with toolset.client:

        async def call(name: str, args: dict[str, Any]) -> Any:
            result = await toolset.client.call_tool(name, args, raise_on_error=False)
            # pydantic-ai hands the model the structured result when there is one, else the text.
            return result.structured_content if result.structured_content is not None else result.content

        trip = await round_trip(home, call, _structured_handle)
    rows.append(
        Row(
            "pydantic-ai, OpenAI transformer (strict)",
            f"{strict}/{len(openai)} strict",
            _lost_all(originals, openai),
            trip,
        )
    )
    no_ref = sum("$ref" not in json.dumps(s) for s in google.values())
    rows.append(
        Row(
            "pydantic-ai, Google transformer",
            f"{no_ref}/{len(google)} without $ref",
            _lost_all(originals, google),
            trip,
        )
    )
    return rows


async def google_genai(server: str, originals: Schemas, home: Path) -> Row:
    from google.genai import types
    from google.genai._adapters import McpToGenAiToolAdapter
    from google.genai._mcp_utils import mcp_to_gemini_tool

    async with Client(_params(server, home)) as client:
        listing = await client.list_tools()
        converted: dict[str, dict[str, Any]] = {}
        for tool in listing.tools:
            declarations = mcp_to_gemini_tool(tool).function_declarations or []
            parameters = declarations[0].parameters if declarations else None
            if parameters is not None:
                converted[tool.name] = lower_types(parameters.model_dump(exclude_none=True, mode="json"))
        adapter = McpToGenAiToolAdapter(client.session, listing)  # type: ignore[arg-type]

        async def call(name: str, args: dict[str, Any]) -> str:
            result = await adapter.call_tool(types.FunctionCall(name=name, args=args))
            return "".join(getattr(block, "text", "") for block in result.content)

        trip = await round_trip(home, call)
    return Row(
        "google-genai (mcp_to_gemini_tool)",
        f"{len(converted)}/{len(originals)} converted",
        _lost_all(originals, converted),
        trip,
    )


async def google_adk(server: str, originals: Schemas, home: Path) -> Row:
    from google.adk.features import FeatureName, override_feature_enabled
    from google.adk.tools.mcp_tool import McpToolset, StdioConnectionParams
    from google.adk.tools.mcp_tool.mcp_tool import McpTool

    toolset = McpToolset(connection_params=StdioConnectionParams(server_params=_params(server, home), timeout=30))
    try:
        tools = {t.name: t for t in await toolset.get_tools() if isinstance(t, McpTool)}
        # ADK's own converter to Gemini's Schema subset (its JSON-Schema pass-through feature off).
        override_feature_enabled(FeatureName.JSON_SCHEMA_FOR_FUNC_DECL, False)
        converted: dict[str, dict[str, Any]] = {}
        try:
            for name, tool in tools.items():
                declaration = tool._get_declaration()  # pyright: ignore[reportPrivateUsage]
                if declaration.parameters is not None:
                    converted[name] = lower_types(declaration.parameters.model_dump(exclude_none=True, mode="json"))
        finally:
            override_feature_enabled(FeatureName.JSON_SCHEMA_FOR_FUNC_DECL, True)
        session = await toolset._mcp_session_manager.create_session()  # pyright: ignore[reportPrivateUsage]

        async def call(name: str, args: dict[str, Any]) -> str:
            # McpTool's own call (the runner's path, minus the model): the session ADK pools for the toolset.
            result = await session.call_tool(name, arguments=args)
            return "".join(getattr(block, "text", "") for block in result.content)

        trip = await round_trip(home, call)
    finally:
        await toolset.close()
    return Row(
        "Google ADK (_to_gemini_schema)",
        f"{len(converted)}/{len(originals)} converted",
        _lost_all(originals, converted),
        trip,
    )


async def langchain(server: str, originals: Schemas, home: Path) -> Row:
    from fastmcp.client.transports import StdioTransport
    from langchain.mcp import MCPAdapter
    from langchain_openai import ChatOpenAI

    async with MCPAdapter(StdioTransport(command=server, args=[], env=local_env(home))) as adapter:
        tools = await adapter.list_tools()
        bound: Any = ChatOpenAI(model="gpt-5", api_key=lambda: "unused").bind_tools(tools, strict=True)  # pyright: ignore[reportUnknownMemberType]
        functions = {t["function"]["name"]: t["function"] for t in bound.kwargs["tools"]}
        strict = sum(bool(f.get("strict")) and "$ref" not in json.dumps(f["parameters"]) for f in functions.values())
        by_name = {t.name: t for t in tools}

        async def call(name: str, args: dict[str, Any]) -> str:
            message = await by_name[name].ainvoke({"type": "tool_call", "name": name, "args": args, "id": "c"})
            return str(message.content)

        trip = await round_trip(home, call)
    lost_fields = _lost_all(originals, {n: f["parameters"] for n, f in functions.items()})
    return Row(
        "LangChain langchain.mcp + langchain-openai (strict)",
        f"{strict}/{len(functions)} strict, no $ref",
        lost_fields,
        trip,
    )


async def typescript(server: str, originals: Schemas, home: Path, flavour: str, extra: dict[str, Any]) -> Row:
    # Blocking pipes in an async function: the script runs one framework at a time, nothing else waits on the loop.
    node = subprocess.Popen(  # noqa: ASYNC220
        ["node", str(ROOT / "tests" / "clients" / "typescript_client.mjs"), flavour, server],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=ROOT,
        env=local_env(home),
    )
    assert node.stdin is not None and node.stdout is not None
    stdin, stdout = node.stdin, node.stdout

    def ask(request: dict[str, Any]) -> dict[str, Any]:
        stdin.write(json.dumps(request) + "\n")
        stdin.flush()
        answer: dict[str, Any] = json.loads(stdout.readline())
        return answer

    try:
        listed = ask({"list": True})
        compiled = sum(listed["compiled"][n] == "ok" and listed["strict"][n] == "ok" for n in listed["compiled"])

        async def call(name: str, args: dict[str, Any]) -> str:
            result = ask({"call": name, "args": args | extra})
            if "thrown" in result or result.get("isError"):
                raise RuntimeError(str(result.get("thrown") or result["content"][0]["text"]))
            return "".join(str(b.get("text", "")) for b in result["content"])

        trip = await round_trip(home, call)
    finally:
        node.communicate(timeout=30)
    name = f"TypeScript SDK {flavour}" + (" with n8n's toolCallId" if extra else "")
    return Row(name, f"{compiled}/{len(listed['compiled'])} compile (Ajv, strict Ajv)", [], trip)


def inspector(server: str, originals: Schemas, home: Path) -> Row:
    env = local_env(home)
    command = [str(ROOT / "node_modules" / ".bin" / "mcp-inspector"), "--cli", "-q", "--format", "json"]
    for key, value in env.items():
        if key.startswith("TOOLS_SERVER"):
            command += ["-e", f"{key}={value}"]

    def run(*args: str) -> dict[str, Any]:
        done = subprocess.run([*command, server, *args], capture_output=True, text=True, timeout=120, env=env)
        return json.loads(done.stdout) if done.returncode == 0 else {"error": done.stderr[-200:]}

    listed = run("--method", "tools/list", "--strict")
    findings = [(t["toolName"], f) for t in listed.get("schemaFindings", []) for f in t["findings"]]
    # Its one note on nullable fields written `type: [X, "null"]` is counted apart (tests/server/test_stdio.py).
    unions = sum(f["rule"] == "type-union" and f["severity"] == "warning" for _, f in findings)
    others = [
        f"{name}: {f['severity']} {f['rule']} at {f.get('path')}" for name, f in findings if f["rule"] != "type-union"
    ]
    added = run(
        "--method",
        "tools/call",
        "--tool-name",
        "add_item",
        "--tool-args-json",
        json.dumps({"items": [{"content": ROUND_TRIP_TASK}]}),
    )
    ok = added.get("result", {}).get("isError") is False
    # Each Inspector CLI run is its own process, so its own stdio server: undo across them is out of reach.
    trip = "add + query: " + ("yes" if ok else "no") + "; undo: n/a (a process per call)"
    converted = (
        f"{len(others)} findings besides {unions} type-union notes" if "result" in listed else "tools/list failed"
    )
    return Row("MCP Inspector CLI --strict", converted, others, trip)


async def table(server: str) -> list[Row]:
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="clients-table-") as top:
        homes = (Path(top) / str(n) for n in range(100))

        def home() -> Path:
            path = next(homes)  # a fresh store and HOME for each framework
            path.mkdir()
            return path

        async with Client(_params(server, home())) as client:
            originals: Schemas = {t.name: t.input_schema for t in (await client.list_tools()).tools}
        rows.append(await openai_agents(server, originals, home()))
        rows.extend(await pydantic_ai(server, originals, home()))
        rows.append(await google_genai(server, originals, home()))
        rows.append(await google_adk(server, originals, home()))
        rows.append(await langchain(server, originals, home()))
        for flavour in ("v1", "v2"):
            rows.append(await typescript(server, originals, home(), flavour, {}))
        rows.append(await typescript(server, originals, home(), "v1", {"toolCallId": "call_1"}))
        rows.append(inspector(server, originals, home()))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description="Print issue 22's clients table for a tools-server.")
    parser.add_argument("--server", default=str(Path(sys.executable).with_name("tools-server")))
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # the frameworks' deprecation and beta notices are not the table
    logging.disable(logging.WARNING)
    rows = anyio.run(table, args.server)
    print("| client / framework | tools converted strictly | fields lost | add -> query_changes -> undo |")
    print("|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(cell.replace("|", "/") for cell in row.cells()) + " |")


if __name__ == "__main__":
    main()
