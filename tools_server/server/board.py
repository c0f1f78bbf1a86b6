"""The board: an MCP Apps UI (``io.modelcontextprotocol/ui``) for the read tools, served as one self-contained
``ui://`` document, and the little a result carries for it beyond what every client gets.

The page is assembled here from three files beside this module (``ui/board.html``, ``board.css``, ``board.js``): the
style and script are put inline and the Content-Security-Policy names their sha256 hashes, so the page runs only
its own code and reaches no network. The URI carries a hash of the whole document: a host that caches by URI can
never show an old board with a new server.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from importlib import resources
from typing import Any

from mcp.server.apps import Apps, ResourceCsp, client_supports_apps
from mcp.types import CallToolResult

from tools_server.server.calls import ToolContext, clock_of, session_and_client
from tools_server.state import Session
from tools_server.user import user_zone, week_start_of

# The key of the board's extras in a result's ``_meta``: only for clients that negotiated Apps (see ``for_board``).
META_KEY = "tools-server/board"


def _sha256(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


def _assemble() -> tuple[str, str]:
    folder = resources.files("tools_server.server") / "ui"
    page = (folder / "board.html").read_text(encoding="utf-8")
    style = (folder / "board.css").read_text(encoding="utf-8")
    script = (folder / "board.js").read_text(encoding="utf-8")
    # Nothing but the inline style and script, by hash; no fetch, no frames, no forms, no base: a strict policy the
    # page declares itself, whatever the host adds to it.
    policy = (
        f"default-src 'none'; script-src '{_sha256(script)}'; style-src '{_sha256(style)}'; "
        "img-src data:; connect-src 'none'; frame-src 'none'; form-action 'none'; base-uri 'none'"
    )
    html = (
        page.replace("{{csp}}", policy)
        .replace("{{style}}", f"<style>{style}</style>")
        .replace("{{script}}", f"<script>{script}</script>")
    )
    digest = hashlib.sha256(html.encode()).hexdigest()[:12]
    return f"ui://tools-server/board-{digest}.html", html


BOARD_URI, BOARD_HTML = _assemble()
# `_meta` of the tools the board renders: the spec's nested key, and the flat one hosts of the first drafts read.
TOOL_META: dict[str, Any] = {"ui": {"resourceUri": BOARD_URI}, "ui/resourceUri": BOARD_URI}


def board_apps() -> Apps:
    """The Apps extension with the board's resource: advertises the extension and serves ``BOARD_URI``."""
    apps = Apps()
    apps.add_html_resource(
        BOARD_URI,
        BOARD_HTML,
        name="board",
        title="Tasks board",
        description="Tasks by day: complete, reschedule, reorder, undo",
        # No domain at all: the host grants the page no network.
        csp=ResourceCsp(connect_domains=[], resource_domains=[]),
        prefers_border=True,
    )
    return apps


def board_extras(session: Session, now: datetime, shown: list[str]) -> dict[str, Any]:
    """What the board needs that the result does not say: the user's today (its days are the user's, not the
    browser's), the first day of the week, each shown task's place among its siblings (a result lists tasks by due
    and priority; the board orders a day as the project does, so a task dragged to the top stays there), assignees
    and project names."""
    mirror = session.mirror
    today = now.astimezone(user_zone(mirror)).date()
    items = [item for i in shown if (item := mirror.items.get(i)) is not None]
    projects = {p: project.name for p in {i.project_id for i in items} if (project := mirror.projects.get(p))}
    return {
        "today": today.isoformat(),
        "week_start": week_start_of(mirror),
        "order": {i.id: i.child_order for i in items},
        # The mirror keeps no collaborators, so an assignee is known by user id only.
        "assignees": {i.id: i.responsible_uid for i in items if i.responsible_uid},
        "projects": projects,
    }


def _shown(structured: dict[str, Any] | None) -> list[str]:
    """The ids a read result lists: query_changes' ``tasks``, or find_items' ``lists[].tasks``."""
    data = structured or {}
    lists: list[dict[str, Any]] = data.get("lists") or []
    tasks: list[dict[str, Any]] = data.get("tasks") or [t for found in lists for t in found["tasks"]]
    return [str(t["id"]) for t in tasks]


def for_board(ctx: ToolContext, result: CallToolResult) -> CallToolResult:
    """``result`` with the board's extras in ``_meta`` for a client that negotiated Apps; unchanged for any other,
    so a client without the extension reads exactly the text and structured result it always did."""
    if result.is_error or not client_supports_apps(ctx):
        return result
    session, _client = session_and_client(ctx)
    meta = dict(result.meta or {})
    meta[META_KEY] = board_extras(session, clock_of(ctx).now(), _shown(result.structured_content))
    return result.model_copy(update={"meta": meta})
