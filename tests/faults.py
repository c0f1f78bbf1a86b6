"""A fault-injecting transport over a real backend, driven by a seeded random stream (test code only).

Faults that happen after the backend committed (a lost response, a read timeout) are what make retries dangerous:
only uuid deduplication keeps them from applying a command twice.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

LIMITS_REACHED = (
    b'{"error":"Too many requests. Limits reached. Try again later","error_code":35,'
    b'"error_extra":{"event_id":"x","retry_after":2},"error_tag":"LIMITS_REACHED","http_code":429}'
)


@dataclass
class FaultRates:
    lost_response: float = 0.0  # the backend commits, then the response never arrives
    rate_limited: float = 0.0  # 429 with Retry-After, nothing executed
    server_error: float = 0.0  # 500 or 503, nothing executed
    timeout: float = 0.0  # connect timeout (nothing executed) or read timeout (executed), half each
    long_rate_limit: float = 0.0  # 429 asking for longer than a call's budget (Retry-After 120)
    hang: float = 0.0  # no answer until the client's read timeout (on the injected clock); committed half the time
    truncated: float = 0.0  # the backend commits, the 200's JSON is cut short
    html: float = 0.0  # a proxy answers 200 with an HTML page; nothing reached the backend
    missing_status: float = 0.0  # the backend commits, the 200 leaves out some commands' statuses

    def edges(self) -> list[tuple[str, float]]:
        return [
            ("lost", self.lost_response),
            ("429", self.rate_limited),
            ("5xx", self.server_error),
            ("timeout", self.timeout),
            ("429-long", self.long_rate_limit),
            ("hang", self.hang),
            ("truncated", self.truncated),
            ("html", self.html),
            ("missing-status", self.missing_status),
        ]


@dataclass
class FaultyTransport(httpx.AsyncBaseTransport):
    inner: httpx.AsyncBaseTransport
    rates: FaultRates
    seed: int = 0
    injected: Counter[str] = field(default_factory=Counter[str])
    # Moves the injected clock: a hang lasts the client's read timeout there, never on the wall clock.
    advance: Callable[[float], None] | None = None
    _random: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        roll = self._random.random()
        threshold = 0.0
        kind = "none"
        for name, rate in self.rates.edges():
            threshold += rate
            if roll < threshold:
                kind = name
                break
        self.injected[kind] += 1
        if kind == "429":
            return httpx.Response(429, headers={"Retry-After": "2"}, content=LIMITS_REACHED)
        if kind == "429-long":
            return httpx.Response(429, headers={"Retry-After": "120"}, content=LIMITS_REACHED)
        if kind == "5xx":
            status = self._random.choice((500, 503))
            return httpx.Response(status, content=b'{"error":"Service unavailable","http_code":503}')
        if kind == "html":
            return httpx.Response(200, headers={"content-type": "text/html"}, content=b"<html><body>Hi</body></html>")
        if kind == "timeout" and self._random.random() < 0.5:
            raise httpx.ConnectTimeout("injected connect timeout", request=request)
        commits = kind != "hang" or self._random.random() < 0.5
        if kind == "hang":
            timeout: dict[str, float | None] = request.extensions.get("timeout", {})
            if self.advance is not None:
                self.advance(timeout.get("read") or 30.0)
            if not commits:
                raise httpx.ReadTimeout("injected: no answer (nothing committed)", request=request)
        response = await self.inner.handle_async_request(request)
        content = await response.aread()
        if kind == "hang":
            raise httpx.ReadTimeout("injected: no answer after the backend committed", request=request)
        if kind == "lost":
            raise httpx.ReadError("injected: connection dropped after the backend committed", request=request)
        if kind == "timeout":
            raise httpx.ReadTimeout("injected: read timeout after the backend committed", request=request)
        if kind == "truncated":
            return httpx.Response(
                200, headers={"content-type": "application/json"}, content=content[: len(content) // 2]
            )
        if kind == "missing-status":
            data = json.loads(content)
            statuses: dict[str, object] = data.get("sync_status") or {}
            for uuid in list(statuses)[::3]:
                del statuses[uuid]
            return httpx.Response(200, json=data)
        return httpx.Response(response.status_code, headers=response.headers, content=content)
