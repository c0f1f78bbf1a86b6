"""The replica tests' own machinery, checked against real processes: the Redis fixture, the Sync proxy's holds and
counts, and the round-robin MCP client (here over two replicas without shared state, as `--multi-user` runs today).
"""

from __future__ import annotations

import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from tests.redis_support import redis_server
from tests.replicas_support import cluster
from tests.support import command, local_api, structured
from tests.sync_proxy import has_commands, sync_proxy

pytestmark = pytest.mark.slow  # subprocess servers
TOKEN = "harness-token-1"


def test_the_redis_fixture_serves_a_private_instance_and_stops_it(tmp_path: Path) -> None:
    with redis_server(tmp_path) as server:
        client = server.client()
        client.set("k", "v")
        assert client.get("k") == b"v"
        assert server.url == f"redis://127.0.0.1:{server.port}/0"
        client.close()
    assert server.process.returncode is not None
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server.port), timeout=1).close()
    assert not any(tmp_path.glob("*.rdb")) and not any(tmp_path.glob("appendonly*"))


async def _post(url: str, token: str, body: Mapping[str, Any]) -> httpx.Response:
    async with httpx.AsyncClient(timeout=30) as http:
        return await http.post(url, json=body, headers={"Authorization": f"Bearer {token}"})


async def _contents(url: str, token: str) -> list[str]:
    reply = await _post(url, token, {"sync_token": "*", "resource_types": ["items"]})
    return sorted(item["content"] for item in reply.json()["items"])


@pytest.mark.anyio
@pytest.mark.parametrize("forward_first", [False, True])
async def test_the_proxy_holds_a_request_before_or_after_forwarding_and_counts_every_request(
    tmp_path: Path, forward_first: bool
) -> None:
    with local_api(tmp_path / "a.db", token=TOKEN) as api:
        async with sync_proxy({TOKEN: api.url.removesuffix("/api/v1/sync")}) as proxy:
            url = proxy.sync_url("r7")
            first = {"commands": [command("item_add", {"content": "first"}, temp_id="a")]}
            assert (await _post(url, TOKEN, first)).status_code == 200  # no hold yet: forwarded and answered
            held = proxy.hold(has_commands, forward_first=forward_first)
            answers: list[httpx.Response] = []

            async def send_second() -> None:
                body = {"commands": [command("item_add", {"content": "second"}, temp_id="b")]}
                answers.append(await _post(url, TOKEN, body))

            async with anyio.create_task_group() as group:
                group.start_soon(send_second)
                with anyio.fail_after(10):
                    await (held.answered if forward_first else held.arrived).wait()
                # Held: the client has no answer yet; the store has the command only if it was forwarded.
                assert answers == []
                assert await _contents(api.url, TOKEN) == (["first", "second"] if forward_first else ["first"])
                held.release()
            assert answers[0].status_code == 200 and set(answers[0].json()["sync_status"].values()) == {"ok"}
            assert await _contents(api.url, TOKEN) == ["first", "second"]
            # A read is not held (the hold matched commands, and it is used up anyway).
            assert (await _post(url, "wrong-token", {"sync_token": "*", "resource_types": ["user"]})).status_code == 403
            assert [(s.via, s.account, s.path, len(s.commands)) for s in proxy.requests()] == [
                ("r7", TOKEN, "/api/v1/sync", 1),
                ("r7", TOKEN, "/api/v1/sync", 1),
                ("r7", "?", "/api/v1/sync", 0),
            ]


@pytest.mark.anyio
async def test_a_held_request_never_released_is_never_forwarded(tmp_path: Path) -> None:
    with local_api(tmp_path / "a.db", token=TOKEN) as api:
        async with sync_proxy({TOKEN: api.url.removesuffix("/api/v1/sync")}) as proxy:
            held = proxy.hold(has_commands, forward_first=False)
            answers: list[httpx.Response] = []

            async def send() -> None:
                body = {"commands": [command("item_add", {"content": "lost"}, temp_id="a")]}
                answers.append(await _post(proxy.sync_url("r0"), TOKEN, body))

            async with anyio.create_task_group() as group:
                group.start_soon(send)
                with anyio.fail_after(10):
                    await held.arrived.wait()
                held.drop()
        assert answers[0].status_code == 504
        assert await _contents(api.url, TOKEN) == []


@pytest.mark.anyio
async def test_one_client_alternates_between_two_replicas_request_by_request(tmp_path: Path) -> None:
    async with cluster(tmp_path, [TOKEN], shared_state=False) as c:
        await c.add_raw(TOKEN, "seen by both")
        async with c.client(TOKEN) as (client, turns):
            views = [structured(await client.call_tool("query_changes", {})) for _ in range(3)]
        assert turns.tool_calls() == [(0, "query_changes"), (1, "query_changes"), (0, "query_changes")]
        assert all([t["content"] for t in view["tasks"]] == ["seen by both"] for view in views)
        # Each replica reached the account through its own prefix of the proxy.
        assert c.proxy.requests(TOKEN, via="r0") and c.proxy.requests(TOKEN, via="r1")
