"""``tools-server local-api``: the local store as a Todoist-compatible HTTP endpoint (POST /api/v1/sync)."""

from __future__ import annotations

import sys
from functools import partial
from typing import Literal

import anyio.to_thread
from starlette.types import Message, Receive, Scope, Send

from tools_server.local.args import MAX_BODY_BYTES
from tools_server.local.protocol import HttpReply, handle_http
from tools_server.local.store import SyncStore


class SyncApp:
    """A bare ASGI app: one endpoint needs no router, and reading the body ourselves lets us stop at 1 MiB."""

    def __init__(self, store: SyncStore, token: str | None) -> None:
        self._store = store
        self._token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        body = bytearray()
        too_big = False
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > MAX_BODY_BYTES + 1:
                too_big = True
                del body[MAX_BODY_BYTES + 1 :]
            if not message.get("more_body", False):
                break
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        call = partial(
            handle_http,
            self._store,
            method=scope["method"],
            path=scope["path"],
            headers=headers,
            body=bytes(body) if not too_big else bytes(MAX_BODY_BYTES + 1),
            expected_token=self._token,
            query=scope.get("query_string", b"").decode("latin-1"),
        )
        reply: HttpReply = await anyio.to_thread.run_sync(call)
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


def build_app(store: SyncStore, token: str | None) -> SyncApp:
    return SyncApp(store, token)


def serve(
    *,
    host: str,
    port: int,
    db_path: str,
    token: str,
    synchronous: Literal["NORMAL", "FULL"] = "NORMAL",
    timezone: str | None = None,
    start_day: int | None = None,
) -> None:
    """``timezone``/``start_day`` None keep the database's settings (a new one: UTC, Monday)."""
    import uvicorn

    store = SyncStore(db_path, synchronous=synchronous, user_timezone=timezone, start_day=start_day)
    try:
        print(  # noqa: T201 - the one line a user starting the server needs
            f"local Sync API on http://{host}:{port}/api/v1/sync (database {db_path})", file=sys.stderr
        )
        uvicorn.run(build_app(store, token), host=host, port=port, log_level="warning", lifespan="on")
    finally:
        store.close()
