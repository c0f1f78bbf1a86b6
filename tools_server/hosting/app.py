"""`tools-server http`: the two modes, the ASGI app around the SDK's streamable HTTP app, and uvicorn.

Personal mode (default) is the operator's own server: loopback only, the operator's account, as before. Multi-user
mode serves anyone with a Todoist token, each with their own account and state; the operator's token is never used.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from mcp.server import MCPServer
from mcp.server.streamable_http_manager import DEFAULT_MAX_SESSIONS, DEFAULT_SESSION_IDLE_TIMEOUT
from mcp.server.transport_security import TransportSecurityMiddleware, TransportSecuritySettings
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from tools_server import __version__
from tools_server.clock import SYSTEM_CLOCK, Clock
from tools_server.hosting.auth import (
    METADATA_PATH,
    TODOIST_AUTHORIZATION_SERVER,
    BearerGate,
    TodoistTokenVerifier,
    protected_resource_metadata,
)
from tools_server.hosting.sessions import SessionQuota
from tools_server.state.sessions import MAX_SESSIONS_PER_ACCOUNT

logger = logging.getLogger(__name__)

LOOPBACK = ("127.0.0.1", "localhost", "::1")
REMOTE_PERSONAL_WARNING = (
    "warning: personal mode on {host} serves YOUR Todoist account to anyone who can reach this port: a request "
    "without a token reads and writes your tasks with your token. Use --multi-user to make every caller bring their "
    "own token."
)


class HostingError(Exception):
    """The http options cannot work together; the message says what to change."""


@dataclass(frozen=True)
class HttpOptions:
    host: str = "127.0.0.1"
    port: int = 8000
    multi_user: bool = False
    allow_remote_personal: bool = False
    allowed_hosts: tuple[str, ...] = ()
    access_log: bool = False
    public_url: str | None = None
    # Legacy MCP sessions: in all (the SDK's table) and per account in multi-user mode (SessionQuota, in front).
    max_sessions: int = DEFAULT_MAX_SESSIONS
    sessions_per_account: int = MAX_SESSIONS_PER_ACCOUNT
    session_idle_seconds: float = DEFAULT_SESSION_IDLE_TIMEOUT
    # Named in the RFC 9728 document: where clients log their users in (Todoist's, or a stand-in such as local-api).
    authorization_server: str = TODOIST_AUTHORIZATION_SERVER

    @property
    def loopback(self) -> bool:
        return self.host in LOOPBACK


def check_options(options: HttpOptions, env: Mapping[str, str]) -> list[str]:
    """Refuse what is unsafe; return the warnings to print when the operator asked for it explicitly."""
    warnings: list[str] = []
    if options.multi_user:
        if env.get("TOOLS_SERVER_BACKEND", "").strip().lower() == "local":
            raise HostingError(
                "--multi-user serves each caller's own Todoist account, and the embedded local backend holds one "
                "account: point TODOIST_SYNC_URL at a Sync endpoint instead (Todoist, or `tools-server local-api`, "
                "which accepts only its own --token)"
            )
        if env.get("TODOIST_API_TOKEN") or env.get("TODOIST_API_KEY"):
            warnings.append("note: TODOIST_API_TOKEN is ignored in multi-user mode; every caller sends their own token")
    elif not options.loopback:
        if not options.allow_remote_personal:
            raise HostingError(
                f"refusing personal mode on {options.host}: it would serve your Todoist account to anyone who can "
                "reach the port. Use --multi-user (every caller brings their own token), or --allow-remote-personal "
                "if you really mean it"
            )
        warnings.append(REMOTE_PERSONAL_WARNING.format(host=options.host))
    if not options.loopback and not options.allowed_hosts:
        raise HostingError(
            f"binding to {options.host} needs --allowed-hosts with the host names clients use "
            "(e.g. --allowed-hosts mcp.example.com): requests with any other Host header are refused, which stops "
            "DNS-rebinding attacks"
        )
    return warnings


def transport_security(options: HttpOptions) -> TransportSecuritySettings:
    """The SDK's Host/Origin checks: loopback names on loopback, otherwise exactly the allowed hosts (any port when
    none is given); a browser Origin must be one of the same hosts. Host names are case-insensitive (RFC 9110
    §4.2.3): these are lower case, and ``Front`` lowers the request's Host and Origin before comparing."""
    if options.loopback and not options.allowed_hosts:
        names: Sequence[str] = ("127.0.0.1", "localhost", "[::1]")
    else:
        names = [name.lower() for name in options.allowed_hosts]
    hosts: list[str] = []
    origins: list[str] = []
    for name in names:
        hosts += [name] if ":" in name.lstrip("[").split("]")[-1] else [name, f"{name}:*"]
        bare = name if name.startswith("[") else name.split(":")[0]
        origins += [f"https://{bare}", f"http://{bare}", f"https://{bare}:*", f"http://{bare}:*"]
    return TransportSecuritySettings(enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins)


async def _json(send: Send, status: int, body: object, extra: Sequence[tuple[bytes, bytes]] = ()) -> None:
    data = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()), *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


class Front:
    """In front of the MCP app: ``GET /health`` (no account data, no Host check: load balancers probe by address),
    the Host/Origin check for everything else, the protected-resource metadata in multi-user mode, then the app."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        security: TransportSecuritySettings,
        verifier: TodoistTokenVerifier | None,
        public_url: str | None,
        sessions_per_account: int = MAX_SESSIONS_PER_ACCOUNT,
        session_idle_seconds: float = DEFAULT_SESSION_IDLE_TIMEOUT,
        clock: Clock = SYSTEM_CLOCK,
        authorization_server: str = TODOIST_AUTHORIZATION_SERVER,
    ) -> None:
        # Multi-user: each account's legacy sessions are counted in front of the SDK's table (see hosting.sessions).
        self._app = (
            SessionQuota(app, per_account=sessions_per_account, idle_seconds=session_idle_seconds, clock=clock)
            if verifier is not None
            else app
        )
        self._authorization_server = authorization_server
        self._security = TransportSecurityMiddleware(security)
        self._public_url = public_url.rstrip("/") if public_url else None
        self._verifier = verifier
        self._multi_user = verifier is not None

    def _base(self, scope: Scope) -> str:
        if self._public_url:
            return self._public_url
        host = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k.lower() == b"host"), "localhost")
        return f"{scope.get('scheme', 'http')}://{host}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)  # lifespan: the SDK's session manager starts and stops here
            return
        path: str = scope.get("path", "")
        if path == "/health":
            await _json(send, 200, {"status": "ok", "version": __version__})
            return
        scope = _lower_host(scope)
        refused = await self._security.validate_request(Request(scope, receive), is_post=False)
        if refused is not None:
            await refused(scope, receive, send)
            return
        base = self._base(scope)
        if self._multi_user and path in (METADATA_PATH, METADATA_PATH + "/mcp"):
            cors = [(b"access-control-allow-origin", b"*")]
            await _json(send, 200, protected_resource_metadata(base, self._authorization_server), cors)
            return
        if self._verifier is not None:
            await BearerGate(self._app, self._verifier, metadata_url=base + METADATA_PATH)(scope, receive, send)
            return
        await self._app(scope, receive, send)


def _lower_host(scope: Scope) -> Scope:
    """``scope`` with its Host and Origin headers in lower case, for the SDK's exact-match checks."""
    headers = [(k, v.lower() if k.lower() in (b"host", b"origin") else v) for k, v in scope.get("headers", [])]
    return {**scope, "headers": headers}


def build_app(
    server: MCPServer, options: HttpOptions, verifier: TodoistTokenVerifier | None, *, clock: Clock = SYSTEM_CLOCK
) -> ASGIApp:
    """The whole HTTP app: ``verifier`` given = multi-user mode."""
    security = transport_security(options)
    inner = server.streamable_http_app(
        transport_security=security,
        host=options.host,
        max_sessions=options.max_sessions,
        session_idle_timeout=options.session_idle_seconds,
    )
    return Front(
        inner,
        security=security,
        verifier=verifier,
        public_url=options.public_url,
        sessions_per_account=options.sessions_per_account,
        session_idle_seconds=options.session_idle_seconds,
        clock=clock,
        authorization_server=options.authorization_server,
    )


async def serve(app: ASGIApp, options: HttpOptions) -> None:
    import copy

    import uvicorn
    from uvicorn.config import LOGGING_CONFIG

    # uvicorn prints its access log on stdout; every log of this program goes to stderr.
    logging_config = copy.deepcopy(LOGGING_CONFIG)
    logging_config["handlers"]["access"]["stream"] = "ext://sys.stderr"
    config = uvicorn.Config(
        app,
        host=options.host,
        port=options.port,
        log_level="info",
        access_log=options.access_log,
        log_config=logging_config,
    )
    await uvicorn.Server(config).serve()
