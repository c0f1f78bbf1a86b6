"""Composition root: read argv and the environment, pick the backend, build the server, run a transport."""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import sys
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal

import anyio
import httpx

from tools_server import __version__
from tools_server.clock import SYSTEM_CLOCK
from tools_server.local.store import SyncStore
from tools_server.local.transport import LocalTransport
from tools_server.server import Backend, build_server
from tools_server.sync.client import DEFAULT_RETRY_POLICY, RetryPolicy, SyncClient

logger = logging.getLogger("tools_server")

DEFAULT_SYNC_URL = "https://api.todoist.com/api/v1/sync"
LOCAL_SYNC_URL = "http://local.invalid/api/v1/sync"
# The in-process store accepts any bearer token; this one only keys the session cache.
LOCAL_TOKEN = "local"


class ConfigError(Exception):
    """The environment or arguments cannot work; the message says what to change."""


def default_db_path(env: Mapping[str, str]) -> Path:
    if env.get("TOOLS_SERVER_DB"):
        return Path(env["TOOLS_SERVER_DB"]).expanduser()
    base = Path(env.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "tools-server" / "local.db"


def db_sync_mode(env: Mapping[str, str]) -> Literal["NORMAL", "FULL"]:
    """TOOLS_SERVER_DB_SYNC=full makes every local commit survive power loss too (one fsync per request)."""
    value = env.get("TOOLS_SERVER_DB_SYNC", "normal").strip().lower()
    if value not in ("normal", "full"):
        raise ConfigError(f"TOOLS_SERVER_DB_SYNC must be 'normal' or 'full', not {value!r}")
    return "FULL" if value == "full" else "NORMAL"


def backend_kind(env: Mapping[str, str]) -> str:
    kind = env.get("TOOLS_SERVER_BACKEND", "").strip().lower()
    if kind and kind not in ("local", "todoist"):
        raise ConfigError(f"TOOLS_SERVER_BACKEND must be 'local' or 'todoist', not {kind!r}")
    if not kind:
        kind = "todoist" if env.get("TODOIST_API_TOKEN") else "local"
    if kind == "todoist" and not env.get("TODOIST_API_TOKEN"):
        raise ConfigError("TOOLS_SERVER_BACKEND=todoist needs TODOIST_API_TOKEN (Todoist > Settings > Integrations)")
    return kind


def backend_description(env: Mapping[str, str]) -> str:
    if backend_kind(env) == "todoist":
        return f"Todoist at {env.get('TODOIST_SYNC_URL') or DEFAULT_SYNC_URL}"
    return f"the embedded local backend ({default_db_path(env)})"


def backend_over(
    http: httpx.AsyncClient,
    *,
    kind: str,
    url: str,
    token: str,
    client_tokens: bool = False,
    policy: RetryPolicy = DEFAULT_RETRY_POLICY,
    sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
) -> Backend:
    """A backend whose Sync clients share one httpx client (one connection pool); tests inject ``sleep``."""
    clients: dict[str, SyncClient] = {}

    def client_for(api_token: str) -> SyncClient:
        client = clients.get(api_token)
        if client is None:
            client = clients[api_token] = SyncClient(http, url=url, token=api_token, policy=policy, sleep=sleep)
        return client

    return Backend(default_token=token, client_for=client_for, accepts_client_tokens=client_tokens)


@asynccontextmanager
async def open_backend(
    env: Mapping[str, str], *, transport: httpx.AsyncBaseTransport | None = None, http_mode: bool = False
) -> AsyncGenerator[Backend]:
    """The backend the environment asks for; ``transport`` replaces the network (tests wrap the local store)."""
    kind = backend_kind(env)
    if kind == "todoist":
        token = env["TODOIST_API_TOKEN"]
        url = env.get("TODOIST_SYNC_URL") or DEFAULT_SYNC_URL
        timeout = httpx.Timeout(30.0, connect=10.0)
        async with httpx.AsyncClient(transport=transport, timeout=timeout) as http:
            yield backend_over(http, kind=kind, url=url, token=token, client_tokens=http_mode)
        return
    path = default_db_path(env)
    path.parent.mkdir(parents=True, exist_ok=True)
    store = SyncStore(str(path), synchronous=db_sync_mode(env))
    try:
        async with httpx.AsyncClient(transport=transport or LocalTransport(store)) as http:
            yield backend_over(http, kind=kind, url=LOCAL_SYNC_URL, token=LOCAL_TOKEN, client_tokens=False)
    finally:
        store.close()


# ---------------------------------------------------------------------------------------------------------------------
# Subcommands


def _freeze_startup_heap() -> None:
    """Keep the ~90k objects made by importing mcp, pydantic and httpx out of every later full collection.

    A long-running server only adds objects after this point; without the freeze, each full collection walked every
    module, class and schema again (50-70 ms here, landing inside whichever tool call triggered it).
    """
    gc.freeze()


async def _run_stdio(env: Mapping[str, str]) -> None:
    async with open_backend(env) as backend:
        server = build_server(backend, clock=SYSTEM_CLOCK)
        _freeze_startup_heap()
        await server.run_stdio_async()


async def _run_http(env: Mapping[str, str], host: str, port: int) -> None:
    async with open_backend(env, http_mode=True) as backend:
        server = build_server(backend, clock=SYSTEM_CLOCK)
        _freeze_startup_heap()
        await server.run_streamable_http_async(host=host, port=port)


async def _run_call(env: Mapping[str, str], tool: str, arguments: dict[str, Any], as_json: bool) -> int:
    from mcp import Client  # the client side is only needed here

    async with open_backend(env) as backend, Client(build_server(backend, clock=SYSTEM_CLOCK)) as client:
        result = await client.call_tool(tool, arguments)
    text = "\n".join(block.text for block in result.content if block.type == "text")
    if result.is_error:
        print(text, file=sys.stderr)
        return 1
    print(json.dumps(result.structured_content, indent=2, ensure_ascii=False) if as_json else text)
    # Scripts can tell a partial write from a clean one: 3 when any task failed or was not confirmed.
    content: Any = result.structured_content
    failed: Any = content.get("failed") if isinstance(content, dict) else None  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
    return 3 if failed else 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tools-server",
        description=(
            "MCP server for Todoist over the Sync API. With no subcommand it serves MCP on stdio. "
            "Without TODOIST_API_TOKEN it uses an embedded local backend (SQLite)."
        ),
        epilog=(
            "environment: TODOIST_API_TOKEN, TODOIST_SYNC_URL, TOOLS_SERVER_BACKEND=local|todoist, "
            "TOOLS_SERVER_DB (local store path), TOOLS_SERVER_DB_SYNC (normal|full), TOOLS_SERVER_LOG_LEVEL"
        ),
    )
    parser.add_argument("--version", action="version", version=f"tools-server {__version__}")
    sub = parser.add_subparsers(dest="command")
    http = sub.add_parser("http", help="serve MCP over streamable HTTP at /mcp", description="Serve MCP over HTTP.")
    http.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1, local only)")
    http.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    api = sub.add_parser(
        "local-api",
        help="serve the embedded Sync backend over HTTP",
        description="Serve the local store as a Todoist-compatible Sync endpoint: POST /api/v1/sync.",
    )
    api.add_argument("--host", default="127.0.0.1")
    api.add_argument("--port", type=int, default=8765)
    api.add_argument("--db", help="SQLite file (default: TOOLS_SERVER_DB or the user data directory)")
    api.add_argument("--token", help="Bearer token clients must send (default: TOOLS_SERVER_LOCAL_TOKEN, else random)")
    api.add_argument(
        "--timezone", help="the account's IANA timezone, e.g. Pacific/Kiritimati (default: TOOLS_SERVER_LOCAL_TIMEZONE)"
    )
    api.add_argument(
        "--start-day", type=int, help="first day of the week, 1 = Monday ... 7 = Sunday (TOOLS_SERVER_LOCAL_START_DAY)"
    )
    call = sub.add_parser(
        "call",
        help="run one tool and print its summary",
        description="Run one tool through the same server code as MCP, e.g. tools-server call query_changes",
    )
    call.add_argument("tool", help="add_item, complete_items, move_items or query_changes")
    call.add_argument("arguments", nargs="?", default="{}", help="tool arguments as a JSON object")
    call.add_argument("--json", action="store_true", help="print the structured result instead of the text")
    call.epilog = (
        "Exit status: 0 all done, 1 the call was refused (bad arguments), 3 some tasks failed or are unconfirmed."
    )
    return parser


def _configure_logging(env: Mapping[str, str]) -> None:
    level = env.get("TOOLS_SERVER_LOG_LEVEL", "WARNING").upper()
    logging.basicConfig(
        stream=sys.stderr, level=getattr(logging, level, logging.WARNING), format="%(levelname)s %(name)s: %(message)s"
    )


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    env = os.environ if env is None else env
    args = _parser().parse_args(argv)
    _configure_logging(env)
    try:
        if args.command == "http":
            if args.host not in ("127.0.0.1", "localhost", "::1"):
                print(
                    f"warning: binding to {args.host} exposes your tasks to the network; "
                    "DNS-rebinding protection is only automatic on localhost",
                    file=sys.stderr,
                )
            anyio.run(_run_http, env, args.host, args.port)
        elif args.command == "local-api":
            from tools_server.local.app import serve

            token = args.token or env.get("TOOLS_SERVER_LOCAL_TOKEN")
            if token is None:
                import secrets

                token = secrets.token_urlsafe(16)
                print(f"local-api token (send as 'Authorization: Bearer <token>'): {token}", file=sys.stderr)
            db = Path(args.db).expanduser() if args.db else default_db_path(env)
            db.parent.mkdir(parents=True, exist_ok=True)
            from tools_server.local.account import check_settings

            start_day = args.start_day or env.get("TOOLS_SERVER_LOCAL_START_DAY")
            timezone = args.timezone or env.get("TOOLS_SERVER_LOCAL_TIMEZONE") or None
            try:
                start_day = int(start_day) if start_day else None
                check_settings(timezone, start_day)
            except ValueError as exc:
                raise ConfigError(f"local-api: {exc}") from None
            serve(
                host=args.host,
                port=args.port,
                db_path=str(db),
                token=token,
                synchronous=db_sync_mode(env),
                timezone=timezone,
                start_day=start_day,
            )
        elif args.command == "call":
            try:
                arguments = json.loads(args.arguments)
            except json.JSONDecodeError as exc:
                raise ConfigError(f"arguments must be a JSON object: {exc}") from exc
            if not isinstance(arguments, dict):
                raise ConfigError('arguments must be a JSON object, e.g. \'{"ids": ["..."]}\'')
            tool_args: dict[str, Any] = arguments  # pyright: ignore[reportUnknownVariableType]
            return anyio.run(_run_call, env, args.tool, tool_args, args.json)
        else:
            if sys.stdin.isatty():
                print(
                    f"tools-server {__version__}: MCP server on stdio, using {backend_description(env)}.\n"
                    "Waiting for an MCP client on stdin (Ctrl-C to quit). To try it by hand instead:\n"
                    "  tools-server call query_changes\n"
                    "  npx @modelcontextprotocol/inspector tools-server",
                    file=sys.stderr,
                )
            anyio.run(_run_stdio, env)
    except ConfigError as exc:
        print(f"tools-server: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0
