"""Real-shaped Sync API v1 responses (tests/data/sync_v1), served to the client by an ``httpx.MockTransport``.

The files are written from the documented examples and the SDK's schemas in the fidelity reference (§2): the full
user object with ``tz_info`` and no top-level ``timezone``, projects with ``is_shared``/``can_assign_tasks``, sections
with ``description``, ``label.item_order: null``, dues of every kind with ``lang: null``, durations in hours and with
fractional amounts, numeric user ids, and resources this client does not read. The local backend cannot produce
these values, which is why a scripted transport serves them.

The transport answers like a Sync endpoint that ran every command: each command's uuid gets ``"ok"`` and each
temp_id a fresh id, in the body of ``write.json`` (which also carries objects the write did not create).
"""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from mcp import Client

from tests.support import FixedClock
from tools_server.cli.backends import backend_over
from tools_server.server import build_server

DATA = Path(__file__).parent / "data" / "sync_v1"
URL = "https://api.todoist.invalid/api/v1/sync"


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / f"{name}.json").read_text())
    return data


def full_sync(timezone: str | None = None) -> dict[str, Any]:
    """The full-sync corpus, with the user's ``tz_info.timezone`` replaced when ``timezone`` is given."""
    data = load("full_sync")
    if timezone is not None:
        data["user"]["tz_info"]["timezone"] = timezone
    return data


def clean_full_sync(timezone: str = "Europe/Madrid", *, legacy_timezone: bool = True) -> dict[str, Any]:
    """The full sync with every value an older client choked on replaced by a conventional one (``lang`` "en",
    minutes, integer amounts, string ids, ``item_order`` 0, and a top-level ``user.timezone`` unless
    ``legacy_timezone`` is False): the baseline into which a test puts back exactly one real-world value."""
    data = full_sync(timezone)
    if legacy_timezone:
        data["user"]["timezone"] = timezone
    for item in data["items"]:
        for key in ("user_id", "added_by_uid"):
            if item.get(key) is not None:
                item[key] = str(item[key])
        if item["due"] is not None and item["due"].get("lang") is None:
            item["due"]["lang"] = "en"
        if item["deadline"] is not None and item["deadline"].get("lang") is None:
            item["deadline"]["lang"] = "en"
        duration = item["duration"]
        if duration is not None and duration["unit"] not in ("minute", "day"):
            item["duration"] = {"amount": 90, "unit": "minute"}
        elif duration is not None:
            duration["amount"] = int(duration["amount"])
    for label in data["labels"]:
        label["item_order"] = label.get("item_order") or 0
    return data


def item_of(data: dict[str, Any], item_id: str) -> dict[str, Any]:
    found: dict[str, Any] = next(i for i in data["items"] if i["id"] == item_id)
    return found


@dataclass
class CorpusServer:
    """Serves the corpus: a full sync for ``sync_token: "*"``, the incremental file once, then empty deltas."""

    full: dict[str, Any] = field(default_factory=full_sync)
    incremental: dict[str, Any] | None = field(default_factory=lambda: load("incremental"))
    write: dict[str, Any] = field(default_factory=lambda: load("write"))
    requests: list[dict[str, Any]] = field(default_factory=list[dict[str, Any]])
    # The next this-many write replies carry no sync_status (as when a proxy truncates it): nothing is confirmed.
    unconfirmed_writes: int = 0
    _ids: int = 0

    def commands(self) -> list[dict[str, Any]]:
        return [c for body in self.requests for c in body.get("commands", [])]

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET":  # a completed-tasks read (a deletion counts completed subtasks): none here
            return httpx.Response(200, json={"items": [], "next_cursor": None})
        body: dict[str, Any] = json.loads(request.content)
        self.requests.append(body)
        reply: dict[str, Any]
        if body.get("sync_token") == "*":
            reply = copy.deepcopy(self.full)
        elif self.incremental is not None:
            reply, self.incremental = self.incremental, None
        else:
            reply = {"sync_token": body.get("sync_token"), "full_sync": False}
        commands: list[dict[str, Any]] = body.get("commands", [])
        if commands:
            write = copy.deepcopy(self.write)
            reply["sync_token"] = write["sync_token"]
            reply["sync_status"] = {c["uuid"]: "ok" for c in commands} if not self.unconfirmed_writes else {}
            self.unconfirmed_writes = max(0, self.unconfirmed_writes - 1)
            reply["temp_id_mapping"] = {c["temp_id"]: self._new_id() for c in commands if c.get("temp_id")}
            for key in ("items", "labels", "projects", "sections"):
                if key in write:
                    reply[key] = [*reply.get(key, []), *write[key]]
        return httpx.Response(200, json=reply)

    def _new_id(self) -> str:
        self._ids += 1
        return f"6X8a{self._ids:012d}"


@asynccontextmanager
async def corpus_client(corpus: CorpusServer, clock: FixedClock | None = None) -> AsyncGenerator[Client]:
    """An in-process MCP client whose server talks to ``corpus`` as if it were Todoist."""
    clock = clock or FixedClock()
    async with httpx.AsyncClient(transport=httpx.MockTransport(corpus.handle)) as http:
        backend = backend_over(http, kind="todoist", url=URL, token="0123456789abcdef0123456789abcdef01234567")
        async with Client(build_server(backend, clock=clock.as_clock()), raise_exceptions=True) as client:
            yield client
