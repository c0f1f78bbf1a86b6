"""An HTTP proxy in front of `tools-server local-api`, run in the test's own event loop: it counts every request
and can hold one before forwarding it, or forward it and hold the answer, while the test waits on events.

Servers under test reach it through TODOIST_SYNC_URL = ``proxy.sync_url(via)``: ``via`` is a path prefix the
proxy strips, so each request is known by the replica that sent it. A request goes to the local-api whose token it
carries (one local-api per account); any other token goes to the first one, which refuses it.

uvicorn and starlette serve it (as they serve the project itself); httpx forwards.
"""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncGenerator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx
import uvicorn
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

# Upper bound on any hold: a hold the test never releases answers 504 (and forwards nothing) after this long.
HOLD_LIMIT_SECONDS = 60.0
_PASSED_HEADERS = ("content-type", "retry-after")


@dataclass(frozen=True)
class Seen:
    """One request as it arrived: which replica sent it (``via``), for which account, and its JSON body."""

    via: str
    account: str
    path: str
    body: dict[str, Any]

    @property
    def commands(self) -> list[dict[str, Any]]:
        commands: list[dict[str, Any]] = self.body.get("commands") or []
        return commands


def has_commands(seen: Seen) -> bool:
    return bool(seen.commands)


@dataclass
class Hold:
    """Takes the first request that ``when`` matches after ``skip`` matching ones went through.

    ``forward_first`` False: the request waits in the proxy, unsent, until ``release()`` (then it is forwarded and
    answered); True: it is forwarded at once and its answer waits until ``release()``. Never released: dropped
    when the proxy stops (unsent requests stay unsent).
    """

    when: Callable[[Seen], bool]
    forward_first: bool
    skip: int = 0
    arrived: anyio.Event = field(default_factory=anyio.Event)  # the request is in the proxy
    answered: anyio.Event = field(default_factory=anyio.Event)  # the local-api answered it (it ran there)
    seen: Seen | None = None
    _released: anyio.Event = field(default_factory=anyio.Event)
    _dropped: bool = False

    def release(self) -> None:
        self._released.set()

    def drop(self) -> None:
        self._dropped = True
        self._released.set()

    def _takes(self, seen: Seen) -> bool:
        if self.seen is not None or not self.when(seen):
            return False
        if self.skip > 0:
            self.skip -= 1
            return False
        self.seen = seen
        self.arrived.set()
        return True

    async def _wait(self) -> bool:
        """Whether the test released it (False: dropped, or the limit passed)."""
        with anyio.move_on_after(HOLD_LIMIT_SECONDS):
            await self._released.wait()
        return self._released.is_set() and not self._dropped


@dataclass
class SyncProxy:
    base: str  # http://127.0.0.1:PORT
    upstreams: Mapping[str, str]  # account token -> that local-api's base URL
    http: httpx.AsyncClient
    seen: list[Seen] = field(default_factory=list[Seen])
    holds: list[Hold] = field(default_factory=list[Hold])

    def sync_url(self, via: str) -> str:
        return f"{self.base}/{via}/api/v1/sync"

    def hold(self, when: Callable[[Seen], bool] = has_commands, *, forward_first: bool, skip: int = 0) -> Hold:
        taken = Hold(when, forward_first, skip)
        self.holds.append(taken)
        return taken

    def requests(self, account: str | None = None, via: str | None = None) -> list[Seen]:
        return [s for s in self.seen if (account is None or s.account == account) and (via is None or s.via == via)]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return  # started with lifespan="off": nothing else arrives
        request = Request(scope, receive)
        via, _, path = request.url.path.lstrip("/").partition("/")
        body = await request.body()
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        upstream = self.upstreams.get(token)
        account = token if upstream is not None else "?"
        seen = Seen(via, account, "/" + path, _json_object(body))
        self.seen.append(seen)
        taken = next((h for h in self.holds if h._takes(seen)), None)  # pyright: ignore[reportPrivateUsage]
        if taken is not None and not taken.forward_first and not await taken._wait():  # pyright: ignore[reportPrivateUsage]
            await Response("held and dropped by the test proxy", status_code=504)(scope, receive, send)
            return
        answer = await self._forward(request, upstream or next(iter(self.upstreams.values())), "/" + path, body)
        if taken is not None:
            taken.answered.set()
            if taken.forward_first and not await taken._wait():  # pyright: ignore[reportPrivateUsage]
                await Response("answer dropped by the test proxy", status_code=504)(scope, receive, send)
                return
        await answer(scope, receive, send)

    async def _forward(self, request: Request, upstream: str, path: str, body: bytes) -> Response:
        headers = {k: v for k, v in request.headers.items() if k in ("authorization", "content-type")}
        query = f"?{request.url.query}" if request.url.query else ""
        reply = await self.http.request(request.method, upstream + path + query, content=body, headers=headers)
        passed = {k: v for k, v in reply.headers.items() if k in _PASSED_HEADERS}
        return Response(reply.content, status_code=reply.status_code, headers=passed)


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        parsed: object = json.loads(body) if body else {}
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}  # pyright: ignore[reportUnknownVariableType]


@asynccontextmanager
async def sync_proxy(upstreams: Mapping[str, str]) -> AsyncGenerator[SyncProxy]:
    """The proxy on a loopback port of its own; every hold is dropped and the server stopped on exit."""
    # IPPROTO_TCP spelled out: asyncio turns on TCP_NODELAY only for sockets whose proto says TCP, and accepted
    # connections inherit this socket's proto. With socket()'s default 0, Nagle held each answer's body behind its
    # headers until the client's delayed ACK: 40+ ms on every proxied request (issue 27).
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)  # connections queue from here on, before uvicorn accepts them: usable at once
        port: int = sock.getsockname()[1]
        async with httpx.AsyncClient(timeout=30, follow_redirects=False) as http:
            proxy = SyncProxy(f"http://127.0.0.1:{port}", upstreams, http)
            config = uvicorn.Config(
                proxy,
                log_config=None,
                log_level="warning",
                lifespan="off",
                timeout_graceful_shutdown=5,
                access_log=False,
            )
            server = uvicorn.Server(config)
            async with anyio.create_task_group() as group:
                group.start_soon(server.serve, [sock])
                try:
                    yield proxy
                finally:
                    for held in proxy.holds:
                        held.drop()
                    server.should_exit = True
