"""An httpx transport that answers Sync requests from a local store in this process: the same seam a real network
request goes through, so the client under test is the client in production."""

from __future__ import annotations

from functools import partial

import anyio.to_thread
import httpx

from tools_server.local.protocol import Expected, handle_http
from tools_server.local.store import SyncStore


class LocalTransport(httpx.AsyncBaseTransport):
    def __init__(self, store: SyncStore, *, expected_token: Expected = None) -> None:
        self._store = store
        self._expected_token = expected_token

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        headers = {name.lower(): value for name, value in request.headers.items()}
        call = partial(
            handle_http,
            self._store,
            method=request.method,
            path=request.url.path,
            headers=headers,
            body=body,
            expected_token=self._expected_token,
            query=request.url.query.decode("ascii", "replace"),
            origin=f"{request.url.scheme}://{request.url.netloc.decode('ascii')}",
        )
        # SQLite work happens off the event loop; if the caller is cancelled the thread still finishes (and commits),
        # exactly like a server that received the request before the client gave up.
        reply = await anyio.to_thread.run_sync(call)
        return httpx.Response(reply.status, headers=reply.headers, content=reply.content, request=request)
