"""The TypeScript MCP SDK as a client (issue 22): v1 (`@modelcontextprotocol/sdk`, what most deployed clients,
n8n's MCP Client Tool among them, are built on) and v2 (`@modelcontextprotocol/client`), from npm (package.json,
pinned; scripts/test runs `npm ci`). tests/clients/typescript_client.mjs connects over stdio to the console script;
this test drives it a request per line and reads the store between steps.

What it shows: every tool's input schema compiles with the SDK's Ajv validator and with Ajv in strict mode, every
result's structured content passes the SDK's own check against the tool's output schema (the SDK throws otherwise),
an n8n-style call carrying `toolCallId` succeeds while a misspelt argument still fails, and add -> query_changes ->
undo round trips from the handle the text shows.
"""

from __future__ import annotations

import json
import re
import select
import shutil
import subprocess
from collections.abc import Callable, Generator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.clients.store import live_contents
from tests.clients.test_frameworks import SCRIPT, TOOLS
from tests.support import local_env, stopped

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
CLIENT = Path(__file__).with_name("typescript_client.mjs")


@contextmanager
def typescript_client(flavour: str, home: Path) -> Generator[Callable[[dict[str, Any]], dict[str, Any]]]:
    node = shutil.which("node")
    assert node, "Node.js is needed for the TypeScript SDK"
    sdk = REPO / "node_modules" / "@modelcontextprotocol" / ("sdk" if flavour == "v1" else "client")
    assert sdk.exists(), f"{sdk} missing: run scripts/test (npm ci installs it)"
    process = subprocess.Popen(
        [node, str(CLIENT), flavour, str(SCRIPT)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=local_env(home),
    )

    def ask(request: dict[str, Any]) -> dict[str, Any]:
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write(json.dumps(request) + "\n")
        process.stdin.flush()
        readable, _, _ = select.select([process.stdout], [], [], 60)
        assert readable, f"the TypeScript client did not answer {request} within 60 s"
        line = process.stdout.readline()
        assert line, f"the TypeScript client exited: {process.stderr.read() if process.stderr else ''}"
        answer: dict[str, Any] = json.loads(line)
        return answer

    try:
        yield ask
    finally:
        try:  # communicate closes stdin: the script then closes its client, which stops the server
            _, rest = process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            _, rest = stopped(process)
        if rest:
            print(rest)  # shown by pytest when a test fails


def _text(result: dict[str, Any]) -> str:
    assert "thrown" not in result, result  # e.g. structured content the SDK found not to match the output schema
    return "".join(str(block.get("text", "")) for block in result["content"])


@pytest.mark.parametrize("flavour", ["v1", "v2"])
async def test_typescript_sdk_compiles_every_schema_and_round_trips(flavour: str, tmp_path: Path) -> None:
    with typescript_client(flavour, tmp_path) as ask:
        listed = ask({"list": True})
        assert len(listed["tools"]) == TOOLS
        assert all("outputSchema" in tool for tool in listed["tools"])  # each checked by the SDK on every call
        assert listed["compiled"] == dict.fromkeys(listed["compiled"], "ok"), listed["compiled"]
        assert listed["strict"] == dict.fromkeys(listed["strict"], "ok"), listed["strict"]
        assert "$ref" not in json.dumps(listed["tools"])

        # n8n's MCP Client Tool (built on this SDK) adds its call id to the arguments.
        added = ask({"call": "add_item", "args": {"items": [{"content": "From TypeScript"}], "toolCallId": "call_1"}})
        assert added["isError"] is False, added
        write = re.search(r"write='([^']+)'", _text(added))
        assert write is not None, added
        assert await live_contents(tmp_path) == ["From TypeScript"]
        typo = ask({"call": "add_item", "args": {"items": [{"content": "preview"}], "dryRun": True}})
        assert typo["isError"] is True and "dryRun: unknown argument" in _text(typo), typo

        overview = ask({"call": "query_changes", "args": {"toolCallId": "call_2"}})
        assert "From TypeScript" in _text(overview)
        assert [t["content"] for t in overview["structuredContent"]["tasks"]] == ["From TypeScript"]

        undone = ask({"call": "undo", "args": {"write": write.group(1), "toolCallId": "call_3"}})
        assert undone["isError"] is False and "Undid the add" in _text(undone), undone
    assert await live_contents(tmp_path) == []
