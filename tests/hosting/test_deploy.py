"""The reference deployment (deploy/run, issue 26 item 4), started as an operator starts it: two replicas, Redis with
its append-only file, nginx terminating TLS in front. An MCP client goes through nginx only; the account's Todoist is
`tools-server local-api` behind the test proxy (tests/sync_proxy.py), which can hold a request so that a replica can
be killed in the middle of a write. What the tests assert is read from the store itself.
"""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
from collections import Counter
from collections.abc import AsyncGenerator, Generator
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import anyio
import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.support import SCRIPT, free_port, local_api, structured, text_of
from tests.sync_proxy import Seen, SyncProxy, has_commands, sync_proxy

pytestmark = pytest.mark.slow  # real processes: nginx, Redis, two replicas, local-api

RUN = Path(__file__).resolve().parents[2] / "deploy" / "run"
ALICE = "alice-token-deployment"
WAIT = 30.0


@dataclass
class Deployment:
    directory: Path
    env: dict[str, str]
    https_port: int
    replica_ports: list[int]
    proxy: SyncProxy
    account_url: str  # local-api's Sync URL, past the proxy
    served: list[tuple[str, str | None]] = field(default_factory=list[tuple[str, str | None]])  # (replica, tool)

    def run(self, verb: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", str(RUN), verb], env=self.env, capture_output=True, text=True, timeout=120, check=False
        )

    @property
    def url(self) -> str:
        return f"https://localhost:{self.https_port}/mcp"

    def trust(self) -> ssl.SSLContext:
        """What a client configured with the deployment's (self-signed) certificate trusts."""
        return ssl.create_default_context(cafile=str(self.directory / "tls.crt"))

    def pid(self, port: int) -> int:
        return int((self.directory / f"replica-{port}.pid").read_text())

    def kill_replica(self, address: str) -> None:
        """SIGKILL the replica at ``address`` (host:port, as nginx names it): no shutdown code runs."""
        port = int(address.rpartition(":")[2])
        os.kill(self.pid(port), signal.SIGKILL)

    @asynccontextmanager
    async def client(self) -> AsyncGenerator[Client]:
        """A sessionless MCP client (protocol 2026-07-28) that reaches the deployment through nginx only, trusting
        its self-signed certificate, and notes which replica answered each request (nginx's X-Served-By)."""

        async def note(response: httpx2.Response) -> None:
            self.served.append((response.headers.get("x-served-by", "?"), _tool(response.request)))

        async with (
            httpx2.AsyncClient(
                headers={"Authorization": f"Bearer {ALICE}"},
                verify=self.trust(),
                timeout=60,
                event_hooks={"response": [note]},
            ) as http,
            Client(streamable_http_client(self.url, http_client=http), mode="2026-07-28") as mcp,
        ):
            await mcp.list_tools()
            yield mcp

    def replica_of(self, tool: str) -> str:
        return [replica for replica, called in self.served if called == tool][-1]

    async def contents(self) -> Counter[str]:
        async with httpx.AsyncClient(timeout=30) as http:
            reply = await http.post(
                self.account_url,
                json={"sync_token": "*", "resource_types": ["items"]},
                headers={"Authorization": f"Bearer {ALICE}"},
            )
        items: list[dict[str, Any]] = reply.json()["items"]
        return Counter(item["content"] for item in items)


def _tool(request: httpx2.Request) -> str | None:
    try:
        message: object = json.loads(request.content)
    except ValueError:
        return None
    if not isinstance(message, dict):
        return None
    params: object = cast(dict[str, Any], message).get("params")
    name: object = cast(dict[str, Any], params).get("name") if isinstance(params, dict) else None
    return name if isinstance(name, str) else None


@contextmanager
def _account(tmp_path: Path) -> Generator[str]:
    with local_api(tmp_path / "account.db", token=ALICE) as server:
        yield server.url


@asynccontextmanager
async def deployment(tmp_path: Path) -> AsyncGenerator[Deployment]:
    with _account(tmp_path) as account_url:
        async with sync_proxy({ALICE: account_url.removesuffix("/api/v1/sync")}) as proxy:
            directory = tmp_path / "deploy"
            replica_ports = [free_port(), free_port()]
            https_port = free_port()
            env = {
                "PATH": f"{SCRIPT.parent}:{os.environ.get('PATH', '')}",
                "HOME": str(tmp_path),
                "DEPLOY_DIR": str(directory),
                "TOOLS_SERVER": str(SCRIPT),
                "TODOIST_SYNC_URL": proxy.sync_url("deploy"),
                "HTTPS_PORT": str(https_port),
                "REPLICA_PORTS": " ".join(map(str, replica_ports)),
                "REDIS_PORT": str(free_port()),
                "TOOLS_SERVER_LOCK_SECONDS": "3",  # a killed replica's write lock frees within 3 s
            }
            deployed = Deployment(directory, env, https_port, replica_ports, proxy, account_url)
            try:
                up = await anyio.to_thread.run_sync(deployed.run, "up")
                assert up.returncode == 0, up.stderr
                yield deployed
            finally:
                down = await anyio.to_thread.run_sync(deployed.run, "down")
                assert down.returncode == 0, down.stderr
            for port in replica_ports:
                assert not (directory / f"replica-{port}.pid").exists()


def _alices_writes(seen: Seen) -> bool:
    return seen.account == ALICE and has_commands(seen)


@pytest.mark.anyio
async def test_up_serves_tls_over_both_replicas_and_a_write_on_one_is_undone_on_the_other(tmp_path: Path) -> None:
    async with deployment(tmp_path) as d:
        status = await anyio.to_thread.run_sync(d.run, "status")
        assert status.returncode == 0, status.stdout + status.stderr
        assert "appendonly yes" in status.stdout
        assert status.stdout.count(" ok") == 4, status.stdout  # nginx, two replicas, Redis
        async with httpx.AsyncClient(verify=d.trust()) as http:
            answers = [await http.get(f"https://localhost:{d.https_port}/health") for _ in range(4)]
            unauthenticated = await http.post(f"https://localhost:{d.https_port}/mcp", json={})
        assert [a.status_code for a in answers] == [200] * 4
        assert {a.headers["x-served-by"] for a in answers} == {f"127.0.0.1:{p}" for p in d.replica_ports}
        assert unauthenticated.status_code == 401
        assert "resource_metadata=" in unauthenticated.headers["www-authenticate"]

        async with d.client() as client:
            added = await client.call_tool("add_item", {"items": [{"content": f"deployed {i}"} for i in range(3)]})
            assert not added.is_error, text_of(added)
            assert await d.contents() == Counter(f"deployed {i}" for i in range(3))
            undone = await client.call_tool("undo", {"write": structured(added)["write"]})
        assert not undone.is_error, text_of(undone)
        assert d.replica_of("add_item") != d.replica_of("undo"), d.served
        assert await d.contents() == Counter()


@pytest.mark.anyio
async def test_a_replica_killed_mid_write_leaves_the_rest_to_the_other_each_task_stored_once(tmp_path: Path) -> None:
    async with deployment(tmp_path) as d, d.client() as client:
        seen = await client.call_tool("query_changes", {})
        assert not seen.is_error, text_of(seen)
        # nginx takes the replicas in turn: the write goes to the one that did not answer query_changes.
        doomed = next(f"127.0.0.1:{p}" for p in d.replica_ports if f"127.0.0.1:{p}" != d.replica_of("query_changes"))
        # 150 tasks are two Sync requests (100 + 50): the first runs, the second waits in the proxy, unsent.
        held = d.proxy.hold(_alices_writes, forward_first=False, skip=1)

        async def write() -> None:
            with suppress(Exception):  # its replica dies under it: nginx answers 502
                await client.call_tool("add_item", {"items": [{"content": f"t{i}"} for i in range(150)]})

        async with anyio.create_task_group() as group:
            group.start_soon(write)
            with anyio.fail_after(WAIT):
                await held.arrived.wait()
            d.kill_replica(doomed)  # holding the account's write lock, 100 of 150 confirmed
        assert await d.contents() == Counter(f"t{i}" for i in range(100))

        status = await anyio.to_thread.run_sync(d.run, "status")
        assert status.returncode == 1 and f"replica {doomed} DOWN" in status.stdout, status.stdout

        with anyio.fail_after(WAIT):  # the dead replica's lock expires within 3 s
            done = await client.call_tool("resend_writes", {})
        assert not done.is_error, text_of(done)
        assert d.replica_of("resend_writes") != doomed
        assert text_of(done).startswith("Resent 50 unconfirmed commands."), text_of(done)
        assert await d.contents() == Counter(f"t{i}" for i in range(150))
