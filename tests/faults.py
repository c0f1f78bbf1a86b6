"""A fault-injecting transport over a real backend, driven by a seeded random stream (test code only).

Faults that happen after the backend committed (a lost response, a read timeout) are what make retries dangerous:
only uuid deduplication keeps them from applying a command twice.
"""

from __future__ import annotations

import random
from collections import Counter
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


@dataclass
class FaultyTransport(httpx.AsyncBaseTransport):
    inner: httpx.AsyncBaseTransport
    rates: FaultRates
    seed: int = 0
    injected: Counter[str] = field(default_factory=Counter[str])
    _random: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        roll = self._random.random()
        rates = self.rates
        edges = [rates.lost_response, rates.rate_limited, rates.server_error, rates.timeout]
        threshold = 0.0
        kind = "none"
        for name, rate in zip(("lost", "429", "5xx", "timeout"), edges, strict=True):
            threshold += rate
            if roll < threshold:
                kind = name
                break
        self.injected[kind] += 1
        if kind == "429":
            return httpx.Response(429, headers={"Retry-After": "2"}, content=LIMITS_REACHED)
        if kind == "5xx":
            status = self._random.choice((500, 503))
            return httpx.Response(status, content=b'{"error":"Service unavailable","http_code":503}')
        if kind == "timeout" and self._random.random() < 0.5:
            raise httpx.ConnectTimeout("injected connect timeout", request=request)
        response = await self.inner.handle_async_request(request)
        await response.aread()
        if kind == "lost":
            raise httpx.ReadError("injected: connection dropped after the backend committed", request=request)
        if kind == "timeout":
            raise httpx.ReadTimeout("injected: read timeout after the backend committed", request=request)
        return response
