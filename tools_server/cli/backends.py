"""Settings read from the environment and the backend they select (Todoist over HTTP, or the local store)."""

from __future__ import annotations

import gc
import sqlite3
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator, Mapping
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import anyio
import httpx

from tools_server.cli.checks import EXIT_CONFIG, StartupError, check_store_path, store_error

if TYPE_CHECKING:
    from tools_server.server import Backend
    from tools_server.sync.client import RetryPolicy

DEFAULT_SYNC_URL = "https://api.todoist.com/api/v1/sync"
LOCAL_SYNC_URL = "http://local.invalid/api/v1/sync"
# The in-process store accepts any bearer token; this one only keys the session cache.
LOCAL_TOKEN = "local"
# Set beside TODOIST_API_TOKEN when the token is the stored login's (cli/login.py), to the login's account key: state is
# keyed by it (the token is renewed every hour), and a refused token says to log in.
LOGIN_MARK = "TOOLS_SERVER_STORED_LOGIN"


class ConfigError(StartupError):
    """The environment or arguments cannot work; the message says what to change."""

    def __init__(self, message: str) -> None:
        super().__init__(message, EXIT_CONFIG)


def api_token(env: Mapping[str, str]) -> str | None:
    """TODOIST_API_TOKEN, or TODOIST_API_KEY (the name Doist's own MCP server reads) when only that one is set."""
    return env.get("TODOIST_API_TOKEN") or env.get("TODOIST_API_KEY") or None


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


def local_account_settings(
    env: Mapping[str, str], timezone: str | None = None, start_day: str | None = None
) -> tuple[str | None, int | None]:
    """The local account's timezone and week start: the given values (local-api's options), else
    TOOLS_SERVER_LOCAL_TIMEZONE / TOOLS_SERVER_LOCAL_START_DAY; None keeps what the store has (a new one: the
    machine's zone, Monday). The same for every command, so stdio, `call`, `http` and local-api agree on "today"."""
    from tools_server.local.account import check_settings

    zone = timezone or env.get("TOOLS_SERVER_LOCAL_TIMEZONE", "").strip() or None
    day_text = start_day or env.get("TOOLS_SERVER_LOCAL_START_DAY", "").strip() or None
    try:
        day = int(day_text) if day_text else None
    except ValueError:
        raise ConfigError(f"TOOLS_SERVER_LOCAL_START_DAY must be 1 (Monday) to 7 (Sunday), not {day_text!r}") from None
    try:
        check_settings(zone, day)
    except ValueError as exc:
        name = "TOOLS_SERVER_LOCAL_TIMEZONE" if "timezone" in str(exc) else "TOOLS_SERVER_LOCAL_START_DAY"
        raise ConfigError(f"{name}: {exc}") from None
    return zone, day


def call_budget(env: Mapping[str, str]) -> float:
    """TOOLS_SERVER_CALL_BUDGET: seconds one tool call may spend on the backend, retries and waits included."""
    from tools_server.server import DEFAULT_CALL_BUDGET

    raw = env.get("TOOLS_SERVER_CALL_BUDGET", "").strip()
    if not raw:
        return DEFAULT_CALL_BUDGET
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds < 86400:
        raise ConfigError(f"TOOLS_SERVER_CALL_BUDGET must be a number of seconds between 0 and 86400, not {raw!r}")
    return seconds


def backend_kind(env: Mapping[str, str]) -> str:
    kind = env.get("TOOLS_SERVER_BACKEND", "").strip().lower()
    if kind and kind not in ("local", "todoist"):
        raise ConfigError(f"TOOLS_SERVER_BACKEND must be 'local' or 'todoist', not {kind!r}")
    if not kind:
        kind = "todoist" if api_token(env) else "local"
    if kind == "todoist" and not api_token(env):
        raise ConfigError(
            "TOOLS_SERVER_BACKEND=todoist needs a Todoist login: run tools-server login (or set TODOIST_API_TOKEN "
            "from Todoist > Settings > Integrations > Developer)"
        )
    return kind


def sync_url(env: Mapping[str, str]) -> str:
    return env.get("TODOIST_SYNC_URL") or DEFAULT_SYNC_URL


def backend_description(env: Mapping[str, str]) -> str:
    if backend_kind(env) == "todoist":
        return f"Todoist at {sync_url(env)}"
    return f"the embedded local backend ({default_db_path(env)})"


def backend_over(
    http: httpx.AsyncClient,
    *,
    kind: str,
    url: str,
    token: str,
    client_tokens: bool = False,
    policy: RetryPolicy | None = None,
    sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    token_hint: str | None = None,
    renew: Callable[[], Awaitable[str | None]] | None = None,
    account: str | None = None,
) -> Backend:
    """A backend whose Sync clients share one httpx client (one connection pool); tests inject ``sleep``."""
    from tools_server.server import Backend
    from tools_server.sync.client import DEFAULT_RETRY_POLICY, TOKEN_HINT, SyncClient

    policy = policy or DEFAULT_RETRY_POLICY
    clients: dict[str, SyncClient] = {}

    def client_for(api_token: str) -> SyncClient:
        client = clients.get(api_token)
        if client is None:
            # The hint is about the operator's own token; a client's own Bearer token keeps the general one.
            own = api_token == token
            hint = token_hint if token_hint is not None and own else TOKEN_HINT
            renewal = renew if own else None
            client = SyncClient(
                http, url=url, token=api_token, policy=policy, sleep=sleep, token_hint=hint, renew=renewal
            )
            clients[api_token] = client
        return client

    return Backend(
        default_token=token, client_for=client_for, accepts_client_tokens=client_tokens, default_account=account
    )


def _login_renewal(env: Mapping[str, str], token: str) -> Callable[[], Awaitable[str | None]]:
    """For a server that outlives its stored login's token (an hour at Todoist): a renewed one when refused."""
    current = [token]

    async def renew() -> str | None:
        from tools_server.cli.login import renewed_token

        renewed = await anyio.to_thread.run_sync(renewed_token, env, current[0])
        if renewed is not None:
            current[0] = renewed
        return renewed

    return renew


@asynccontextmanager
async def open_backend(
    env: Mapping[str, str], *, transport: httpx.AsyncBaseTransport | None = None, http_mode: bool = False
) -> AsyncGenerator[Backend]:
    """The backend the environment asks for; ``transport`` replaces the network (tests wrap the local store)."""
    kind = backend_kind(env)
    if kind == "todoist":
        token = api_token(env) or ""
        url = sync_url(env)
        timeout = httpx.Timeout(30.0, connect=10.0)
        async with httpx.AsyncClient(transport=transport, timeout=timeout) as http:
            login = env.get(LOGIN_MARK) or None  # the stored login's account key
            hint = "run tools-server login" if login else None
            yield backend_over(
                http, kind=kind, url=url, token=token, client_tokens=http_mode, token_hint=hint,
                renew=_login_renewal(env, token) if login else None, account=login,
            )  # fmt: skip
        return
    from tools_server.local.account import machine_timezone
    from tools_server.local.store import SyncStore
    from tools_server.local.transport import LocalTransport

    path = default_db_path(env)
    check_store_path(path)
    try:
        timezone, start_day = local_account_settings(env)
        store = SyncStore(
            str(path),
            synchronous=db_sync_mode(env),
            user_timezone=timezone,
            start_day=start_day,
            new_account_timezone=machine_timezone(),
        )
    except (OSError, sqlite3.Error) as exc:  # e.g. not a database, or a read-only directory for the WAL
        raise store_error(path, exc) from exc
    try:
        async with httpx.AsyncClient(transport=transport or LocalTransport(store)) as http:
            yield backend_over(http, kind=kind, url=LOCAL_SYNC_URL, token=LOCAL_TOKEN, client_tokens=False)
    finally:
        store.close()


@contextmanager
def collection_paused_for_startup() -> Generator[None]:
    """No cyclic garbage collection while a command starts: importing mcp, pydantic, httpx and the tool models makes
    ~180k objects that all live as long as the process and leave no garbage worth finding, and each collection on the
    way walked the growing heap again (~140 ms of an 840 ms stdio start here). ``freeze_startup_heap`` turns it back on
    once the server is built; leaving the block does, whatever happened."""
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


# How many new container objects start a collection of the youngest generation (Python's default: 700). A 100-task
# write makes tens of thousands of short-lived objects that reference counting frees, and the collections they
# started, young ones and the older ones those lead to, were 0.3-0.5 ms of it (in process, paired with the raw
# request: 1.38-1.41x -> 1.33-1.36x). Garbage in cycles waits a little longer; the heap a call leaves is the same.
YOUNG_COLLECTION_EVERY = 20_000


def freeze_startup_heap() -> None:
    """Keep the objects made while starting out of every later full collection, and collect from here on.

    A long-running server only adds objects after this point; without the freeze, each full collection walked every
    module, class and schema again (50-70 ms here, landing inside whichever tool call triggered it).
    """
    gc.freeze()
    gc.set_threshold(YOUNG_COLLECTION_EVERY, *gc.get_threshold()[1:])
    gc.enable()
