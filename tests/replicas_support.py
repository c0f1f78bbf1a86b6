"""Two `tools-server http --multi-user` replicas on one Redis, in front of local-api accounts behind the test proxy,
and one MCP client that alternates between the replicas request by request.

    Redis (tests/redis_support) <- replica r0, replica r1 -> SyncProxy (tests/sync_proxy) -> local-api per account

The replicas are sessionless MCP servers to the client (protocol 2026-07-28: one HTTP request per call, no
Mcp-Session-Id), which is what lets a load balancer send each call anywhere.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
import time
from collections import Counter
from collections.abc import AsyncGenerator, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import anyio
import anyio.to_thread
import httpx
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.redis_support import RedisServer, redis_server
from tests.support import SCRIPT, Server, command, free_port, local_api
from tests.sync_proxy import SyncProxy, sync_proxy

MODERN = "2026-07-28"  # sessionless: every call is one POST that any replica can answer
START_SECONDS = 30.0
READY_LINE = "MCP over HTTP at"


@dataclass(frozen=True)
class Served:
    replica: int
    method: str
    tool: str | None


class RoundRobin(httpx2.AsyncBaseTransport):
    """Sends each HTTP request to the next replica in turn (the URL's host and port, and Host, are rewritten) and
    logs which replica got which JSON-RPC request. ``next`` may be set to choose where the next request goes."""

    def __init__(self, bases: Sequence[str]) -> None:
        self._targets = [httpx2.URL(base) for base in bases]
        self._inner = httpx2.AsyncHTTPTransport()
        self.next = 0
        self.served: list[Served] = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        index = self.next
        self.next = (index + 1) % len(self._targets)
        target = self._targets[index]
        request.url = request.url.copy_with(scheme=target.scheme, host=target.host, port=target.port)
        request.headers["Host"] = f"{target.host}:{target.port}"
        method, tool = _rpc(request)
        self.served.append(Served(index, method, tool))
        return await self._inner.handle_async_request(request)

    def tool_calls(self) -> list[tuple[int, str | None]]:
        return [(s.replica, s.tool) for s in self.served if s.method == "tools/call"]

    async def aclose(self) -> None:
        await self._inner.aclose()


def _rpc(request: httpx2.Request) -> tuple[str, str | None]:
    """The JSON-RPC method of a POST (and the tool's name for tools/call); other verbs by their HTTP method."""
    if request.method != "POST":
        return request.method, None
    try:
        message: object = json.loads(request.content)
    except ValueError:
        return "?", None
    if not isinstance(message, dict):
        return "?", None
    typed = cast(dict[str, Any], message)
    params: object = typed.get("params")
    tool: object = cast(dict[str, Any], params).get("name") if isinstance(params, dict) else None
    return str(typed.get("method", "?")), str(tool) if tool is not None else None


@dataclass
class Replica:
    process: subprocess.Popen[str]
    base: str  # http://127.0.0.1:PORT
    port: int
    stderr: list[str] = field(default_factory=list[str])
    _ready: threading.Event = field(default_factory=threading.Event)
    _reader: threading.Thread | None = None

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs; its Redis lock is left to expire."""
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def wait_ready(self) -> None:
        """Bounded: it printed its URL, then its port accepts a connection (the line comes just before uvicorn
        binds; a refused connection answers at once and the deadline bounds the loop)."""
        assert self._ready.wait(START_SECONDS), f"replica printed no URL within {START_SECONDS:g} s: {self.stderr}"
        deadline = time.monotonic() + START_SECONDS
        while True:
            assert self.process.poll() is None, f"replica exited with {self.process.returncode}: {self.output()}"
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                assert time.monotonic() < deadline, "replica never accepted a connection"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        if self._reader is not None:
            self._reader.join(timeout=10)
        if self.process.stderr is not None:
            self.process.stderr.close()
        if self.stderr:
            print(f"--- replica on port {self.port}, stderr:\n{self.output()}")  # pytest shows it on a failure

    def output(self) -> str:
        return "".join(self.stderr)


# What every replica of a test deployment shares to seal its records in Redis (--state needs one).
STATE_SECRET = "replicas-of-one-deployment-share-this-secret"


def replica_env(home: Path, sync_url: str, **extra: str) -> dict[str, str]:
    """Nothing from the developer's shell: no Todoist token, no state URL unless given; the deployment's secret."""
    base = {"PATH": os.environ.get("PATH", ""), "HOME": str(home), "TODOIST_SYNC_URL": sync_url}
    return {**base, "TOOLS_SERVER_STATE_SECRET": STATE_SECRET, **extra}


def launch_replica(
    home: Path,
    sync_url: str,
    state_url: str | None,
    *,
    state_in_env: bool = False,
    env: Mapping[str, str] | None = None,
) -> Replica:
    """Start `tools-server http --multi-user --state URL` (or with TOOLS_SERVER_STATE_URL=URL; no state URL: each
    process keeps its own state, as before issue 15); the caller waits with ``wait_ready`` and always calls
    ``stop``."""
    port = free_port()
    argv = [str(SCRIPT), "http", "--multi-user", "--port", str(port)]
    extra = dict(env or {})
    if state_url is None:
        pass
    elif state_in_env:
        extra["TOOLS_SERVER_STATE_URL"] = state_url
    else:
        argv += ["--state", state_url]
    home.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=replica_env(home, sync_url, **extra),
    )
    started = Replica(process, f"http://127.0.0.1:{port}", port)
    # A thread drains stderr for the whole run: a full pipe would block the server's logging.
    started._reader = threading.Thread(target=_drain, args=(started,), daemon=True)  # pyright: ignore[reportPrivateUsage]
    started._reader.start()  # pyright: ignore[reportPrivateUsage]
    return started


def _drain(started: Replica) -> None:
    stream = started.process.stderr
    assert stream is not None
    for line in stream:
        started.stderr.append(line)
        if READY_LINE in line:
            started._ready.set()  # pyright: ignore[reportPrivateUsage]
    started._ready.set()  # pyright: ignore[reportPrivateUsage]  (exited: wait_ready reports why)


@dataclass
class Cluster:
    redis: RedisServer
    accounts: dict[str, Server]  # token -> its local-api
    proxy: SyncProxy
    replicas: list[Replica]

    @asynccontextmanager
    async def client(self, token: str, replicas: Sequence[int] = (0, 1)) -> AsyncGenerator[tuple[Client, RoundRobin]]:
        """One sessionless MCP client for ``token`` whose requests alternate over ``replicas``, tool schemas
        already listed (so each call is exactly one request) and the turn reset to the first replica."""
        chosen = RoundRobin([self.replicas[i].base for i in replicas])
        headers = {"Authorization": f"Bearer {token}"}
        url = f"{self.replicas[replicas[0]].base}/mcp"  # the host and port are the transport's choice, per request
        async with (
            httpx2.AsyncClient(transport=chosen, headers=headers, timeout=60) as http,
            Client(streamable_http_client(url, http_client=http), mode=MODERN) as mcp,
        ):
            await mcp.list_tools()
            chosen.next = 0
            chosen.served.clear()
            yield mcp, chosen

    async def raw_sync(self, token: str, body: dict[str, Any]) -> dict[str, Any]:
        """A Sync request straight to the account's local-api: past the proxy (not counted) and the replicas."""
        async with httpx.AsyncClient(timeout=30) as http:
            reply = await http.post(self.accounts[token].url, json=body, headers={"Authorization": f"Bearer {token}"})
        assert reply.status_code == 200, reply.text
        data: dict[str, Any] = reply.json()
        return data

    async def add_raw(self, token: str, *contents: str) -> None:
        commands = [command("item_add", {"content": c}, temp_id=f"t{n}") for n, c in enumerate(contents)]
        data = await self.raw_sync(token, {"commands": commands})
        assert set(data["sync_status"].values()) == {"ok"}, data

    async def items(self, token: str) -> list[dict[str, Any]]:
        data = await self.raw_sync(token, {"sync_token": "*", "resource_types": ["items"]})
        items: list[dict[str, Any]] = data["items"]
        return items

    async def contents(self, token: str) -> Counter[str]:
        """How many active tasks of each content the account has, as the store says."""
        return Counter(item["content"] for item in await self.items(token))


@asynccontextmanager
async def cluster(
    tmp_path: Path,
    tokens: Sequence[str],
    *,
    replicas: int = 2,
    env: Mapping[str, str] | None = None,
    shared_state: bool = True,
) -> AsyncGenerator[Cluster]:
    """Redis, one local-api per token behind the proxy, and ``replicas`` replicas on that Redis: r0 is given
    ``--state``, r1 TOOLS_SERVER_STATE_URL (both ways are exercised). Everything is stopped on exit, replicas first,
    while the proxy still answers them. ``shared_state`` False: no state URL at all (each replica on its own)."""
    async with AsyncExitStack() as stack:
        store = stack.enter_context(redis_server(tmp_path))
        accounts = {
            token: stack.enter_context(local_api(tmp_path / f"account{n}.db", token=token))
            for n, token in enumerate(tokens)
        }
        upstreams = {token: server.url.removesuffix("/api/v1/sync") for token, server in accounts.items()}
        proxy = await stack.enter_async_context(sync_proxy(upstreams))
        started: list[Replica] = []
        for n in range(replicas):
            one = launch_replica(
                tmp_path / f"r{n}",
                proxy.sync_url(f"r{n}"),
                store.url if shared_state else None,
                state_in_env=n % 2 == 1,
                env=env,
            )
            stack.push_async_callback(anyio.to_thread.run_sync, one.stop)
            started.append(one)
        for one in started:
            await anyio.to_thread.run_sync(one.wait_ready)
        yield Cluster(store, accounts, proxy, started)
