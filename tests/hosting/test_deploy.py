"""Issue 26: the reference deployment (deploy/run) as an operator starts it: Redis with its append-only file, two
`tools-server http --multi-user` replicas on it, nginx with TLS in front (a self-signed certificate made for the
test), all started by `deploy/run start`, checked by `deploy/run status`, stopped by `deploy/run stop`. No container
runtime. An MCP client speaks HTTPS to nginx only; nginx names the replica that answered (X-Replica), and the Sync
endpoint is `tools-server local-api` behind the test proxy (tests/sync_proxy.py), which can hold a request."""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
from collections import Counter
from collections.abc import AsyncGenerator
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.replicas_support import MODERN
from tests.support import SCRIPT, free_port, local_api, structured, text_of
from tests.sync_proxy import Seen, SyncProxy, has_commands, sync_proxy

pytestmark = pytest.mark.slow  # real processes: nginx, Redis, two replicas, local-api

RUN = Path(__file__).resolve().parents[2] / "deploy" / "run"
ALICE = "alice-token-deploy-1"
WAIT = 30.0


@dataclass
class Deployment:
    dir: Path
    port: int
    replicas: tuple[int, int]
    env: dict[str, str]
    proxy: SyncProxy
    sync_url: str  # the account's local-api, past the proxy
    served: list[str] = field(default_factory=list[str])  # X-Replica of every answer, in order

    def run(self, command: str) -> subprocess.CompletedProcess[str]:
        argv = [str(RUN), command]
        return subprocess.run(argv, env=self.env, capture_output=True, text=True, timeout=120, check=False)

    @asynccontextmanager
    async def client(self) -> AsyncGenerator[Client]:
        """A sessionless MCP client speaking HTTPS to nginx, trusting only the deployment's certificate."""
        context = ssl.create_default_context(cafile=str(self.dir / "tls.crt"))

        async def record(response: httpx2.Response) -> None:
            self.served.append(response.headers.get("x-replica", "?"))

        async with (
            httpx2.AsyncClient(
                verify=context,
                headers={"Authorization": f"Bearer {ALICE}"},
                timeout=60,
                event_hooks={"response": [record]},
            ) as http,
            Client(streamable_http_client(f"https://127.0.0.1:{self.port}/mcp", http_client=http), mode=MODERN) as mcp,
        ):
            await mcp.list_tools()
            yield mcp

    def kill(self, replica: str) -> None:
        port = replica.rpartition(":")[2]
        os.kill(int((self.dir / f"replica-{port}.pid").read_text()), signal.SIGKILL)

    async def contents(self) -> Counter[str]:
        async with httpx.AsyncClient(timeout=30) as http:
            reply = await http.post(
                self.sync_url,
                json={"sync_token": "*", "resource_types": ["items"]},
                headers={"Authorization": f"Bearer {ALICE}"},
            )
        return Counter(item["content"] for item in reply.json()["items"])


@asynccontextmanager
async def deployment(tmp_path: Path) -> AsyncGenerator[Deployment]:
    async with AsyncExitStack() as stack:
        account = stack.enter_context(local_api(tmp_path / "account.db", token=ALICE))
        proxy = await stack.enter_async_context(sync_proxy({ALICE: account.url.removesuffix("/api/v1/sync")}))
        port, first, second, redis = free_port(), free_port(), free_port(), free_port()
        env = {
            "PATH": os.environ.get("PATH", "") + ":/usr/sbin",
            "HOME": str(tmp_path),
            "DEPLOY_DIR": str(tmp_path / "run"),
            "DEPLOY_HOST": "127.0.0.1",
            "DEPLOY_PORT": str(port),
            "DEPLOY_REPLICA_PORTS": f"{first} {second}",
            "DEPLOY_REDIS_PORT": str(redis),
            "DEPLOY_WAIT_SECONDS": "60",
            "TOOLS_SERVER_BIN": str(SCRIPT),
            "TODOIST_SYNC_URL": proxy.sync_url("deploy"),
            "TOOLS_SERVER_LOCK_SECONDS": "3",
        }
        deployed = Deployment(tmp_path / "run", port, (first, second), env, proxy, account.url)
        started = await anyio.to_thread.run_sync(deployed.run, "start")
        stack.push_async_callback(anyio.to_thread.run_sync, deployed.run, "stop")
        assert started.returncode == 0, started.stderr
        assert f"up. MCP clients: https://127.0.0.1:{port}/mcp" in started.stderr
        yield deployed


@pytest.mark.anyio
async def test_one_command_starts_the_deployment_a_write_on_one_replica_is_undone_on_the_other(tmp_path: Path) -> None:
    async with deployment(tmp_path) as d:
        health = await anyio.to_thread.run_sync(d.run, "status")
        assert health.returncode == 0, health.stderr
        assert health.stderr.count(" up ") == 4  # Redis, two replicas, nginx
        async with d.client() as mcp:
            added = await mcp.call_tool("add_item", {"items": [{"content": "Through nginx"}]})
            written_on = d.served[-1]
            assert not added.is_error, text_of(added)
            assert await d.contents() == Counter({"Through nginx": 1})
            undone = await mcp.call_tool("undo", {"write": structured(added)["write"]})
            undone_on = d.served[-1]
        assert not undone.is_error, text_of(undone)
        assert {written_on, undone_on} == {f"127.0.0.1:{p}" for p in d.replicas}  # one each
        assert await d.contents() == Counter()
        # Redis keeps the replicas' records in its append-only file.
        aof = d.dir / "redis" / "appendonlydir"
        assert any(f.suffix == ".aof" and f.stat().st_size > 0 for f in aof.iterdir())
    stopped = await anyio.to_thread.run_sync(d.run, "status")
    assert stopped.returncode == 1 and stopped.stderr.count("DOWN") == 4, stopped.stderr


def _alices_writes(seen: Seen) -> bool:
    return seen.account == ALICE and has_commands(seen)


async def _until_killed(mcp: Client, arguments: dict[str, Any]) -> None:
    with suppress(Exception):  # the replica dies under this call; the store says what happened
        await mcp.call_tool("add_item", arguments)


@pytest.mark.anyio
async def test_a_replica_killed_mid_write_behind_nginx_is_finished_by_the_other_each_task_once(
    tmp_path: Path,
) -> None:
    async with deployment(tmp_path) as d:
        replicas = {f"127.0.0.1:{p}" for p in d.replicas}
        # 150 tasks are two Sync requests (100 and 50 commands): the first is answered, the second held unsent.
        held = d.proxy.hold(_alices_writes, forward_first=False, skip=1)
        doomed = ""
        try:
            async with d.client() as mcp, anyio.create_task_group() as group:
                # nginx takes the replicas in turn: the one that did not answer tools/list gets the write.
                doomed = (replicas - {d.served[-1]}).pop()
                group.start_soon(_until_killed, mcp, {"items": [{"content": f"t{i}"} for i in range(150)]})
                with anyio.fail_after(WAIT):
                    await held.arrived.wait()
                d.kill(doomed)  # holding the account's write lock, the batch half confirmed
                group.cancel_scope.cancel()
        except* httpx2.TransportError:
            pass  # the dropped connection, raised from the MCP client's own task group
        assert len(await d.contents()) == 100
        health = await anyio.to_thread.run_sync(d.run, "status")
        assert health.returncode == 1 and f"replica  DOWN (port {doomed.rpartition(':')[2]})" in health.stderr
        async with d.client() as mcp:
            with anyio.fail_after(WAIT):  # it may wait for the dead replica's lock to expire (3 s)
                done = await mcp.call_tool("resend_writes", {})
            survivor = d.served[-1]
        assert survivor == (replicas - {doomed}).pop()
        assert not done.is_error, text_of(done)
        assert text_of(done).startswith("Resent 50 unconfirmed commands. Added 150 tasks."), text_of(done)
        assert structured(done)["ok"] == 150
        assert await d.contents() == Counter(f"t{i}" for i in range(150))
