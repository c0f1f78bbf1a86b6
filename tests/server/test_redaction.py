"""No token in anything the server says: a backend that echoes the caller's token in every field of every failure
shape (a per-command ``error_tag``, ``error``, non-string ``error_extra`` values; a whole-request 400/403/5xx body)
gets it back as ``[redacted]``, in text, structured content, errors and logs.

Todoist does not do this and the local backend cannot be made to, so the echo is a transport wrapper around the local
store (the one fault here): the store runs every request as usual, then its failures are rewritten to carry the token.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
import uvicorn
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from starlette.types import Receive, Scope, Send

from tests.support import SCRIPT, FixedClock, free_port, local_env, text_of
from tools_server.cli.backends import backend_over
from tools_server.local.protocol import handle_http
from tools_server.local.store import SyncStore
from tools_server.local.transport import LocalTransport
from tools_server.server import build_server
from tools_server.sync.client import RetryPolicy

# Not token-shaped on purpose: only the server's knowing the caller's token can hide it.
CANARY = "Canary.Secret-Token/42"
URL = "http://sync.invalid/api/v1/sync"


def _echoing_error(code: int = 20) -> dict[str, Any]:
    return {
        "error": f"no such thing ({CANARY})",
        "error_tag": f"TAG_{CANARY}",
        "error_code": code,
        "http_code": 400,
        "error_extra": {"nested": {"token": CANARY}, "list": [1, CANARY, {"deep": [CANARY]}], "plain": CANARY},
    }


class Echoing(httpx.AsyncBaseTransport):
    """The local store, then every failure made to carry the token: per-command errors, or (``whole``) the whole
    request answered with that status and an error body full of the token."""

    def __init__(self, store: SyncStore) -> None:
        self._inner = LocalTransport(store, expected_token=CANARY)
        self.whole: int | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.whole is not None:
            body = json.dumps(_echoing_error() | {"http_code": self.whole}).encode()
            return httpx.Response(self.whole, content=body, headers={"content-type": "application/json"})
        response = await self._inner.handle_async_request(request)
        await response.aread()
        data: dict[str, Any] = response.json()
        if "sync_status" not in data:
            return response
        data["sync_status"] = {uuid: _echoing_error() for uuid in data["sync_status"]}
        return httpx.Response(response.status_code, json=data, request=request)


async def _no_wait(_seconds: float) -> None:
    return None


@asynccontextmanager
async def echoing_server() -> AsyncGenerator[tuple[Client, Echoing, SyncStore]]:
    clock = FixedClock()
    store = SyncStore(":memory:", now=clock)
    transport = Echoing(store)
    try:
        async with httpx.AsyncClient(transport=transport) as http:
            backend = backend_over(
                http, kind="todoist", url=URL, token=CANARY, policy=RetryPolicy(max_attempts=1), sleep=_no_wait
            )
            server = build_server(backend, clock=clock.as_clock())
            async with Client(server) as client:
                yield client, transport, store
    finally:
        store.close()


def _outputs(result: Any) -> str:
    return text_of(result) + json.dumps(result.structured_content)


WRITES: list[tuple[str, dict[str, Any]]] = [
    ("add_item", {"items": [{"content": "one", "labels": ["l"]}]}),
    ("complete_items", {"ids": ["{id}"]}),
    ("update_items", {"items": [{"id": "{id}", "content": "renamed"}]}),
    ("move_items", {"ids": ["{id}"], "to_project": "Inbox"}),
    ("comment_items", {"add": [{"task": "{id}", "content": "a note"}]}),
    ("manage_projects", {"ops": [{"op": "add", "kind": "project", "name": "P"}]}),
    ("delete_items", {"ids": ["{id}"]}),
]


@pytest.mark.anyio
async def test_a_token_echoed_in_any_field_of_any_failure_never_reaches_the_model_or_the_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    outputs: list[str] = []
    async with echoing_server() as (client, transport, store):
        reply = store.handle(
            {"commands": [{"type": "item_add", "uuid": "u1", "temp_id": "t1", "args": {"content": "there"}}]},
            token=CANARY,
        )
        task_id = reply.body["temp_id_mapping"]["t1"]
        for name, args in WRITES:
            arguments = json.loads(json.dumps(args).replace("{id}", task_id))
            outputs.append(_outputs(await client.call_tool(name, arguments)))
        failures = sum("[redacted]" in o for o in outputs)
        for status in (400, 403, 410, 429, 500):
            transport.whole = status
            for name, args in [("query_changes", {}), ("find_items", {"filter": "today"}), WRITES[0]]:
                outputs.append(_outputs(await client.call_tool(name, args)))
    outputs.append(caplog.text)
    leaks = sum(o.count(CANARY) for o in outputs)
    assert leaks == 0, [o for o in outputs if CANARY in o]
    assert failures == len(WRITES)  # the per-command failures really quoted the backend's (redacted) words


@pytest.mark.slow
@pytest.mark.anyio
async def test_over_stdio_a_token_echoed_in_error_tag_or_error_extra_appears_nowhere(tmp_path: Path) -> None:
    """The console script on stdio against a loopback Sync endpoint that echoes the token in every failure."""
    store = SyncStore(":memory:")
    reply = store.handle(
        {"commands": [{"type": "item_add", "uuid": "u1", "temp_id": "t1", "args": {"content": "there"}}]},
        token=CANARY,
    )
    task_id = reply.body["temp_id_mapping"]["t1"]

    async def echo(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        answer = handle_http(
            store,
            method=scope["method"],
            path=scope["path"],
            headers=headers,
            body=body,
            expected_token=CANARY,
            query=scope["query_string"].decode(),
        )
        content = answer.content
        data: Any = json.loads(content) if content.startswith(b"{") else None
        if isinstance(data, dict) and "sync_status" in data:
            statuses = cast(dict[str, Any], data["sync_status"])
            data["sync_status"] = {uuid: _echoing_error() for uuid in statuses}
            content = json.dumps(data).encode()
        out = [(b"content-type", b"application/json"), (b"content-length", str(len(content)).encode())]
        await send({"type": "http.response.start", "status": answer.status, "headers": out})
        await send({"type": "http.response.body", "body": content})

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(echo, host="127.0.0.1", port=port, log_level="error", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    outputs: list[str] = []
    try:
        for _ in range(200):  # bounded wait for the bind
            if server.started:
                break
            thread.join(0.05)
        env = local_env(
            tmp_path,
            TOOLS_SERVER_BACKEND="todoist",
            TODOIST_API_TOKEN=CANARY,
            TODOIST_SYNC_URL=f"http://127.0.0.1:{port}/api/v1/sync",
            TOOLS_SERVER_LOG_LEVEL="DEBUG",
        )
        with (tmp_path / "stderr.txt").open("w+") as errlog:
            params = StdioServerParameters(command=str(SCRIPT), args=[], env=env)
            async with Client(stdio_client(params, errlog=errlog)) as client:
                for name, args in WRITES:
                    arguments = json.loads(json.dumps(args).replace("{id}", task_id))
                    outputs.append(_outputs(await client.call_tool(name, arguments)))
            errlog.seek(0)
            stderr = errlog.read()
    finally:
        server.should_exit = True
        thread.join(10)
        store.close()
    assert "DEBUG" in stderr  # the debug log was really on
    assert sum("[redacted]" in o for o in outputs) == len(WRITES)  # every write failed, quoting the backend
    assert sum(text.count(CANARY) for text in [*outputs, stderr]) == 0
