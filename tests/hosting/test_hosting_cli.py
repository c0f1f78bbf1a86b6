"""`tools-server http --multi-user` as an operator starts it, in front of `tools-server local-api` (a Sync endpoint
that accepts only its own --token): the operator's token is in the environment and must never serve a request."""

from __future__ import annotations

import os
import sys
from collections.abc import Generator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.support import command, http_server, local_api, structured

pytestmark = pytest.mark.slow  # subprocess servers

SCRIPT = Path(sys.executable).with_name("tools-server")
OPERATOR = "secret"  # local-api's token, and the operator's TODOIST_API_TOKEN


@contextmanager
def _multi_user(tmp_path: Path, sync_url: str) -> Generator[str]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "TODOIST_API_TOKEN": OPERATOR,
        "TODOIST_SYNC_URL": sync_url,
    }
    with http_server(tmp_path, "--multi-user", env=env) as (port, seen):
        assert any("TODOIST_API_TOKEN is ignored in multi-user mode" in line for line in seen), seen
        yield f"http://127.0.0.1:{port}"


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
