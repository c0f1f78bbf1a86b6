"""Where handles live: `tools-server http --state` (this process, or Redis shared by replicas) and its settings; the
durable file store of stdio and `call`."""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import AsyncGenerator, Generator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from tools_server.cli.checks import EXIT_CONFIG, EXIT_UNREACHABLE, StartupError

if TYPE_CHECKING:
    from tools_server.clock import Clock
    from tools_server.state import StateBackend
    from tools_server.state.file import FileState

# The replicas' shared half of every record's seal in Redis (the other half comes from each account's token): Redis
# write access plus a Todoist account of one's own then cannot make a record that a replica reads. An environment
# variable only, never an option: a command line is visible to every user of the machine.
SECRET_VARIABLE = "TOOLS_SERVER_STATE_SECRET"
MIN_SECRET_CHARS = 32


@dataclass(frozen=True)
class StateSettings:
    url: str | None  # None: in process
    lock_seconds: float
    account_requests: int | None  # None: no budget (personal mode in process)
    secret: bytes | None = field(default=None, repr=False)  # with url: TOOLS_SERVER_STATE_SECRET


def state_settings(
    env: Mapping[str, str], given: str | None, *, multi_user: bool, local_backend: bool = False
) -> StateSettings:
    """--state (else TOOLS_SERVER_STATE_URL) with TOOLS_SERVER_STATE_SECRET, TOOLS_SERVER_LOCK_SECONDS,
    TOOLS_SERVER_ACCOUNT_REQUESTS.

    ``local_backend``: the account is the embedded store of this process, which other replicas cannot reach, so
    their shared handles would name objects of different stores: refused."""
    # Imported here, as the server is (cli/main.py): `--help` and a bad setting answer before the state wing loads.
    from tools_server.state import DEFAULT_ACCOUNT_REQUESTS, DEFAULT_LOCK_SECONDS, SCHEMES, masked

    url = (given if given is not None else env.get("TOOLS_SERVER_STATE_URL", "")).strip() or None
    if url is not None:
        scheme = urlsplit(url).scheme
        if scheme not in SCHEMES:
            raise StartupError(
                f"--state / TOOLS_SERVER_STATE_URL must be a redis://HOST:PORT/DB URL (or rediss://, unix://), not "
                f"{masked(url)!r}",
                EXIT_CONFIG,
            )
    if url is not None and local_backend:
        raise StartupError(
            "--state shares cursors and resend batches between replicas of one account, and the embedded local "
            "backend's account lives in this process: serve it once with `tools-server local-api` and point "
            "TODOIST_SYNC_URL at it, or drop --state",
            EXIT_CONFIG,
        )
    secret = _secret(env) if url is not None else None
    lock = _number(env, "TOOLS_SERVER_LOCK_SECONDS", None, 1, 600) or DEFAULT_LOCK_SECONDS
    default_requests = DEFAULT_ACCOUNT_REQUESTS if (multi_user or url is not None) else None
    requests = _number(env, "TOOLS_SERVER_ACCOUNT_REQUESTS", default_requests, 1, 100_000)
    return StateSettings(url, lock, None if requests is None else int(requests), secret)


def _secret(env: Mapping[str, str]) -> bytes:
    # No default: a secret known to the code (or one made up per replica) would let replicas read records that no
    # replica wrote, or none that another one did.
    raw = env.get(SECRET_VARIABLE, "").strip()
    if len(raw) < MIN_SECRET_CHARS:
        given = "is not set" if not raw else f"has {len(raw)} characters"
        raise StartupError(
            f"--state needs {SECRET_VARIABLE}, the same on every replica, of at least {MIN_SECRET_CHARS} characters "
            f"(it {given}); it seals the records in Redis. Make one with: python3 -c 'import secrets; "
            "print(secrets.token_hex(32))'",
            EXIT_CONFIG,
        )
    return raw.encode()


def _number(env: Mapping[str, str], name: str, default: float | None, low: float, high: float) -> float | None:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise StartupError(f"{name} must be a number between {low:g} and {high:g}, not {raw!r}", EXIT_CONFIG)
    return value


@asynccontextmanager
async def open_state(settings: StateSettings) -> AsyncGenerator[StateBackend]:
    """The store the settings name; Redis is checked with one PING (exit 4 when it does not answer)."""
    from tools_server.state import DEFAULT_ACCOUNT_REQUESTS, MemoryState, StateUnreachable, connect, redis_state

    if settings.url is None:
        yield MemoryState(account_requests=settings.account_requests)
        return

    requests = settings.account_requests if settings.account_requests is not None else DEFAULT_ACCOUNT_REQUESTS
    try:
        client = await connect(settings.url)
    except StateUnreachable as exc:
        raise StartupError(f"http: {exc}; start Redis or fix --state", EXIT_UNREACHABLE) from None
    from tools_server.state.redis import masked, persistence_warning

    warning = await persistence_warning(client)
    if warning is not None:
        print(f"tools-server: warning: the state store {masked(settings.url)}: {warning}", file=sys.stderr, flush=True)
    secret = settings.secret
    if secret is None:  # state_settings never makes such settings: a programming error, not a user's
        raise ValueError("StateSettings with a url need its secret")
    async with redis_state(
        client, secret=secret, lock_seconds=settings.lock_seconds, account_requests=requests
    ) as state:
        yield state


@contextmanager
def file_state(db: Path, clock: Clock, warnings: list[str]) -> Generator[FileState | None]:
    """The durable store of stdio and `call` beside the local store ``db``; None (a warning added) when it cannot be
    opened (a read-only or full disk): the process then keeps handles in memory only, and its writes still run."""
    from tools_server.state.file import FileState, state_path

    path = state_path(db)
    try:
        state = FileState(path, clock=clock)
    except (OSError, sqlite3.Error) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        warnings.append(f"the state file {path} cannot be kept ({why})")
        yield None
        return
    try:
        yield state
    finally:
        state.close()
