"""`tools-server http`: its arguments, the checks before it binds, and the two modes (see hosting.py)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import anyio
import httpx

from tools_server import __version__
from tools_server.cli.backends import (
    DEFAULT_SYNC_URL,
    ConfigError,
    backend_kind,
    backend_over,
    call_budget,
    freeze_startup_heap,
    open_backend,
    sync_url,
)
from tools_server.cli.state_option import StateSettings, open_state, state_settings
from tools_server.clock import SYSTEM_CLOCK, Clock

if TYPE_CHECKING:
    from tools_server.hosting.app import HttpOptions
    from tools_server.server import Backend
    from tools_server.state import StateBackend
    from tools_server.sync.client import RetryPolicy


def add_http_arguments(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:  # pyright: ignore[reportPrivateUsage]
    http = sub.add_parser("http", help="serve MCP over streamable HTTP at /mcp", description="Serve MCP over HTTP.")
    http.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1, local only)")
    http.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    http.add_argument(
        "--multi-user",
        action="store_true",
        help="every request must bring Authorization: Bearer <its own Todoist token>; TODOIST_API_TOKEN is not used",
    )
    http.add_argument(
        "--allowed-hosts",
        default="",
        help="comma-separated Host names clients use (needed off loopback), e.g. mcp.example.com,mcp.example.com:443",
    )
    http.add_argument("--public-url", help="the base URL clients see, for the OAuth metadata (default: from Host)")
    http.add_argument(
        "--authorization-server",
        help="--multi-user: the OAuth authorization server clients log in at, named in the protected-resource "
        "metadata (default: TOOLS_SERVER_AUTH_SERVER, else https://todoist.com)",
    )
    http.add_argument(
        "--allow-remote-personal",
        action="store_true",
        help="allow personal mode (your account, no token needed) on a non-loopback --host: dangerous",
    )
    http.add_argument("--access-log", action="store_true", help="log one line per HTTP request (off by default)")
    http.add_argument(
        "--state",
        help="keep cursors, resend batches, undo handles, write locks and request budgets in Redis, shared by "
        "replicas: redis://HOST:PORT/DB (default: in this process; env TOOLS_SERVER_STATE_URL)",
    )


@asynccontextmanager
async def open_multi_user_backend(
    env: Mapping[str, str],
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    policy: RetryPolicy | None = None,
) -> AsyncGenerator[Backend]:
    """The Sync endpoint (Todoist, or TODOIST_SYNC_URL) for callers' own tokens; there is no default token."""
    from tools_server.server import Backend

    url = env.get("TODOIST_SYNC_URL") or DEFAULT_SYNC_URL
    async with httpx.AsyncClient(transport=transport, timeout=httpx.Timeout(30.0, connect=10.0)) as http:
        shared = backend_over(http, kind="todoist", url=url, token="", client_tokens=True, policy=policy)
        yield Backend(default_token="", client_for=shared.client_for, accepts_client_tokens=True, per_user=True)


async def _run_http(env: Mapping[str, str], options: HttpOptions, settings: StateSettings) -> None:
    from tools_server.hosting.app import build_app, serve
    from tools_server.hosting.auth import TodoistTokenVerifier
    from tools_server.server import build_server

    async with (
        open_state(settings) as state,
        open_multi_user_backend(env) if options.multi_user else open_backend(env, http_mode=True) as backend,
    ):
        server = build_server(backend, clock=SYSTEM_CLOCK, call_budget=call_budget(env), state=state)
        verifier = (
            TodoistTokenVerifier(backend.client_for, clock=SYSTEM_CLOCK, spend=token_check_spender(state, SYSTEM_CLOCK))
            if options.multi_user
            else None
        )
        app = build_app(server, options, verifier)
        freeze_startup_heap()
        host = f"[{options.host}]" if ":" in options.host else options.host
        mode = "multi-user" if options.multi_user else "personal"
        print(
            f"tools-server {__version__}: MCP over HTTP at http://{host}:{options.port}/mcp ({mode} mode)",
            file=sys.stderr,
            flush=True,
        )
        await serve(app, options)


def token_check_spender(state: StateBackend, clock: Clock) -> Callable[[str], Awaitable[None]]:
    """Token checks spend from the caller's account budget, like the account's own requests (called once the token
    is known to be good: a made-up token creates no account state)."""
    from tools_server.state import token_fingerprint, token_secret

    async def spend(token: str) -> None:
        account = state.account(token_fingerprint(token), token_secret(token))
        await account.spend_request(clock.now().timestamp())

    return spend


def _authorization_server(env: Mapping[str, str], given: str | None) -> str:
    from tools_server.cli.login import issuer_of

    return issuer_of(env, given)


def main_http(env: Mapping[str, str], args: argparse.Namespace) -> None:
    from tools_server.cli.checks import check_port, probe_endpoint
    from tools_server.hosting.app import HostingError, HttpOptions, check_options

    options = HttpOptions(
        host=args.host,
        port=args.port,
        multi_user=args.multi_user,
        allow_remote_personal=args.allow_remote_personal,
        allowed_hosts=tuple(h.strip() for h in args.allowed_hosts.split(",") if h.strip()),
        access_log=args.access_log,
        public_url=args.public_url,
        authorization_server=_authorization_server(env, args.authorization_server),
    )
    try:
        warnings = check_options(options, env)
    except HostingError as exc:
        raise ConfigError(f"http: {exc}") from None
    for warning in warnings:
        print(warning, file=sys.stderr)
    local = not options.multi_user and backend_kind(env) == "local"
    settings = state_settings(env, args.state, multi_user=options.multi_user, local_backend=local)
    check_port(options.host, options.port)
    if options.multi_user or backend_kind(env) == "todoist":
        probe_endpoint(sync_url(env))  # a wrong URL fails now, not on the first request
    anyio.run(_run_http, env, options, settings)
