"""Composition root: read argv and the environment, pick the backend, build the server, run a transport.

The server, the MCP SDK and the local store are imported only when a command needs them (about 1.6 s here), so
`--help`, a bad setting or an unreachable endpoint is reported at once.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sqlite3
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio

from tools_server import __version__
from tools_server.cli.backends import (
    LOGIN_MARK,
    ConfigError,
    api_token,
    backend_description,
    backend_kind,
    call_budget,
    collection_paused_for_startup,
    db_sync_mode,
    default_db_path,
    freeze_startup_heap,
    local_account_settings,
    open_backend,
    sync_url,
)
from tools_server.cli.checks import (
    EXIT_CODES_HELP,
    EXIT_OK,
    StartupError,
    check_port,
    check_store_path,
    command_path,
    probe_endpoint,
    store_error,
)
from tools_server.cli.http import add_http_arguments
from tools_server.cli.output import print_output
from tools_server.clock import SYSTEM_CLOCK

if TYPE_CHECKING:
    from tools_server.local.account import LocalAccount

logger = logging.getLogger("tools_server")

# ---------------------------------------------------------------------------------------------------------------------
# Subcommands


def _exit_at_once(_signum: int, _frame: object) -> None:
    # The stdio transport reads stdin in a worker thread that no exception can interrupt, so KeyboardInterrupt waited
    # for the next line (Enter). Every local request is committed before it is answered and a Todoist request in
    # flight is the same as a killed process, so leaving now loses nothing that a graceful stop would keep. No flush:
    # the signal may arrive inside a write to stderr, and stderr is line-buffered anyway.
    os._exit(0)


def _stop_with_exit_0(_signum: int, _frame: object) -> None:
    # uvicorn stops gracefully on SIGINT/SIGTERM, then raises the signal again for the handler it found: Python's
    # default one would end the process by the signal (-15) or as KeyboardInterrupt (130). A stop asked for is a
    # normal end (README: exit 0), and SystemExit still unwinds the stores and clients; before or after uvicorn
    # listens, the same handler stops start-up or clean-up the same way.
    sys.exit(EXIT_OK)


def _exit_0_when_stopped() -> None:
    signal.signal(signal.SIGINT, _stop_with_exit_0)
    signal.signal(signal.SIGTERM, _stop_with_exit_0)


async def _run_stdio(env: Mapping[str, str]) -> None:
    from tools_server.cli.state_option import file_state
    from tools_server.server import build_server
    from tools_server.server.stdio import run_stdio

    warnings: list[str] = []
    # Handles in the file store: a host that restarts the server, or starts one per call, finds them again.
    with file_state(default_db_path(env), SYSTEM_CLOCK, warnings) as state:
        for warning in warnings:
            print(f"tools-server: warning: {warning}; cursors, undo and resend batches last only this process",
                  file=sys.stderr)  # fmt: skip
        for note in state.notes if state is not None else ():
            print(f"tools-server: {note}", file=sys.stderr)
        async with open_backend(env) as backend:
            server = build_server(
                backend, clock=SYSTEM_CLOCK, call_budget=call_budget(env), state=state, local_files=True
            )
            freeze_startup_heap()
            await run_stdio(server)


def _probe_if_remote(env: Mapping[str, str]) -> None:
    if backend_kind(env) == "todoist":
        probe_endpoint(sync_url(env))


def _main_stdio(env: Mapping[str, str]) -> None:
    signal.signal(signal.SIGINT, _exit_at_once)
    signal.signal(signal.SIGTERM, _exit_at_once)
    if backend_kind(env) == "todoist":
        try:
            probe_endpoint(sync_url(env))
        except StartupError as exc:
            # A host may start the server before the network is up: warn and serve; tool calls report it too.
            print(f"tools-server: warning: {exc}", file=sys.stderr)
    if sys.stdin.isatty():
        me = command_path()
        print(
            f"tools-server {__version__}: MCP server on stdio, using {backend_description(env)}.\n"
            "Waiting for an MCP client on stdin (Ctrl-C to quit). To try it by hand instead:\n"
            f"  {me} tools\n"
            f"  {me} call query_changes\n"
            f"  npx @modelcontextprotocol/inspector {me}",
            file=sys.stderr,
        )
    anyio.run(_run_stdio, env)


def _main_local_api(env: Mapping[str, str], args: argparse.Namespace) -> None:
    from tools_server.local.app import serve

    db = Path(args.db).expanduser() if args.db else default_db_path(env)
    check_store_path(db)
    check_port(args.host, args.port)
    token = args.token or env.get("TOOLS_SERVER_LOCAL_TOKEN")
    if token is None:
        import secrets

        token = secrets.token_urlsafe(16)
        print(f"local-api token (send as 'Authorization: Bearer <token>'): {token}", file=sys.stderr)
    given_day = str(args.start_day) if args.start_day is not None else None
    timezone, start_day = local_account_settings(env, args.timezone, given_day)
    accounts = _accounts(args.account, token)
    freeze_startup_heap()
    try:
        serve(
            host=args.host,
            port=args.port,
            db_path=str(db),
            token=token,
            synchronous=db_sync_mode(env),
            timezone=timezone,
            start_day=start_day,
            accounts=accounts,
        )
    except sqlite3.Error as exc:
        raise store_error(db, exc) from exc
    except ValueError as exc:  # the store refused the accounts (two with one email)
        raise ConfigError(f"--account: {exc}") from None


def _accounts(given: Sequence[str], token: str) -> list[LocalAccount]:
    """local-api's ``--account TOKEN:EMAIL[:NAME]`` options: the store's accounts besides ``--token``'s."""
    from tools_server.local.account import LocalAccount

    accounts: list[LocalAccount] = []
    for position, text in enumerate(given, 1):
        own, _, rest = text.partition(":")
        email, _, name = rest.partition(":")
        if not own or "@" not in email:
            raise ConfigError(f"--account number {position} must be TOKEN:EMAIL or TOKEN:EMAIL:NAME")
        if own == token or own in (a.token for a in accounts):
            raise ConfigError(f"--account number {position}: each account needs its own token")
        accounts.append(LocalAccount(own, email.strip(), name.strip() or None))
    return accounts


def _with_login(env: Mapping[str, str]) -> Mapping[str, str]:
    """The environment with the stored login's token (refreshed if due) when no token is set and the local backend is
    not asked for: stdio, `call` and personal `http` then work on the logged-in account."""
    if api_token(env) or env.get("TOOLS_SERVER_BACKEND", "").strip().lower() == "local":
        return env
    from tools_server.cli.login import stored_login

    login = stored_login(env)
    if login is None:
        return env
    token, account = login
    return {**env, "TODOIST_API_TOKEN": token, LOGIN_MARK: account}


def _main_login(env: Mapping[str, str], args: argparse.Namespace) -> int:
    from tools_server.cli import login

    if args.command == "logout":
        login.logout(env)
        return EXIT_OK
    if args.command == "whoami":
        print_output(login.whoami(env, sync_url=sync_url(env)))
        return EXIT_OK
    credential, place = login.login(
        env,
        sync_url=sync_url(env),
        issuer=login.issuer_of(env, args.auth_server),
        scopes=login.parse_scopes(args.scopes),
        open_browser=not args.no_browser,
        client_id_url=args.client_id_url,
    )
    print_output(f"Logged in to Todoist as {credential.account}.")
    print(f"The token is kept in {place.describe()}.", file=sys.stderr)
    return EXIT_OK


def _tool_arguments(text: str) -> dict[str, Any]:
    try:
        arguments = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"arguments must be a JSON object: {exc}") from exc
    if not isinstance(arguments, dict):
        raise ConfigError('arguments must be a JSON object, e.g. \'{"ids": ["..."]}\'')
    return arguments  # pyright: ignore[reportUnknownVariableType]


def _tools(name: str | None) -> int:
    from tools_server.cli.tools import server_tools, tool_help, tool_lines, unknown_tool

    tools = anyio.run(server_tools)
    if name is None:
        print_output("\n".join([f"{len(tools)} tools (arguments: {command_path()} tools NAME):", *tool_lines(tools)]))
        return EXIT_OK
    match = next((t for t in tools if t.name == name), None)
    if match is None:
        raise ConfigError(unknown_tool(name, tools))
    print_output(tool_help(match))
    return EXIT_OK


def _parser(call_tools: Sequence[str] = ()) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tools-server",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "MCP server for Todoist over the Sync API. With no subcommand it serves MCP on stdio.\n"
            "Without TODOIST_API_TOKEN (or TODOIST_API_KEY) it uses an embedded local backend (SQLite)."
        ),
        epilog=(
            "environment: TODOIST_API_TOKEN (alias TODOIST_API_KEY), TODOIST_SYNC_URL, "
            "TOOLS_SERVER_BACKEND=local|todoist,\n  TOOLS_SERVER_DB (local store path), TOOLS_SERVER_DB_SYNC "
            "(normal|full), TOOLS_SERVER_LOG_LEVEL,\n  TOOLS_SERVER_CALL_BUDGET (seconds per tool call, default 45)"
            f"\n{EXIT_CODES_HELP}"
        ),
    )
    parser.add_argument("--version", action="version", version=f"tools-server {__version__}")
    sub = parser.add_subparsers(dest="command")
    add_http_arguments(sub)
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
    api.add_argument(
        "--account",
        action="append",
        default=[],
        metavar="TOKEN:EMAIL[:NAME]",
        help="one more account in the same store, with its own token (repeatable); projects can be shared between them",
    )
    listed = "\n".join(call_tools) or f"  (list them with: {command_path()} tools)"
    call = sub.add_parser(
        "call",
        help="run one tool and print its summary",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Run one tool through the same server code as MCP, e.g. tools-server call query_changes",
        epilog=(
            f"tools:\n{listed}\n\n"
            "Cursors, undo handles (and the last write) and resend batches carry over to the next call on the same "
            "store and token (kept in <TOOLS_SERVER_DB>.state.sqlite, sealed with the key file beside it).\n"
            "exit status: 0 all done, 1 the call was refused (bad arguments), 2 bad settings, 3 some tasks failed or "
            "are unconfirmed, 4 Sync endpoint unreachable, 5 local store cannot be opened."
        ),
    )
    call.add_argument("tool", help="the tool's name (see: tools-server tools)")
    call.add_argument("arguments", nargs="?", default="{}", help="tool arguments as a JSON object")
    call.add_argument("--json", action="store_true", help="print the structured result instead of the text")
    tools = sub.add_parser(
        "tools", help="list the tools, or one tool's arguments", description="List the tools the server offers."
    )
    tools.add_argument("name", nargs="?", help="a tool's name: print its description and arguments")
    login = sub.add_parser(
        "login",
        help="log in to Todoist in the browser; the token is kept in the system keyring",
        description="Log in to Todoist with OAuth (PKCE) in your browser. stdio, call and http then use this login "
        "when TODOIST_API_TOKEN is not set.",
    )
    login.add_argument(
        "--scopes",
        help="comma-separated Todoist scopes to ask for (default data:read_write,data:delete; e.g. data:read_write "
        "cannot delete)",
    )
    login.add_argument("--no-browser", action="store_true", help="print the address instead of opening a browser")
    login.add_argument(
        "--auth-server", help="the authorization server (default: TOOLS_SERVER_AUTH_SERVER, else https://todoist.com)"
    )
    login.add_argument(
        "--client-id-url", help="identify tools-server by this Client ID Metadata Document URL instead of registering"
    )
    sub.add_parser("logout", help="revoke the stored login token and forget it", description="Log out of Todoist.")
    sub.add_parser("whoami", help="name the logged-in Todoist account", description="Name the logged-in account.")
    helper = sub.add_parser("help", help="show this help, or a subcommand's (help call)")
    helper.add_argument("topic", nargs="?", help="a subcommand")
    return parser


def _configure_logging(env: Mapping[str, str]) -> None:
    level = env.get("TOOLS_SERVER_LOG_LEVEL", "WARNING").upper()
    logging.basicConfig(
        stream=sys.stderr, level=getattr(logging, level, logging.WARNING), format="%(levelname)s %(name)s: %(message)s"
    )


def _wants_call_help(argv: Sequence[str]) -> bool:
    return bool(argv) and argv[0] == "call" and any(a in ("-h", "--help") for a in argv[1:])


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    with collection_paused_for_startup():
        return _main(argv, env)


def _main(argv: Sequence[str] | None, env: Mapping[str, str] | None) -> int:
    env = os.environ if env is None else env
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["help"]:
        argv = [*argv[1:2], "--help"]  # `help` and `help call` are --help and `call --help`
    call_tools: Sequence[str] = ()
    if _wants_call_help(argv):
        from tools_server.cli.tools import server_tools, tool_lines

        call_tools = tool_lines(anyio.run(server_tools))
    args = _parser(call_tools).parse_args(argv)
    _configure_logging(env)
    try:
        if args.command in ("login", "logout", "whoami"):
            return _main_login(env, args)
        if args.command in ("http", "call", None) and not getattr(args, "multi_user", False):
            env = _with_login(env)
        if args.command == "http":
            from tools_server.cli.http import main_http

            _exit_0_when_stopped()
            main_http(env, args)
        elif args.command == "local-api":
            _exit_0_when_stopped()
            _main_local_api(env, args)
        elif args.command == "tools":
            return _tools(args.name)
        elif args.command == "call":
            arguments = _tool_arguments(args.arguments)
            _probe_if_remote(env)
            from tools_server.cli.call import run_call

            return anyio.run(
                run_call, open_backend(env), default_db_path(env), args.tool, arguments, args.json, call_budget(env)
            )
        else:
            _main_stdio(env)
    except StartupError as exc:
        print(f"tools-server: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        return 130
    return EXIT_OK
