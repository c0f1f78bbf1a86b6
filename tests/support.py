"""Test helpers: a local store behind a request-counting transport, and an MCP server over it."""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncGenerator, Callable, Generator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, AnyStr
from uuid import uuid4

import httpx
from mcp import Client
from mcp.types import CallToolResult

from tools_server.cli.backends import LOCAL_SYNC_URL, backend_over
from tools_server.clock import Clock
from tools_server.local.account import LocalAccount
from tools_server.local.store import SyncStore
from tools_server.local.transport import LocalTransport
from tools_server.server import build_server
from tools_server.sync.client import DEFAULT_RETRY_POLICY, RetryPolicy

FIXED_NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # a Monday


def local_env(home: Path, **extra: str) -> dict[str, str]:
    """Environment for the console script: the local backend in a throwaway file under ``home``, and nothing from
    the developer's shell (a Todoist token must not leak in)."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "TOOLS_SERVER_DB": str(home / "tasks.db"),
        "TOOLS_SERVER_BACKEND": "local",
        **extra,
    }


class FixedClock:
    """An injectable clock that only moves when a test moves it (``advance``): wall and monotonic time together."""

    def __init__(self, now: datetime = FIXED_NOW) -> None:
        self.now = now
        self.seconds = 1000.0

    def __call__(self) -> datetime:
        return self.now

    def monotonic(self) -> float:
        return self.seconds

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
        self.seconds += seconds

    def as_clock(self) -> Clock:
        return Clock(now=self, monotonic=self.monotonic)


@dataclass
class CountingTransport(httpx.AsyncBaseTransport):
    """Wraps a transport and keeps every request body, so tests can count requests and read what was sent."""

    inner: httpx.AsyncBaseTransport
    bodies: list[dict[str, Any]] = field(default_factory=list[dict[str, Any]])

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        multipart = request.headers.get("content-type", "").startswith("multipart/")
        # An upload is counted as a request; its form is kept as its size, not parsed as a Sync body.
        sent: dict[str, Any] = {"upload": len(body)} if multipart else json.loads(body) if body else {}
        # Issue 21: Todoist may leave temp_id_mapping out of a full sync that carries commands; every test checks it.
        assert not (sent.get("commands") and sent.get("sync_token") == "*"), "commands sent with sync_token '*'"
        self.bodies.append(sent)
        return await self.inner.handle_async_request(request)

    @property
    def count(self) -> int:
        return len(self.bodies)

    def reset(self) -> None:
        self.bodies.clear()

    def commands_sent(self) -> int:
        return sum(len(b.get("commands", [])) for b in self.bodies)

    def writes(self) -> int:
        """Requests that carried commands."""
        return sum(bool(b.get("commands")) for b in self.bodies)

    def full_syncs(self) -> int:
        return sum(b.get("sync_token") == "*" for b in self.bodies)


@dataclass
class Harness:
    store: SyncStore
    transport: CountingTransport
    http: httpx.AsyncClient
    clock: FixedClock

    sleeps: list[float] = field(default_factory=list[float])

    async def _sleep(self, seconds: float) -> None:
        # Retries wait on the injected clock, not the wall clock: the wait moves it, so call budgets see it.
        self.sleeps.append(seconds)
        self.clock.advance(seconds)

    def server(self, policy: RetryPolicy = DEFAULT_RETRY_POLICY, *, token: str = "local", **options: Any) -> Any:
        """An MCP server on the store; ``token`` picks the account (one of ``harness(accounts=...)``, else the
        first)."""
        backend = backend_over(
            self.http, kind="local", url=LOCAL_SYNC_URL, token=token, policy=policy, sleep=self._sleep
        )
        return build_server(backend, clock=self.clock.as_clock(), **options)

    async def raw_sync(self, body: dict[str, Any], *, token: str = "local") -> dict[str, Any]:
        """A Sync request straight to the store, bypassing the server and the counter."""
        async with httpx.AsyncClient(transport=LocalTransport(self.store)) as direct:
            response = await direct.post(LOCAL_SYNC_URL, json=body, headers={"Authorization": f"Bearer {token}"})
        result: dict[str, Any] = response.json()
        return result

    async def active_items(self) -> list[dict[str, Any]]:
        data = await self.raw_sync({"sync_token": "*", "resource_types": ["items"]})
        items: list[dict[str, Any]] = data["items"]
        return items

    async def completed(self, by: str, **params: str) -> list[dict[str, Any]]:
        """A plain REST read of completed tasks, straight to the store."""
        async with httpx.AsyncClient(transport=LocalTransport(self.store)) as direct:
            response = await direct.get(
                LOCAL_SYNC_URL.removesuffix("/sync") + f"/tasks/completed/by_{by}_date",
                params=params,
                headers={"Authorization": "Bearer local"},
            )
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    async def state(self) -> dict[str, Any]:
        return await self.raw_sync({"sync_token": "*", "resource_types": ["items", "projects", "sections"]})


@asynccontextmanager
async def harness(
    wrap: Callable[[httpx.AsyncBaseTransport], httpx.AsyncBaseTransport] | None = None,
    clock: FixedClock | None = None,
    timezone: str | None = None,
    start_day: int | None = None,
    accounts: Sequence[LocalAccount] = (),
) -> AsyncGenerator[Harness]:
    clock = clock or FixedClock()
    store = SyncStore(":memory:", now=clock, user_timezone=timezone, start_day=start_day, accounts=accounts)
    inner: httpx.AsyncBaseTransport = LocalTransport(store)
    if wrap is not None:
        inner = wrap(inner)
    transport = CountingTransport(inner)
    try:
        # Production's timeouts (cli.open_backend): a simulated hang lasts the read timeout on the injected clock.
        async with httpx.AsyncClient(transport=transport, timeout=httpx.Timeout(30.0, connect=10.0)) as http:
            yield Harness(store, transport, http, clock)
    finally:
        store.close()


@asynccontextmanager
async def connected(h: Harness, server: Any = None) -> AsyncGenerator[Client]:
    async with Client(server if server is not None else h.server(), raise_exceptions=True) as client:
        yield client


def free_port() -> int:
    """A loopback port nobody listens on right now, for a server subprocess."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def command(kind: str, args: dict[str, Any], temp_id: str | None = None, uuid: str | None = None) -> dict[str, Any]:
    """One Sync command as plain JSON, the way any client sends it; a fresh uuid unless one is given."""
    built: dict[str, Any] = {"type": kind, "uuid": uuid or str(uuid4()), "args": args}
    if temp_id is not None:
        built["temp_id"] = temp_id
    return built


def text_of(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if block.type == "text")


def structured(result: CallToolResult) -> dict[str, Any]:
    assert result.structured_content is not None, text_of(result)
    data: dict[str, Any] = result.structured_content  # type: ignore[assignment]
    return data


# ---------------------------------------------------------------------------------------------------------------------
# The local Sync API as a subprocess server

SCRIPT = Path(sys.executable).with_name("tools-server")


def stopped(process: subprocess.Popen[AnyStr]) -> tuple[AnyStr | None, AnyStr | None]:
    """Stop a server subprocess (SIGTERM, SIGKILL if it is still there after 10 s) and read what it left on its
    captured stdout and stderr."""
    if process.poll() is None:
        process.terminate()
    try:
        return process.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.communicate(timeout=10)


@dataclass
class Server:
    process: subprocess.Popen[str]
    url: str

    def kill(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


@contextmanager
def local_api(
    db: Path,
    *,
    token: str | None = "secret",
    env_token: str | None = None,
    extra_args: Sequence[str] = (),
    extra_env: Mapping[str, str] | None = None,
) -> Generator[Server]:
    """`tools-server local-api` in a subprocess, as a user starts it; ready once it printed its line and accepts a
    TCP connection. Always stopped."""
    port = free_port()
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(db.parent)}
    if env_token is not None:
        env["TOOLS_SERVER_LOCAL_TOKEN"] = env_token
    env.update(extra_env or {})
    argv = [str(SCRIPT), "local-api", "--port", str(port), "--db", str(db), *extra_args]
    if token is not None:
        argv += ["--token", token]
    process = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        assert process.stderr is not None
        readable, _, _ = select.select([process.stderr], [], [], 30)
        assert readable, "local-api printed nothing within 30 s"
        line = process.stderr.readline()
        assert f"local Sync API on http://127.0.0.1:{port}/api/v1/sync" in line, line
        # The line comes just before uvicorn binds: poll the port (connection refused returns at once), bounded.
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, f"local-api exited with {process.returncode}"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "local-api never accepted a connection"
        yield Server(process, f"http://127.0.0.1:{port}/api/v1/sync")
    finally:
        _, rest = stopped(process)
        if rest:
            print(rest, file=sys.stderr)  # shown by pytest when a test fails


@contextmanager
def http_server(tmp_path: Path, *args: str, env: Mapping[str, str] | None = None) -> Generator[tuple[int, list[str]]]:
    """`tools-server http` in a subprocess, over the local store under ``tmp_path`` unless ``env`` says otherwise:
    (port, its log lines so far). Always stopped; the lines it logged after readiness are appended for the caller."""
    port = free_port()
    process = subprocess.Popen(
        [str(SCRIPT), "http", "--port", str(port), *args],
        stdin=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env=dict(env) if env is not None else local_env(tmp_path, TOOLS_SERVER_LOG_LEVEL="INFO"),
    )
    seen: list[str] = []
    try:
        assert process.stderr is not None
        # Readiness from the server's own log line, not from sleeping.
        for _ in range(200):
            line = process.stderr.readline()
            seen.append(line)
            if not line or "Uvicorn running" in line:
                break
        assert process.poll() is None, "http server exited early: " + "".join(seen)
        yield port, seen
    finally:
        process.terminate()
        process.wait(timeout=20)
        if process.stderr is not None:
            seen.extend(process.stderr.readlines())  # what it logged after readiness, for the caller
            process.stderr.close()
