"""SyncClient against scripted HTTP faults: retries, classification, limits, and never leaking the token.

These faults (429 with Retry-After, 5xx, timeouts, malformed bodies) are ones the local backend cannot produce, so
each test scripts the transport with ``httpx.MockTransport``. Sleeps are recorded, never slept.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tools_server.sync.batch import encode_request
from tools_server.sync.client import (
    BackendUnavailable,
    RateLimited,
    RequestRejected,
    RetryPolicy,
    SyncClient,
    SyncFailure,
    TokenRejected,
)
from tools_server.sync.commands import (
    COMMAND_ADAPTER,
    MAX_BODY_BYTES,
    MAX_COMMANDS_PER_REQUEST,
    Command,
    DueInput,
    ItemAdd,
    ItemAddArgs,
    ItemClose,
    ItemComplete,
    ItemCompleteArgs,
    ItemIdArgs,
    ItemMove,
    ItemMoveArgs,
    ItemUpdate,
    ItemUpdateArgs,
    ProjectAdd,
    ProjectAddArgs,
    SectionAdd,
    SectionAddArgs,
)

URL = "http://sync.test/api/v1/sync"
TOKEN = "test-token-0123456789"
CANARY = "CANARY-SECRET-123"

OK_BODY = b'{"sync_token":"tok-2","full_sync":false,"sync_status":{"u1":"ok","u2":"ok"},"temp_id_mapping":{"t1":"id1"}}'
LIMITS_REACHED = (
    b'{"error":"Too many requests. Limits reached. Try again later","error_code":35,'
    b'"error_extra":{"event_id":"x","retry_after":3},"error_tag":"LIMITS_REACHED","http_code":429}'
)
INVALID_TOKEN = (
    b'{"error":"Invalid token","error_code":401,"error_extra":{},"error_tag":"AUTH_INVALID_TOKEN","http_code":403}'
)
BAD_SYNC_TOKEN = (
    b'{"error":"Invalid argument value","error_code":20,"error_tag":"INVALID_ARGUMENT_VALUE","http_code":400,'
    b'"error_extra":{"argument":"sync_token","explanation":"unknown sync token"}}'
)

# One scripted step: a reply (status, headers, body), or a transport error class to raise.
Reply = tuple[int, dict[str, str], bytes]
Step = Reply | type[httpx.TransportError]


class Script:
    """A MockTransport handler that plays ``steps`` in order, repeating the last one, and records every request."""

    def __init__(self, *steps: Step) -> None:
        assert steps
        self.steps = steps
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        step = self.steps[min(len(self.requests), len(self.steps) - 1)]
        self.requests.append(request)
        if isinstance(step, tuple):
            status, headers, body = step
            return httpx.Response(status, headers=headers, content=body)
        raise step(f"injected {step.__name__}", request=request)

    @property
    def bodies(self) -> list[bytes]:
        return [request.content for request in self.requests]


class Harness:
    """A client over a script, with a recording sleep and rand fixed at 0.5 (no jitter)."""

    def __init__(self, *steps: Step, token: str = TOKEN, policy: RetryPolicy | None = None) -> None:
        self.script = Script(*steps)
        self.delays: list[float] = []
        self.http = httpx.AsyncClient(transport=httpx.MockTransport(self.script))
        self.client = SyncClient(
            self.http, url=URL, token=token, policy=policy or RetryPolicy(), sleep=self._sleep, rand=lambda: 0.5
        )

    async def _sleep(self, seconds: float) -> None:
        self.delays.append(seconds)

    async def sync(self, commands: Sequence[Command] = (), **kwargs: Any) -> Any:
        async with self.http:
            return await self.client.sync(commands=commands, **kwargs)

    async def fail(self, commands: Sequence[Command] = (), **kwargs: Any) -> SyncFailure:
        with pytest.raises(SyncFailure) as info:
            await self.sync(commands, **kwargs)
        return info.value


def commands(count: int = 2) -> list[Command]:
    return [ItemClose(uuid=f"u{i + 1}", args=ItemIdArgs(id=f"item{i + 1}")) for i in range(count)]


def ok(body: bytes = OK_BODY) -> Reply:
    return (200, {"content-type": "application/json"}, body)


def reply(status: int, body: bytes = b"", **headers: str) -> Reply:
    return (status, {k.replace("_", "-"): v for k, v in headers.items()}, body)


# ---------------------------------------------------------------------------------------------------------------------
# Rate limiting


@pytest.mark.anyio
async def test_429_with_retry_after_header_then_success_resends_identical_body() -> None:
    h = Harness(reply(429, LIMITS_REACHED, Retry_After="7"), ok())
    response = await h.sync(commands())
    assert response.sync_token == "tok-2"
    assert response.sync_status == {"u1": "ok", "u2": "ok"}
    assert response.temp_id_mapping == {"t1": "id1"}
    assert h.delays == [7.0]  # the header wins over the body's retry_after of 3
    assert len(h.script.requests) == 2
    assert h.script.bodies[0] == h.script.bodies[1]
    assert h.client.requests_sent == 2
    assert h.client.retries == 1


@pytest.mark.anyio
async def test_429_without_header_uses_body_retry_after() -> None:
    h = Harness(reply(429, LIMITS_REACHED), ok())
    await h.sync(commands())
    assert h.delays == [3.0]


@pytest.mark.anyio
async def test_429_without_any_hint_backs_off() -> None:
    h = Harness(reply(429, b"slow down"), reply(429, b"slow down"), ok())
    await h.sync(commands())
    assert h.delays == [0.5, 1.0]


@pytest.mark.anyio
async def test_429_asking_for_too_long_a_wait_fails_at_once() -> None:
    h = Harness(reply(429, LIMITS_REACHED, Retry_After="3600"), ok())
    exc = await h.fail(commands())
    assert isinstance(exc, RateLimited)
    assert exc.retry_after == 3600.0
    assert exc.retryable
    assert exc.unconfirmed_uuids == ()  # a 429 executed nothing
    assert "3600" in str(exc)
    assert h.delays == []
    assert len(h.script.requests) == 1


@pytest.mark.anyio
async def test_429_until_attempts_are_exhausted() -> None:
    h = Harness(reply(429, LIMITS_REACHED, Retry_After="1"))
    exc = await h.fail(commands())
    assert isinstance(exc, RateLimited)
    assert exc.retry_after == 1.0
    assert exc.unconfirmed_uuids == ()
    assert h.delays == [1.0] * 4
    assert len(h.script.requests) == 5


@pytest.mark.anyio
async def test_unparseable_retry_after_header_falls_back_to_body() -> None:
    h = Harness(reply(429, LIMITS_REACHED, Retry_After="Wed, 21 Oct 2015 07:28:00 GMT"), ok())
    await h.sync(commands())
    assert h.delays == [3.0]


# ---------------------------------------------------------------------------------------------------------------------
# Server errors and transport errors


@pytest.mark.anyio
async def test_503_twice_then_success_with_identical_bodies() -> None:
    h = Harness(reply(503), reply(503), ok())
    response = await h.sync(commands())
    assert response.sync_token == "tok-2"
    assert len(h.script.requests) == 3
    assert len(set(h.script.bodies)) == 1
    assert h.delays == [0.5, 1.0]
    assert h.client.retries == 2


@pytest.mark.anyio
async def test_5xx_retry_after_is_capped_at_max_delay() -> None:
    service_unavailable = b'{"error_tag":"SERVICE_UNAVAILABLE","error_code":40,"error_extra":{"retry_after":60}}'
    h = Harness(reply(503, service_unavailable), reply(500, Retry_After="2"), ok())
    await h.sync(commands())
    assert h.delays == [8.0, 2.0]


@pytest.mark.anyio
async def test_read_timeouts_then_success() -> None:
    h = Harness(httpx.ReadTimeout, httpx.ReadTimeout, httpx.ReadTimeout, ok())
    response = await h.sync(commands())
    assert response.sync_token == "tok-2"
    assert len(h.script.requests) == 4
    assert len(set(h.script.bodies)) == 1
    assert h.delays == [0.5, 1.0, 2.0]


@pytest.mark.anyio
async def test_connect_errors_exhaust_attempts_with_nothing_unconfirmed() -> None:
    policy = RetryPolicy()
    h = Harness(httpx.ConnectError, policy=policy)
    exc = await h.fail(commands())
    assert isinstance(exc, BackendUnavailable)
    assert exc.retryable
    assert exc.unconfirmed_uuids == ()  # the connection never opened, so nothing can have run
    assert len(h.script.requests) == policy.max_attempts
    assert len(h.delays) == policy.max_attempts - 1
    assert h.client.requests_sent == policy.max_attempts


@pytest.mark.anyio
async def test_read_timeout_forever_leaves_commands_unconfirmed() -> None:
    h = Harness(httpx.ConnectTimeout, httpx.ReadTimeout, httpx.ConnectError)
    exc = await h.fail(commands())
    assert isinstance(exc, BackendUnavailable)
    # Only the second attempt might have reached the backend, and that is enough.
    assert exc.unconfirmed_uuids == ("u1", "u2")


@pytest.mark.anyio
async def test_502_forever_leaves_sent_uuids_unconfirmed() -> None:
    h = Harness(reply(502, b"<html>Bad Gateway</html>"))
    exc = await h.fail(commands(3))
    assert isinstance(exc, BackendUnavailable)
    assert exc.retryable
    assert exc.unconfirmed_uuids == ("u1", "u2", "u3")
    assert "HTTP 502" in str(exc)
    assert h.delays == [0.5, 1.0, 2.0, 4.0]


@pytest.mark.anyio
async def test_max_attempts_one_never_retries() -> None:
    h = Harness(reply(503), ok(), policy=RetryPolicy(max_attempts=1))
    exc = await h.fail(commands())
    assert isinstance(exc, BackendUnavailable)
    assert h.delays == []
    assert len(h.script.requests) == 1


@pytest.mark.anyio
async def test_malformed_200_is_backend_unavailable_and_unconfirmed() -> None:
    h = Harness(ok(b"<html>not the sync api</html>"))
    exc = await h.fail(commands())
    assert isinstance(exc, BackendUnavailable)
    assert exc.retryable
    assert exc.unconfirmed_uuids == ("u1", "u2")
    assert "malformed response" in str(exc)
    assert len(h.script.requests) == 1


@pytest.mark.anyio
async def test_200_json_without_sync_token_is_malformed() -> None:
    h = Harness(ok(b'{"full_sync":true}'))
    exc = await h.fail(commands())
    assert isinstance(exc, BackendUnavailable)
    assert "sync_token" in str(exc)


# ---------------------------------------------------------------------------------------------------------------------
# Permanent rejections


@pytest.mark.anyio
async def test_403_invalid_token_is_rejected_without_retry() -> None:
    h = Harness(reply(403, INVALID_TOKEN), ok())
    exc = await h.fail(commands())
    assert isinstance(exc, TokenRejected)
    assert not exc.retryable
    assert exc.unconfirmed_uuids == ()
    assert exc.error.error_tag == "AUTH_INVALID_TOKEN"
    assert "HTTP 403 AUTH_INVALID_TOKEN" in str(exc)
    assert "TODOIST_API_TOKEN" in str(exc)
    assert len(h.script.requests) == 1
    assert h.delays == []


@pytest.mark.anyio
async def test_401_without_body_is_token_rejected() -> None:
    h = Harness(reply(401))
    exc = await h.fail()
    assert isinstance(exc, TokenRejected)
    assert exc.error.http_code == 401


@pytest.mark.anyio
async def test_400_invalid_sync_token_is_request_rejected() -> None:
    h = Harness(reply(400, BAD_SYNC_TOKEN), ok())
    exc = await h.fail(commands(), sync_token="stale")
    assert isinstance(exc, RequestRejected)
    assert not exc.retryable
    assert exc.unconfirmed_uuids == ()
    assert exc.error.error_extra["argument"] == "sync_token"
    assert "HTTP 400 INVALID_ARGUMENT_VALUE: Invalid argument value; argument=sync_token" in str(exc)
    assert len(h.script.requests) == 1
    assert h.delays == []


@pytest.mark.anyio
async def test_a_non_json_rejection_names_its_status_and_never_quotes_its_body() -> None:
    h = Harness(reply(413, b"<html><body><h1>nginx says the body is too big</h1></body></html>"))
    exc = await h.fail(commands())
    assert isinstance(exc, RequestRejected)
    assert exc.error.error == "Request Entity Too Large"
    assert exc.error.http_code == 413
    assert str(exc) == "Sync request rejected (HTTP 413: Request Entity Too Large)"


@pytest.mark.anyio
async def test_empty_rejection_uses_reason_phrase() -> None:
    h = Harness(reply(404))
    exc = await h.fail()
    assert isinstance(exc, RequestRejected)
    assert exc.error.error == "Not Found"


@pytest.mark.anyio
async def test_rejection_after_a_server_error_keeps_commands_unconfirmed() -> None:
    # The 503 may have come after the backend ran the commands; the later 403 says nothing about that attempt.
    h = Harness(reply(503), reply(403, INVALID_TOKEN))
    exc = await h.fail(commands())
    assert isinstance(exc, TokenRejected)
    assert exc.unconfirmed_uuids == ("u1", "u2")


# ---------------------------------------------------------------------------------------------------------------------
# The token never leaks


def _echo(body: bytes) -> bytes:
    return body.replace(b"Invalid", b"Invalid " + CANARY.encode())


CANARY_CASES: dict[str, tuple[Step, ...]] = {
    "403": (reply(403, _echo(INVALID_TOKEN)),),
    "400": (reply(400, _echo(BAD_SYNC_TOKEN)),),
    "429 exhausted": (reply(429, LIMITS_REACHED, Retry_After="1"),),
    "429 too long": (reply(429, LIMITS_REACHED, Retry_After="999"),),
    "5xx exhausted": (reply(503, f"upstream said {CANARY}".encode()),),
    "other 5xx": (reply(501, f"no {CANARY}".encode()),),
    "transport": (httpx.ReadError,),
    "malformed 200": (ok(f'{{"sync_token": 5, "echo": "{CANARY}"}}'.encode()),),
    "not json 200": (ok(CANARY.encode()),),
}


@pytest.mark.anyio
@pytest.mark.parametrize("case", list(CANARY_CASES))
async def test_token_never_appears_in_errors_reprs_or_logs(case: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="httpx")
    h = Harness(*CANARY_CASES[case], token=CANARY)
    exc = await h.fail(commands())
    assert h.script.requests[0].headers["authorization"] == f"Bearer {CANARY}"  # it was really sent
    texts = [str(exc), repr(exc), repr(h.client), caplog.text]
    texts += [record.getMessage() for record in caplog.records]
    texts += [repr(record.args) for record in caplog.records]
    for text in texts:
        assert CANARY not in text


@pytest.mark.anyio
async def test_transport_error_text_is_redacted(caplog: pytest.LogCaptureFixture) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout(f"timed out with {CANARY} in the message", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:

        async def sleep(_seconds: float) -> None:
            return None

        client = SyncClient(http, url=URL, token=CANARY, sleep=sleep, rand=lambda: 0.5)
        with pytest.raises(BackendUnavailable) as info:
            await client.sync(commands=commands())
    assert CANARY not in str(info.value)
    assert "[redacted]" in str(info.value)
    assert CANARY not in caplog.text


@pytest.mark.anyio
async def test_retries_are_logged_as_warnings(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    h = Harness(reply(503), httpx.ReadTimeout, ok())
    await h.sync(commands())
    warnings = [r.getMessage() for r in caplog.records if r.name == "tools_server.sync.client"]
    assert warnings == [
        "Sync request failed (HTTP 503) on attempt 1 of 5; retrying in 0.50s",
        "Sync request failed (ReadTimeout) on attempt 2 of 5; retrying in 1.00s",
    ]
    assert all(r.levelno == logging.WARNING for r in caplog.records if r.name == "tools_server.sync.client")


# ---------------------------------------------------------------------------------------------------------------------
# Request validation and shape


@pytest.mark.anyio
async def test_too_many_commands_is_refused_before_sending() -> None:
    h = Harness(ok())
    with pytest.raises(ValueError, match="101 commands"):
        await h.sync(commands(MAX_COMMANDS_PER_REQUEST + 1))
    assert h.script.requests == []
    assert h.client.requests_sent == 0


@pytest.mark.anyio
async def test_exactly_max_commands_is_sent() -> None:
    h = Harness(ok())
    await h.sync(commands(MAX_COMMANDS_PER_REQUEST))
    assert len(h.script.requests) == 1


@pytest.mark.anyio
async def test_oversized_body_is_refused_before_sending() -> None:
    huge = ItemAdd(uuid="u1", args=ItemAddArgs(content="x" * MAX_BODY_BYTES))
    h = Harness(ok())
    with pytest.raises(ValueError, match="bytes"):
        await h.sync([huge])
    assert h.script.requests == []
    assert h.client.requests_sent == 0


@pytest.mark.anyio
async def test_duplicate_uuids_are_refused_before_sending() -> None:
    twins: list[Command] = [
        ItemClose(uuid="same", args=ItemIdArgs(id="a")),
        ItemClose(uuid="same", args=ItemIdArgs(id="b")),
    ]
    h = Harness(ok())
    with pytest.raises(ValueError, match="same"):
        await h.sync(twins)
    assert h.script.requests == []


@pytest.mark.anyio
async def test_string_resource_types_is_a_type_error() -> None:
    h = Harness(ok())
    with pytest.raises(TypeError):
        await h.sync(resource_types="items")
    assert h.script.requests == []


@pytest.mark.anyio
async def test_request_headers_and_body() -> None:
    add = ItemAdd(uuid="u1", temp_id="t1", args=ItemAddArgs(content="Buy milk", priority=4))
    h = Harness(ok())
    await h.sync([add], sync_token="tok-1", resource_types=["items", "projects"])
    (request,) = h.script.requests
    assert request.method == "POST"
    assert str(request.url) == URL
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["content-type"] == "application/json"
    body: dict[str, Any] = json.loads(request.content)
    assert body == {
        "sync_token": "tok-1",
        "resource_types": ["items", "projects"],
        "commands": [
            {"type": "item_add", "uuid": "u1", "temp_id": "t1", "args": {"content": "Buy milk", "priority": 4}}
        ],
    }


@pytest.mark.anyio
async def test_read_only_request_omits_commands_and_empty_resource_types() -> None:
    h = Harness(ok(b'{"sync_token":"tok-9","full_sync":true,"items":[{"id":"a","content":"x"}]}'))
    response = await h.sync()
    assert response.full_sync
    assert response.items is not None and response.items[0].id == "a"
    assert json.loads(h.script.requests[0].content) == {"sync_token": "*"}


def test_client_repr_hides_token() -> None:
    client = SyncClient(httpx.AsyncClient(), url=URL, token=CANARY)
    assert CANARY not in repr(client)
    assert CANARY not in str(client)
    assert URL in repr(client)


# ---------------------------------------------------------------------------------------------------------------------
# RetryPolicy


def test_backoff_doubles_up_to_the_cap() -> None:
    policy = RetryPolicy()
    assert [policy.backoff(attempt, 0.5) for attempt in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]


def test_backoff_jitter_bounds() -> None:
    policy = RetryPolicy()
    assert policy.backoff(1, 0.0) == pytest.approx(0.375)
    assert policy.backoff(1, 1.0) == pytest.approx(0.625)
    assert policy.backoff(6, 0.0) == pytest.approx(6.0)
    assert policy.backoff(6, 1.0) == pytest.approx(10.0)


def test_backoff_is_never_negative_even_with_wild_jitter() -> None:
    assert RetryPolicy(jitter=3.0).backoff(1, 0.0) == 0.0


@given(attempt=st.integers(min_value=1, max_value=10_000), rand=st.floats(min_value=0.0, max_value=1.0))
def test_backoff_stays_within_jittered_cap(attempt: int, rand: float) -> None:
    policy = RetryPolicy()
    delay = policy.backoff(attempt, rand)
    assert 0.0 <= delay <= policy.max_delay * (1 + policy.jitter)
    assert delay >= policy.base_delay * (1 - policy.jitter)


def test_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError):
        RetryPolicy(base_delay=-1.0)


def test_request_body_carries_each_command_kind_in_its_wire_form() -> None:
    """type always, temp_id only when set, args with explicit nulls (they clear fields) but without unset fields."""
    commands: list[Command] = [
        ItemAdd(uuid="u1", temp_id="t1", args=ItemAddArgs(content="a", due=DueInput(string="tomorrow"))),
        ItemUpdate(uuid="u2", temp_id=None, args=ItemUpdateArgs(id="i1", due=None, priority=4)),
        ItemMove(uuid="u3", args=ItemMoveArgs(id="i1", section_id="s1")),
        ItemClose(uuid="u4", args=ItemIdArgs(id="i2")),
        ItemComplete(uuid="u5", args=ItemCompleteArgs(id="i3", completed_at="2026-11-23T10:00:00Z")),
        ProjectAdd(uuid="u6", temp_id="t6", args=ProjectAddArgs(name="P")),
        SectionAdd(uuid="u7", temp_id="t7", args=SectionAddArgs(name="S", project_id="t6")),
        # Built from a wire dict, as a resend or a temp-id rewrite does.
        COMMAND_ADAPTER.validate_python({"type": "item_delete", "uuid": "u8", "args": {"id": "i4"}}),
    ]
    body, uuids = encode_request(commands=commands, sync_token="tok", resource_types=["items"])
    sent = json.loads(body)
    assert sent["sync_token"] == "tok" and sent["resource_types"] == ["items"]
    assert uuids == tuple(f"u{i}" for i in range(1, 9))
    assert sent["commands"] == [
        {"type": "item_add", "uuid": "u1", "temp_id": "t1", "args": {"content": "a", "due": {"string": "tomorrow"}}},
        {"type": "item_update", "uuid": "u2", "args": {"id": "i1", "due": None, "priority": 4}},
        {"type": "item_move", "uuid": "u3", "args": {"id": "i1", "section_id": "s1"}},
        {"type": "item_close", "uuid": "u4", "args": {"id": "i2"}},
        {"type": "item_complete", "uuid": "u5", "args": {"id": "i3", "completed_at": "2026-11-23T10:00:00Z"}},
        {"type": "project_add", "uuid": "u6", "temp_id": "t6", "args": {"name": "P"}},
        {"type": "section_add", "uuid": "u7", "temp_id": "t7", "args": {"name": "S", "project_id": "t6"}},
        {"type": "item_delete", "uuid": "u8", "args": {"id": "i4"}},
    ]
    assert [c.to_wire() for c in commands] == sent["commands"]
    assert b" " not in body.replace(b'"a"', b"")  # compact separators
