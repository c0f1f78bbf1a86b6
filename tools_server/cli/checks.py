"""Start-up checks for the console script: each failure is one line naming cause and fix, with its own exit code.

The codes are documented in README (Exit codes) and in ``tools-server --help``; scripts may rely on them, also when
they stop reading the output early.
"""

from __future__ import annotations

import errno
import os
import socket
import sqlite3
import sys
from pathlib import Path
from urllib.parse import urlsplit

import anyio

EXIT_OK = 0
EXIT_TOOL_REFUSED = 1  # call: the tool refused the call (bad arguments, unknown id, backend error)
EXIT_CONFIG = 2  # bad arguments or environment (a setting with an impossible value)
EXIT_PARTIAL = 3  # call: some tasks failed or are unconfirmed
EXIT_UNREACHABLE = 4  # the Sync endpoint (TODOIST_SYNC_URL) cannot be reached
EXIT_STORE = 5  # the local store (TOOLS_SERVER_DB) cannot be created or opened
EXIT_PORT = 6  # http / local-api: the port is in use or cannot be bound
EXIT_LOGIN = 7  # login: the authorization did not complete (denied, timed out, refused by the server)

EXIT_CODES_HELP = (
    "exit status: 0 ok (the servers also exit 0 on Ctrl-C or SIGTERM); 1 call: the tool refused the call;\n"
    "  2 bad arguments or settings; 3 call: some tasks failed or are unconfirmed; 4 the Sync endpoint is unreachable;\n"
    "  5 the local store cannot be opened; 6 the port is in use; 7 login did not complete"
)


# How long the start-up reachability probe may take; a refused connection answers at once, a black hole times out.
PROBE_SECONDS = 3.0


class StartupError(Exception):
    """A start-up failure: ``str(exc)`` is the one line printed, ``code`` the exit status."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def command_path() -> str:
    """How to run this program again from any directory: the absolute path of the running script.

    After the README's install the script lives in ``.venv/bin`` and is not on PATH, so a bare ``tools-server`` in a
    hint would not work; under ``python -m tools_server`` the interpreter's path is the one that works.
    """
    argv0 = sys.argv[0] if sys.argv else ""
    if not argv0 or argv0.endswith(("__main__.py", "-c")) or argv0 == "-m":
        return f"{sys.executable} -m tools_server"
    path = Path(argv0)
    if path.name == argv0 and not path.exists():
        return argv0  # found on PATH by the shell: the bare name works
    return str(path.resolve())


def probe_endpoint(url: str, *, timeout: float = PROBE_SECONDS) -> None:
    """Open (and close) one TCP connection to the Sync endpoint's host, so a wrong URL fails now, not on first use.

    Nothing is sent, so the token never leaves the process here. Raises ``StartupError`` naming the host.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise StartupError(
            f"TODOIST_SYNC_URL={url!r} is not an http(s) URL; unset it to use Todoist's own endpoint", EXIT_CONFIG
        )
    host = parts.hostname
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise StartupError(f"TODOIST_SYNC_URL has a bad port ({exc}); fix or unset it", EXIT_CONFIG) from exc

    async def connect() -> None:
        with anyio.fail_after(timeout):
            stream = await anyio.connect_tcp(host, port)
            await stream.aclose()

    try:
        anyio.run(connect)
    except TimeoutError as exc:
        raise StartupError(
            f"cannot reach the Sync endpoint {host}:{port} (no answer within {timeout:g} s); check TODOIST_SYNC_URL "
            "and your network",
            EXIT_UNREACHABLE,
        ) from exc
    except OSError as exc:
        # anyio reports "All connection attempts failed" and chains the socket's own error (e.g. refused): use that.
        cause = exc.__cause__ if isinstance(exc.__cause__, OSError) else exc
        reason = os.strerror(cause.errno) if cause.errno else (cause.strerror or str(cause) or type(cause).__name__)
        raise StartupError(
            f"cannot reach the Sync endpoint {host}:{port} ({reason}); check TODOIST_SYNC_URL and your network",
            EXIT_UNREACHABLE,
        ) from exc


def store_error(path: Path, exc: BaseException) -> StartupError:
    """The one-line error for a local store that cannot be created or opened."""
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return StartupError(
        f"cannot open the local store {path} ({reason}); set TOOLS_SERVER_DB to a writable file path", EXIT_STORE
    )


def check_store_path(path: Path) -> None:
    """Fail fast with one line when the store's directory cannot be made or the file cannot be opened for writing."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_dir():
            raise IsADirectoryError(errno.EISDIR, "is a directory")
        # Opening for append creates nothing new if the file exists and tells a read-only file apart.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.close(fd)
    except (OSError, sqlite3.Error) as exc:
        raise store_error(path, exc) from exc


def check_port(host: str, port: int) -> None:
    """Bind and release the port, so a busy one is reported as such (uvicorn would log it and exit 3)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise StartupError(f"port {port} on {host} is in use; pass --port with a free port", EXIT_PORT) from exc
        reason = exc.strerror or str(exc)
        raise StartupError(f"cannot listen on {host}:{port} ({reason}); check --host and --port", EXIT_PORT) from exc
