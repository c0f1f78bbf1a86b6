"""``tools-server local-api``: the local store as a Todoist-compatible HTTP endpoint (POST /api/v1/sync).

A stalled client must not hold a connection: headers have a deadline (``_TimedH11Protocol``), the body a read
timeout, and idle keep-alive connections close (uvicorn's ``timeout_keep_alive``). The token is checked from the
headers before the body is read, so a stranger cannot make the server buffer a megabyte.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from functools import partial
from typing import Literal

import anyio
import anyio.to_thread
import h11
from starlette.types import Message, Receive, Scope, Send
from uvicorn import Config
from uvicorn.protocols.http.h11_impl import H11Protocol

from tools_server.local.account import LocalAccount, machine_timezone
from tools_server.local.args import MAX_BODY_BYTES
from tools_server.local.oauth import OAUTH_PATHS, AuthorizationServer, TokenGate
from tools_server.local.protocol import (
    MAX_UPLOAD_BODY_BYTES,
    REST_PATHS,
    Expected,
    HttpReply,
    check_head,
    check_upload_head,
    handle_body,
    handle_upload,
    is_upload_path,
    rest_read,
    too_slow,
)
from tools_server.local.store import SyncStore

HEADER_TIMEOUT_SECONDS = 10.0
BODY_TIMEOUT_SECONDS = 30.0
KEEP_ALIVE_SECONDS = 5
# Todoist's documented header limit (reference §6): 65 KiB.
MAX_HEADER_BYTES = 65 * 1024


class SyncApp:
    """A bare ASGI app: one endpoint needs no router, and reading the body ourselves lets us stop at 1 MiB."""

    def __init__(
        self,
        store: SyncStore,
        token: Expected,
        *,
        body_timeout: float = BODY_TIMEOUT_SECONDS,
        oauth: AuthorizationServer | None = None,
    ) -> None:
        self._store = store
        self._token = token
        self._body_timeout = body_timeout
        self._oauth = oauth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if self._oauth is not None and scope["path"] in OAUTH_PATHS:
            await self._authorization(scope, receive, send, headers)
            return
        if scope["path"] in REST_PATHS:  # REST reads: GET, no body
            query = scope.get("query_string", b"").decode("latin-1")
            rest = partial(
                rest_read, self._store, method=scope["method"], path=scope["path"], headers=headers, query=query,
                expected_token=self._token,
            )  # fmt: skip
            await _send(send, await anyio.to_thread.run_sync(rest))
            return
        if is_upload_path(scope["path"]):
            await self._upload(scope, receive, send, headers)
            return
        head = check_head(method=scope["method"], path=scope["path"], headers=headers, expected_token=self._token)
        if isinstance(head, HttpReply):
            await _send(send, head)
            return
        body = await self._body(receive, send)
        if body is None:
            return
        call = partial(handle_body, self._store, headers=headers, body=body, token=head)
        await _send(send, await anyio.to_thread.run_sync(call))

    async def _body(self, receive: Receive, send: Send, limit: int = MAX_BODY_BYTES) -> bytes | None:
        """The request's body; None when there is nothing to answer with it (a client gone, or one too slow to send
        it, which has been answered 408 here)."""
        try:
            with anyio.fail_after(self._body_timeout):
                return await _read_body(receive, limit)
        except TimeoutError:
            await _send(send, too_slow())
            return None

    async def _upload(self, scope: Scope, receive: Receive, send: Send, headers: dict[str, str]) -> None:
        """Uploads take bodies past the Sync endpoint's 1 MiB: the token is checked before the body is read."""
        refused = check_upload_head(
            method=scope["method"], path=scope["path"], headers=headers, expected_token=self._token
        )
        if refused is not None:
            await _send(send, refused)
            return
        body = await self._body(receive, send, MAX_UPLOAD_BODY_BYTES)
        if body is None:
            return
        scheme = scope.get("scheme", "http")
        host = headers.get("host") or "{}:{}".format(*scope.get("server") or ("127.0.0.1", 80))
        query = scope.get("query_string", b"").decode("latin-1")
        call = partial(
            handle_upload, self._store, method=scope["method"], path=scope["path"], headers=headers, body=body,
            query=query, origin=f"{scheme}://{host}", expected_token=self._token,
        )  # fmt: skip
        await _send(send, await anyio.to_thread.run_sync(call))

    async def _authorization(self, scope: Scope, receive: Receive, send: Send, headers: dict[str, str]) -> None:
        assert self._oauth is not None
        body = await self._body(receive, send)
        if body is None:
            return
        query = scope.get("query_string", b"").decode("latin-1")
        # In memory and quick: answered on the event loop, which also keeps the stand-in's state single-threaded.
        reply = self._oauth.handle(scope["method"], scope["path"], headers, query, body)
        await _send(send, HttpReply(reply.status, reply.headers, reply.content))


async def _read_body(receive: Receive, limit: int = MAX_BODY_BYTES) -> bytes | None:
    """The body, cut just past the limit (enough to say it is too big); None if the client went away."""
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        body += message.get("body", b"")
        if len(body) > limit + 1:
            del body[limit + 1 :]
        if not message.get("more_body", False):
            return bytes(body)


async def _send(send: Send, reply: HttpReply) -> None:
    raw_headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in reply.headers.items()]
    await send({"type": "http.response.start", "status": reply.status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": reply.content})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message: Message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


class _TimedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for the first request's headers.

    uvicorn arms its keep-alive timer only after a response, so a connection that opens and never completes its
    headers (half-open, or a byte at a time) would stay forever.
    """

    header_timeout = HEADER_TIMEOUT_SECONDS
    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._header_timer = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._header_timer is not None and self.conn.their_state is not h11.IDLE:  # the headers are complete
            self._header_timer.cancel()
            self._header_timer = None

    def connection_lost(self, exc: Exception | None) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None
        super().connection_lost(exc)

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            self.transport.close()


def build_app(
    store: SyncStore,
    token: str | None,
    *,
    body_timeout: float = BODY_TIMEOUT_SECONDS,
    oauth: AuthorizationServer | None = None,
    accounts: Sequence[LocalAccount] = (),
) -> SyncApp:
    """``oauth`` given: the app also serves the stand-in authorization server, and the Sync endpoint takes the access
    tokens it issues besides ``token``; the tokens of the store's other ``accounts`` are taken too."""
    others = frozenset(a.token for a in accounts)
    expected: Expected
    if oauth is not None:
        expected = TokenGate(token, oauth, others)
    elif others and token is not None:
        expected = others | {token}
    else:
        expected = token
    return SyncApp(store, expected, body_timeout=body_timeout, oauth=oauth)


def server_config(app: SyncApp, *, host: str, port: int, header_timeout: float = HEADER_TIMEOUT_SECONDS) -> Config:
    """uvicorn's settings for local-api: every way a connection can stall has a timeout."""
    protocol = type("TimedH11Protocol", (_TimedH11Protocol,), {"header_timeout": header_timeout})
    return Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        lifespan="on",
        http=protocol,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        h11_max_incomplete_event_size=MAX_HEADER_BYTES,
    )


def serve(
    *,
    host: str,
    port: int,
    db_path: str,
    token: str,
    synchronous: Literal["NORMAL", "FULL"] = "NORMAL",
    timezone: str | None = None,
    start_day: int | None = None,
    accounts: Sequence[LocalAccount] = (),
) -> None:
    """``timezone``/``start_day`` None keep the database's settings (a new one: the machine's zone, Monday);
    ``accounts`` are the store's accounts besides ``token``'s (ValueError for two with one email)."""
    import uvicorn

    store = SyncStore(
        db_path,
        synchronous=synchronous,
        user_timezone=timezone,
        start_day=start_day,
        new_account_timezone=machine_timezone(),
        accounts=accounts,
    )
    try:
        print(  # noqa: T201 - the one line a user starting the server needs
            f"local Sync API on http://{host}:{port}/api/v1/sync (database {db_path})", file=sys.stderr
        )
        bracketed = f"[{host}]" if ":" in host else host
        oauth = AuthorizationServer(f"http://{bracketed}:{port}")
        app = build_app(store, token, oauth=oauth, accounts=accounts)
        uvicorn.Server(server_config(app, host=host, port=port)).run()
    finally:
        store.close()
