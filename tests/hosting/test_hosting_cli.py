"""`tools-server http --multi-user` as an operator starts it, in front of `tools-server local-api` (a Sync endpoint
that accepts only its own --token): the operator's token is in the environment and must never serve a request."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Generator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.support import command, free_port, local_api, structured

pytestmark = pytest.mark.slow  # subprocess servers

SCRIPT = Path(sys.executable).with_name("tools-server")
OPERATOR = "secret"  # local-api's token, and the operator's TODOIST_API_TOKEN


@contextmanager
def _multi_user(tmp_path: Path, sync_url: str) -> Generator[str]:
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "TODOIST_API_TOKEN": OPERATOR,
        "TODOIST_SYNC_URL": sync_url,
    }
    process = subprocess.Popen(
        [str(SCRIPT), "http", "--multi-user", "--port", str(port)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    seen: list[str] = []
    try:
        assert process.stderr is not None
        for _ in range(200):
            line = process.stderr.readline()
            seen.append(line)
            if not line or "Uvicorn running" in line:
                break
        assert process.poll() is None, "http server exited early: " + "".join(seen)
        assert any("TODOIST_API_TOKEN is ignored in multi-user mode" in line for line in seen), seen
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=20)
        if process.stderr is not None:
            process.stderr.close()


@pytest.mark.anyio
async def test_multi_user_http_serves_only_requests_with_a_good_token_and_never_the_operators(tmp_path: Path) -> None:
    async with httpx2.AsyncClient(timeout=30) as raw:
        await _check(tmp_path, raw)


async def _check(tmp_path: Path, raw: httpx2.AsyncClient) -> None:
    with local_api(tmp_path / "account.db") as sync:
        added = await raw.post(
            sync.url,
            json={"commands": [command("item_add", {"content": "operator secret"}, temp_id="t1")]},
            headers={"Authorization": f"Bearer {OPERATOR}"},
        )
        assert added.status_code == 200, added.text
        with _multi_user(tmp_path, sync.url) as base:
            challenge = f'Bearer resource_metadata="{base}/.well-known/oauth-protected-resource"'
            rpc: dict[str, Any] = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
            headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
            for authorization in (None, "Basic b3BlcmF0b3I6c2VjcmV0", "Bearer", "Token secret", "Bearer wrong"):
                sent = headers | ({"Authorization": authorization} if authorization else {})
                reply = await raw.post(f"{base}/mcp", json=rpc, headers=sent)
                assert reply.status_code == 401, (authorization, reply.text)
                assert reply.headers["www-authenticate"].startswith(challenge)
                assert "operator secret" not in reply.text
            metadata = (await raw.get(f"{base}/.well-known/oauth-protected-resource")).json()
            assert metadata["authorization_servers"] == ["https://todoist.com"]
            assert (await raw.get(f"{base}/health")).json()["status"] == "ok"
            # A caller with the account's own token is served that account.
            async with (
                httpx2.AsyncClient(headers={"Authorization": f"Bearer {OPERATOR}"}, timeout=30) as http,
                Client(streamable_http_client(f"{base}/mcp", http_client=http)) as client,
            ):
                overview = structured(await client.call_tool("query_changes", {}))
            assert [t["content"] for t in overview["tasks"]] == ["operator secret"]
