"""Errors the model reads: a 403 for a plan limit or permission is not a token problem, per-command limits are normal
failures, prompt mistakes are invalid params, and no backend text carries a token (issue 14, item 7); a page that is
not Todoist's JSON error is named by its status, never quoted (issue 21, item 9)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from mcp import Client, MCPError
from mcp.types import INVALID_PARAMS

from tests.support import FixedClock, connected, harness, structured, text_of
from tools_server.cli.backends import backend_over
from tools_server.server import build_server

pytestmark = pytest.mark.anyio


def limit_error(tag: str = "MAX_ITEMS_LIMIT_REACHED") -> dict[str, Any]:
    return {"error": "Maximum number of items per user project limit reached", "error_code": 49, "error_tag": tag,
            "http_code": 403, "error_extra": {}}  # fmt: skip


def refuse_commands(after: int, body: dict[str, Any]) -> Callable[[httpx.AsyncBaseTransport], httpx.AsyncBaseTransport]:
    """Command requests after the first ``after`` get a 403 with ``body``; reads pass."""

    class Refuse(httpx.AsyncBaseTransport):
        def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
            self.inner, self.seen = inner, 0

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            if json.loads(await request.aread()).get("commands"):
                self.seen += 1
                if self.seen > after:
                    return httpx.Response(403, json=body)
            return await self.inner.handle_async_request(request)

    return Refuse


@pytest.mark.parametrize(
    ("tag", "named"),
    [
        ("MAX_ITEMS_LIMIT_REACHED", "plan limit was reached (max items limit)"),
        ("MAX_SECTIONS_LIMIT_REACHED", "plan limit was reached (max sections limit)"),
        ("PROJECT_FROZEN", "frozen"),
        ("FORBIDDEN", "may not"),
        ("AUTH_INSUFFICIENT_TOKEN_SCOPE", "scope"),
    ],
)
async def test_a_403_for_a_limit_or_permission_names_it_and_is_not_a_token_problem(tag: str, named: str) -> None:
    async with harness(wrap=refuse_commands(0, limit_error(tag))) as h, connected(h) as client:
        reply = await client.call_tool("add_item", {"items": [{"content": "one too many"}]})
        text = text_of(reply)
        assert reply.is_error and tag in text and named in text
        assert "token is fine" in text and "rejected the API token" not in text
        assert h.sleeps == []  # not retried
        again = await client.call_tool("resend_writes", {})
        assert again.is_error and "nothing is pending" in text_of(again)  # nothing ran, nothing kept
        assert await h.active_items() == []


async def test_a_403_limit_on_a_later_chunk_fails_those_tasks_with_the_limit_and_keeps_the_confirmed_ones() -> None:
    async with harness(wrap=refuse_commands(1, limit_error())) as h, connected(h) as client:
        reply = await client.call_tool("add_item", {"items": [{"content": f"t{i}"} for i in range(150)]})
        data = structured(reply)
        assert data["ok"] == 100 and data["failed"] == 50 and data.get("resend") is None
        assert {f["error_tag"] for f in data["failures"]} == {"MAX_ITEMS_LIMIT_REACHED"}
        assert "Maximum number of items" in text_of(reply)
        assert len(await h.active_items()) == 100


async def test_a_per_command_limit_inside_a_200_is_a_normal_failure_with_its_message() -> None:
    class LimitOne(httpx.AsyncBaseTransport):
        def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
            self.inner = inner

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            body = json.loads(await request.aread())
            response = await self.inner.handle_async_request(request)
            data = json.loads(await response.aread())
            if body.get("commands"):
                data["sync_status"][body["commands"][-1]["uuid"]] = limit_error()
            return httpx.Response(200, json=data)

    async with harness(wrap=LimitOne) as h, connected(h) as client:
        reply = await client.call_tool("add_item", {"items": [{"content": "a"}, {"content": "b"}]})
        data = structured(reply)
        assert data["ok"] == 1 and data["failures"][0]["error_tag"] == "MAX_ITEMS_LIMIT_REACHED"
        assert data.get("resend") is None and not reply.is_error
        assert "Maximum number of items per user project limit reached" in text_of(reply)


async def test_prompt_mistakes_are_invalid_params_with_a_message_and_no_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    async with harness() as h, connected(h) as client:
        prompts = (await client.list_prompts()).prompts
        needing = next(p for p in prompts if any(a.required for a in p.arguments or ()))
        with pytest.raises(MCPError) as unknown:
            await client.get_prompt("no_such_prompt", {})
        assert unknown.value.code == INVALID_PARAMS and "no_such_prompt" in unknown.value.error.message
        with pytest.raises(MCPError) as missing:
            await client.get_prompt(needing.name, {})
        assert missing.value.code == INVALID_PARAMS
        required = next(a.name for a in needing.arguments or () if a.required)
        assert required in missing.value.error.message
    assert not [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]


TOKEN = "0123456789abcdef0123456789abcdef01234567"


async def test_backend_text_that_echoes_a_token_is_redacted_everywhere_the_model_reads_it() -> None:
    other = "fedcba9876543210fedcba9876543210fedcba98"

    def answer(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        statuses = {
            c["uuid"]: {"error": f"Invalid token {TOKEN} for Bearer {other}", "error_code": 20,
                        "error_tag": "INVALID_ARGUMENT_VALUE", "http_code": 400,
                        "error_extra": {"argument": "content", "explanation": f"token={other}"}}
            for c in body.get("commands", [])
        }  # fmt: skip
        return httpx.Response(200, json={"sync_token": "t1", "full_sync": True, "sync_status": statuses,
                                         "temp_id_mapping": {}, "items": [], "projects": []})  # fmt: skip

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        clock = FixedClock()

        async def sleep(seconds: float) -> None:
            clock.advance(seconds)

        backend = backend_over(http, kind="todoist", url="https://x.invalid/api/v1/sync", token=TOKEN, sleep=sleep)
        async with Client(build_server(backend, clock=clock.as_clock()), raise_exceptions=True) as client:
            reply = await client.call_tool("add_item", {"items": [{"content": "x"}]})
    everything = text_of(reply) + json.dumps(reply.structured_content)
    assert structured(reply)["failed"] == 1 and "[redacted]" in everything
    assert TOKEN not in everything and other not in everything


PROXY_PAGE = (
    "<!DOCTYPE html><html><head><title>502 Bad Gateway</title><style>body { font-family: sans-serif }</style></head>"
    "<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx/1.25.3</center></body></html>"
)


def answer_every_request(status: int, body: str, content_type: str) -> Callable[[httpx.AsyncBaseTransport], Any]:
    """A proxy in front of the backend that answers every request itself (what the local backend never does)."""

    def wrap(_inner: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        return httpx.MockTransport(lambda _: httpx.Response(status, text=body, headers={"content-type": content_type}))

    return wrap


@pytest.mark.parametrize(
    ("status", "body", "content_type", "named"),
    [
        (502, PROXY_PAGE, "text/html", "HTTP 502: Bad Gateway"),
        (404, "<html><body><h1>Not Found</h1><p>Nothing here.</p></body></html>", "text/html", "HTTP 404: Not Found"),
        (400, "upstream said no; see https://status.example for details", "text/plain", "HTTP 400: Bad Request"),
    ],
    ids=["502-html", "404-html", "400-text"],
)
async def test_a_page_that_is_not_todoists_json_is_never_quoted_to_the_model_only_its_status_is_named(
    status: int, body: str, content_type: str, named: str
) -> None:
    async with harness(wrap=answer_every_request(status, body, content_type)) as h, connected(h) as client:
        for tool, arguments in (("add_item", {"items": [{"content": "x"}]}), ("query_changes", {})):
            reply = await client.call_tool(tool, arguments)
            everything = text_of(reply) + json.dumps(reply.structured_content)
            assert named in everything, everything
            for quoted in ("<", "nginx", "Not Found</", "upstream", "status.example"):
                assert quoted not in everything, everything
