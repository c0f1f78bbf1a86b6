"""The board in a real browser: headless Chromium (Debian's package, driven by Playwright) loads a test host page
that speaks the host side of MCP Apps (postMessage JSON-RPC) and relays the board's tool calls to the real server
over an in-process MCP client against the local store. Assertions read the store; screenshots are artifacts."""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp.client import Client
from mcp.types import TextResourceContents
from playwright.async_api import FrameLocator, Locator, Page, async_playwright, expect

from tests.server.test_board import AppsHost
from tests.support import Harness, harness, structured, text_of
from tools_server.server.board import BOARD_URI

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(os.environ.get("BOARD_ARTIFACTS") or Path(tempfile.gettempdir()) / "tools-server-board")
TODAY, TOMORROW = "2026-11-23", "2026-11-24"  # tests.support's fixed clock
DAYS = [TODAY, TOMORROW, "2026-11-25", "2026-11-26"]

# The host side of MCP Apps, written from the spec: the view asks ui/initialize, says initialized, then gets the tool's
# input and result; its tools/call requests go to window.mcpCall (the Python test's MCP client).
HOST_PAGE = """<!doctype html><html><head><meta charset="utf-8"><style>
html,body{margin:0;height:100%} iframe{border:0;width:100%;height:100vh;display:block}
</style></head><body><script>
window.relayed = [];
window.sizes = [];
window.failNext = 0;  // the host refuses that many tool calls (as a host whose connection dropped would)
const THEMES = {
  light: {"--color-background-primary": "#ffffff", "--color-text-primary": "#1c1917"},
  dark: {"--color-background-primary": "#121212", "--color-background-secondary": "#1e1e1e",
         "--color-text-primary": "#ececec", "--color-text-secondary": "#a0a0a0", "--color-border-primary": "#3a3a3a"},
};
let frame, tool, input, result;
function post(message) { frame.contentWindow.postMessage(message, "*"); }
window.start = (html, name, args, first) => {
  tool = name; input = args; result = first;
  frame = document.createElement("iframe");
  frame.setAttribute("sandbox", "allow-scripts");
  frame.srcdoc = html;
  document.body.append(frame);
};
window.theme = (name) => post({jsonrpc: "2.0", method: "ui/notifications/host-context-changed",
  params: {theme: name, styles: {variables: THEMES[name]}}});
window.sendResult = (next) => {
  window.postedAt = performance.timeOrigin + performance.now();
  post({jsonrpc: "2.0", method: "ui/notifications/tool-result", params: next});
};
window.addEventListener("message", async (event) => {
  if (!frame || event.source !== frame.contentWindow) return;
  const m = event.data;
  if (m.method === "ui/initialize") {
    post({jsonrpc: "2.0", id: m.id, result: {protocolVersion: "2026-01-26", hostInfo: {name: "test-host", version: "1"},
      hostCapabilities: {serverTools: {}}, hostContext: {theme: "light", styles: {variables: THEMES.light},
      displayMode: "inline", toolInfo: {tool: {name: tool}}}}});
  } else if (m.method === "ui/notifications/initialized") {
    post({jsonrpc: "2.0", method: "ui/notifications/tool-input", params: {arguments: input}});
    sendResult(result);
  } else if (m.method === "ui/notifications/size-changed") {
    window.sizes.push(m.params);
  } else if (m.method === "tools/call") {
    window.relayed.push([m.params.name, m.params.arguments]);
    if (window.failNext > 0) {
      window.failNext--;
      post({jsonrpc: "2.0", id: m.id, error: {code: -32603, message: "connection lost"}});
      return;
    }
    try {
      post({jsonrpc: "2.0", id: m.id, result: await window.mcpCall(m.params.name, m.params.arguments)});
    } catch (err) {
      post({jsonrpc: "2.0", id: m.id, error: {code: -32603, message: String(err)}});
    }
  }
});
</script></body></html>"""


@dataclass
class Board:
    h: Harness
    client: Client
    page: Page
    frame: FrameLocator
    requests: list[str] = field(default_factory=list[str])

    async def settled(self, calls: int) -> None:
        """Wait (by polling the page, no sleep) until the board has sent ``calls`` tool calls and refreshed."""
        body = self.frame.locator("body")
        await expect(body).to_have_attribute("data-sent", str(calls))
        await expect(body).to_have_attribute("data-busy", "0")

    async def relayed(self) -> list[list[Any]]:
        calls: list[list[Any]] = await self.page.evaluate("window.relayed")
        return calls

    def task(self, content: str) -> Locator:
        return self.frame.locator("li.task", has_text=content)

    async def items(self) -> dict[str, dict[str, Any]]:
        return {i["content"]: i for i in await self.h.active_items()}

    async def writes(self) -> list[dict[str, Any]]:
        return [b for b in self.h.transport.bodies if b.get("commands")]


def _result_json(result: Any) -> dict[str, Any]:
    data: dict[str, Any] = result.model_dump(mode="json", by_alias=True, exclude_none=True)
    return data


@asynccontextmanager
async def board(
    items: list[dict[str, Any]], width: int = 1100, *, tool: str = "find_items", projects: list[str] | None = None
) -> AsyncGenerator[Board]:
    async with harness() as h, Client(h.server(), raise_exceptions=True, extensions=[AppsHost()]) as client:
        new = [{"name": name} for name in projects or []]
        added = await client.call_tool("add_item", {"items": items, "new_projects": new})
        assert structured(added)["failed"] == 0, text_of(added)
        [resource] = (await client.read_resource(BOARD_URI)).contents
        assert isinstance(resource, TextResourceContents)
        args: dict[str, Any] = {"filter": "all", "limit": 100} if tool == "find_items" else {"limit": 100}
        first = await client.call_tool(tool, args)
        h.transport.reset()

        async def relay(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
            return _result_json(await client.call_tool(name, arguments))

        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            try:
                page = await browser.new_page(viewport={"width": width, "height": 900})
                shown = Board(h, client, page, page.frame_locator("iframe"))
                page.on("request", lambda r: shown.requests.append(r.url))
                # Playwright types the callback as a bare Callable: its own signature is partly unknown to pyright.
                await page.expose_function("mcpCall", relay)  # pyright: ignore[reportUnknownMemberType]
                await page.set_content(HOST_PAGE)
                await page.evaluate(
                    "([html, name, args, result]) => start(html, name, args, result)",
                    [resource.text, tool, args, _result_json(first)],
                )
                await expect(shown.frame.locator("body")).to_have_attribute("data-rendered", "1")
                yield shown
            finally:
                await browser.close()


async def _painted_after_post(b: Board) -> float:
    """Milliseconds from the host posting the result to the board's second frame after rendering it."""
    posted: float = await b.page.evaluate("window.postedAt")
    painted = float(await b.frame.locator("body").get_attribute("data-painted-at") or "nan")
    return painted - posted


def _thirty() -> list[dict[str, Any]]:
    """30 tasks over 4 days: priorities, labels, a recurring one and a subtask."""
    tasks: list[dict[str, Any]] = []
    for n in range(28):
        day = DAYS[n % 4]
        task: dict[str, Any] = {"content": f"Task {n:02d}", "due_date": day}
        if n % 5 == 0:
            task["priority"] = 4 - n % 3
        if n % 7 == 0:
            task["labels"] = ["errand"]
        tasks.append(task)
    tasks[3] = {"content": "Water plants", "due": "every day"}
    tasks.append(
        {"content": "Plan trip", "due_date": TOMORROW, "subtasks": [{"content": "Book hotel", "due_date": TOMORROW}]}
    )
    return tasks


async def test_thirty_tasks_over_four_days_render_by_day_with_their_details_and_no_network() -> None:
    await anyio.Path(ARTIFACTS).mkdir(parents=True, exist_ok=True)
    async with board(_thirty()) as b:
        frame = b.frame
        await expect(frame.locator("li.task")).to_have_count(30)
        days = await frame.locator("section.day h2").all_inner_texts()
        assert [d.split("\n")[0] for d in days[:4]] == ["Today", "Tomorrow", "Wed, Nov 25", "Thu, Nov 26"]
        counts = [await frame.locator(f'section[data-day="{d}"] li.task').count() for d in DAYS]
        assert counts == [8, 9, 7, 6]  # today: 7 dated and the daily one; tomorrow: 7, a task and its subtask
        await expect(b.task("Water plants")).to_contain_text("↻ every day")
        await expect(b.task("Task 00")).to_contain_text("p1")
        await expect(b.task("Task 07")).to_contain_text("@errand")
        await expect(b.task("Plan trip")).to_contain_text("1 subtask")
        await expect(frame.locator("li.task.sub", has_text="Book hotel")).to_have_count(1)
        first = await _painted_after_post(b)
        # Again from a warm page, five times: what a host sees when a later result arrives.
        again = _result_json(await b.client.call_tool("find_items", {"filter": "all", "limit": 100}))
        warm: list[float] = []
        for n in range(5):
            await b.page.evaluate("(r) => sendResult(r)", again)
            await expect(frame.locator("body")).to_have_attribute("data-rendered", str(n + 2))
            warm.append(await _painted_after_post(b))
        print(
            f"host posts the tool result -> board painted (30 rows, headless Chromium): first {first:.1f} ms, "
            f"warm median {sorted(warm)[2]:.1f} ms (of {', '.join(f'{w:.1f}' for w in warm)})"
        )
        await b.page.screenshot(path=str(ARTIFACTS / "board-light.png"), full_page=True)
        await b.page.evaluate("theme('dark')")
        await expect(frame.locator("html")).to_have_attribute("data-theme", "dark")
        background = await frame.locator("body").evaluate("b => getComputedStyle(b).backgroundColor")
        assert background == "rgb(18, 18, 18)"  # the host's variable, not the board's own default
        await b.page.screenshot(path=str(ARTIFACTS / "board-dark.png"), full_page=True)
        sizes: list[dict[str, int]] = await b.page.evaluate("window.sizes")
        assert sizes and sizes[-1]["height"] > 300  # the board tells the host how tall it is
        # Nothing but the host page itself was ever requested: the board reached no network.
        assert all(url.startswith(("about:", "data:")) for url in b.requests), b.requests
    async with board(_thirty(), width=380) as narrow:
        await expect(narrow.frame.locator("li.task")).to_have_count(30)
        await narrow.page.screenshot(path=str(ARTIFACTS / "board-narrow.png"), full_page=True)
        widths = await narrow.frame.locator("section.day").evaluate_all("s => s.map(e => e.offsetWidth)")
        assert all(w <= 380 for w in widths)
    print(f"screenshots: {ARTIFACTS}/board-light.png, board-dark.png, board-narrow.png")


async def test_complete_reschedule_and_undo_from_the_board_reach_the_store() -> None:
    async with board(_thirty()) as b:
        await b.task("Task 04").locator("button.check").click()
        await expect(b.task("Task 04")).to_have_count(0)  # optimistic: gone before the server answers
        await b.settled(1)
        items = await b.items()
        assert "Task 04" not in items and len(items) == 29
        done = await b.h.completed("completion", since="2026-11-01T00:00:00Z", until="2026-11-30T00:00:00Z")
        assert [c["content"] for c in done] == ["Task 04"]

        await b.task("Task 08").get_by_role("button", name="Reschedule").click()
        await b.task("Task 08").get_by_role("button", name="Tomorrow").click()
        await b.settled(2)
        assert (await b.items())["Task 08"]["due"]["date"] == TOMORROW
        await expect(b.frame.locator(f'section[data-day="{TOMORROW}"] li.task', has_text="Task 08")).to_have_count(1)

        await b.frame.get_by_role("button", name="Undo").click()
        await b.settled(3)
        assert (await b.items())["Task 08"]["due"]["date"] == TODAY
        await expect(b.frame.locator(f'section[data-day="{TODAY}"] li.task', has_text="Task 08")).to_have_count(1)
        assert [name for name, _ in await b.relayed()] == [
            "complete_items",
            "find_items",
            "update_items",
            "find_items",
            "undo",
            "find_items",
        ]


async def test_quick_actions_within_the_window_go_out_as_one_batch() -> None:
    async with board(_thirty()) as b:
        checks = b.frame.locator(f'section[data-day="{TOMORROW}"] li.task button.check')
        await checks.evaluate_all("bs => bs.slice(0, 3).forEach(b => b.click())")  # three clicks in one task
        await b.settled(1)
        writes = await b.writes()
        assert len(writes) == 1 and [c["type"] for c in writes[0]["commands"]] == ["item_close"] * 3


async def test_a_task_dragged_to_the_top_of_its_day_is_first_in_the_store_and_on_the_board() -> None:
    async with board(_thirty()) as b:
        day = b.frame.locator(f'section[data-day="{TOMORROW}"] li.task')
        await expect(day.first).to_contain_text("Task 01")
        await expect(day.nth(6)).to_contain_text("Task 25")
        last = "Task 25"
        await b.task(last).drag_to(b.task("Task 01"))
        await b.settled(1)
        items = await b.items()
        same_day = [i for i in items.values() if i["due"] and i["due"]["date"] == TOMORROW and not i["parent_id"]]
        assert min(same_day, key=lambda i: i["child_order"])["content"] == last
        await expect(day.first).to_contain_text(last)


async def test_a_twenty_task_preview_applied_sends_exactly_its_plan_in_one_request_and_cancelled_sends_none() -> None:
    twenty = [{"content": f"Chore {n:02d}", "due_date": "2026-11-27"} for n in range(20)]
    async with board([*twenty, {"content": "Other", "due_date": TODAY}]) as b:
        postpone = b.frame.locator('section[data-day="2026-11-27"] button.postpone')
        await postpone.click()
        card = b.frame.locator("#preview")
        await expect(card).to_be_visible()
        await expect(card.locator("h2")).to_contain_text("20 changes")
        await b.frame.get_by_role("button", name="Cancel").click()
        await expect(card).to_be_hidden()
        # Then something else, so that anything the cancelled card had sent would be in the store before this.
        await b.task("Other").locator("button.check").click()
        await b.settled(1)
        writes = await b.writes()
        assert [[c["type"] for c in w["commands"]] for w in writes] == [["item_close"]]
        assert {i["due"]["date"] for i in (await b.items()).values()} == {"2026-11-27"}
        dry_runs = [args for name, args in await b.relayed() if name == "update_items"]
        assert len(dry_runs) == 1 and dry_runs[0]["dry_run"] is True

        b.h.transport.reset()
        await postpone.click()
        await expect(card.locator("h2")).to_contain_text("20 changes")
        plan = await _last_plan(b)
        await b.frame.get_by_role("button", name="Apply").click()
        await b.settled(2)
        writes = await b.writes()
        assert len(writes) == 1
        sent = [(c["type"], c["args"]) for c in writes[0]["commands"]]
        assert sent == [(c["type"], c["args"]) for c in plan]
        assert {i["due"]["date"] for i in (await b.items()).values()} == {"2026-11-28"}


async def _last_plan(b: Board) -> list[dict[str, Any]]:
    """The dry run the card shows, run again from the same arguments: what the user approved."""
    [*_, (_name, args)] = [c for c in await b.relayed() if c[0] == "update_items"]
    assert args["dry_run"] is True
    result = await b.client.call_tool("update_items", args)
    plan: list[dict[str, Any]] = structured(result)["plan"]
    return plan


async def test_a_completion_the_host_could_not_deliver_is_rolled_back_on_the_board() -> None:
    async with board(_thirty()) as b:
        await b.page.evaluate("window.failNext = 1")
        await b.task("Task 04").locator("button.check").click()
        await b.settled(1)
        await expect(b.task("Task 04")).to_have_count(1)
        await expect(b.frame.locator("#status")).to_contain_text("Not saved: connection lost")
        assert "Task 04" in await b.items() and await b.writes() == []


async def test_the_keyboard_completes_and_reschedules_a_focused_task() -> None:
    async with board(_thirty()) as b:
        await b.task("Task 08").focus()
        await b.page.keyboard.press("t")
        await b.settled(1)
        await b.task("Task 12").focus()
        await b.page.keyboard.press("x")
        await b.settled(2)
        items = await b.items()
        assert items["Task 08"]["due"]["date"] == TOMORROW and "Task 12" not in items
        await b.task("Task 05").focus()
        await b.page.keyboard.press("Alt+ArrowUp")
        await b.settled(3)
        day = [i for i in (await b.items()).values() if i["due"]["date"] == TOMORROW and not i["parent_id"]]
        assert min(day, key=lambda i: i["child_order"])["content"] == "Task 05"


async def test_the_overview_renders_as_the_same_board_and_refreshes_through_query_changes() -> None:
    work = {"content": "Quarterly report", "due_date": TODAY, "project": "Work"}
    async with board([*_thirty(), work], tool="query_changes", projects=["Work"]) as b:
        await expect(b.frame.locator("li.task")).to_have_count(31)
        await expect(b.task("Quarterly report")).to_contain_text("#Work")
        await expect(b.task("Task 04")).to_contain_text("#Inbox")
        await b.task("Task 04").locator("button.check").click()
        await b.settled(1)
        await expect(b.frame.locator("li.task")).to_have_count(30)
        assert [name for name, _ in await b.relayed()] == ["complete_items", "query_changes"]
        assert "Task 04" not in await b.items()


async def test_a_task_dropped_on_another_day_moves_to_that_day() -> None:
    async with board(_thirty()) as b:
        await b.task("Task 04").drag_to(b.frame.locator('section[data-day="2026-11-25"] h2'))
        await b.settled(1)
        assert (await b.items())["Task 04"]["due"]["date"] == "2026-11-25"
        await expect(b.frame.locator('section[data-day="2026-11-25"] li.task', has_text="Task 04")).to_have_count(1)
