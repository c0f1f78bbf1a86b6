"""HTTP semantics of the Sync endpoint, shared by the in-process transport and the local-api server (reference §9).

Routing, bearer-token check, body limit and body decoding (JSON, or form fields whose ``commands`` and
``resource_types`` are JSON strings) happen here; the store only ever sees a decoded request.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, cast
from urllib.parse import parse_qs

from tools_server.local import uploads
from tools_server.local.args import MAX_BODY_BYTES
from tools_server.local.errors import RequestError, auth_error, request_invalid, token_expired
from tools_server.local.oauth import TokenGate
from tools_server.local.rest import REST_PATHS as _REST_READS
from tools_server.local.rest import rest_reply
from tools_server.local.stats import STATS_PATH, stats_reader
from tools_server.local.store import SyncStore
from tools_server.local.uploads import FILES_PREFIX, MAX_UPLOAD_BYTES, UPLOADS_PATH

# The file's cap plus room for the form around it.
MAX_UPLOAD_BODY_BYTES = MAX_UPLOAD_BYTES + 64 * 1024

logger = logging.getLogger(__name__)

SYNC_PATHS = frozenset({"/api/v1/sync", "/sync/v9/sync"})
# The documented REST reads this backend answers (GET, no body): completed tasks, archived projects, comments
# (local/rest.py) and productivity stats (local/stats.py).
REST_PATHS = frozenset({*_REST_READS, STATS_PATH})
DEPRECATED_PREFIXES = ("/sync/v9/", "/sync/v8/", "/rest/v1/", "/rest/v2/")
_JSON_HEADERS = {"content-type": "application/json"}
# The token a request must bear: one fixed token, one of several (a store of several accounts), the tokens a gate
# accepts (local-api with its authorization server), or None for any (in-process use).
Expected = str | frozenset[str] | TokenGate | None


@dataclass(frozen=True)
class HttpReply:
    status: int
    headers: dict[str, str]
    content: bytes


def _reply(status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> HttpReply:
    content = json.dumps(body, separators=(",", ":")).encode()
    return HttpReply(status, {**_JSON_HEADERS, **(headers or {})}, content)


def _error(status: int, message: str, tag: str) -> HttpReply:
    return _reply(
        status, {"error": message, "error_code": status, "error_extra": {}, "error_tag": tag, "http_code": status}
    )


def handle_http(
    store: SyncStore,
    *,
    method: str,
    path: str,
    headers: Mapping[str, str],
    body: bytes,
    expected_token: Expected,
    query: str = "",
    origin: str = "",
) -> HttpReply:
    """``headers`` has lower-case names. ``expected_token`` None accepts any bearer token (in-process use);
    ``origin`` (scheme://host) is where the files it stores are served."""
    if is_upload_path(path):
        return handle_upload(
            store, method=method, path=path, headers=headers, body=body, query=query, origin=origin,
            expected_token=expected_token,
        )  # fmt: skip
    if path in REST_PATHS:
        return rest_read(store, method=method, path=path, headers=headers, query=query, expected_token=expected_token)
    head = check_head(method=method, path=path, headers=headers, expected_token=expected_token)
    if isinstance(head, HttpReply):
        return head
    return handle_body(store, headers=headers, body=body, token=head)


def check_head(*, method: str, path: str, headers: Mapping[str, str], expected_token: Expected) -> HttpReply | str:
    """What can be refused from the request line and headers alone, before a byte of the body is read: the route,
    the method, the token and a declared body size. The token when the request may go on."""
    if path not in SYNC_PATHS:
        if path.startswith(DEPRECATED_PREFIXES):
            return _error(410, "This endpoint is deprecated.", "DEPRECATED")
        return _error(404, f"Not found: {path}; the Sync endpoint is POST /api/v1/sync", "NOT_FOUND")
    if method != "POST":
        reply = _error(405, f"Method {method} not allowed; use POST", "METHOD_NOT_ALLOWED")
        return HttpReply(reply.status, {**reply.headers, "allow": "POST"}, reply.content)
    try:
        token = _bearer(headers, expected_token)
        declared = headers.get("content-length", "").strip()
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            raise _too_big()
    except RequestError as exc:
        return _reply(exc.status, exc.body, exc.headers)
    return token


def handle_body(store: SyncStore, *, headers: Mapping[str, str], body: bytes, token: str) -> HttpReply:
    """A request whose head passed ``check_head``: decode the body and run it."""
    try:
        if len(body) > MAX_BODY_BYTES:
            raise _too_big()
        request = _decode(headers.get("content-type", ""), body)
    except RequestError as exc:
        return _reply(exc.status, exc.body, exc.headers)
    try:
        result = store.handle(request, token=token)
    except Exception:
        # Nothing was committed (the store rolls back), so a retry is safe; the log has the cause, the client a 500.
        logger.exception("local backend failed on a sync request")
        return _error(500, "Internal error; nothing was applied", "INTERNAL_ERROR")
    return _reply(result.status, result.body, result.headers)


def rest_read(
    store: SyncStore, *, method: str, path: str, headers: Mapping[str, str], query: str, expected_token: Expected
) -> HttpReply:
    if method != "GET":
        reply = _error(405, f"Method {method} not allowed; use GET", "METHOD_NOT_ALLOWED")
        return HttpReply(reply.status, {**reply.headers, "allow": "GET"}, reply.content)
    try:
        token = _bearer(headers, expected_token)
    except RequestError as exc:
        return _reply(exc.status, exc.body, exc.headers)
    read = partial(store.read, token=token)  # the token's account reads
    try:
        status, body = (200, read(stats_reader)) if path == STATS_PATH else rest_reply(read, path, query)
    except Exception:
        logger.exception("local backend failed on a REST read")
        return _error(500, "Internal error", "INTERNAL_ERROR")
    return _reply(status, body)


def is_upload_path(path: str) -> bool:
    return path == UPLOADS_PATH or path.startswith(FILES_PREFIX)


def check_upload_head(
    *, method: str, path: str, headers: Mapping[str, str], expected_token: Expected
) -> HttpReply | None:
    """What refuses an upload or file request before its body is read: the method, the token, a declared size."""
    allowed = ("POST", "DELETE") if path == UPLOADS_PATH else ("GET",)
    if method not in allowed:
        reply = _error(405, f"Method {method} not allowed; use {' or '.join(allowed)}", "METHOD_NOT_ALLOWED")
        return HttpReply(reply.status, {**reply.headers, "allow": ", ".join(allowed)}, reply.content)
    try:
        _bearer(headers, expected_token)
        declared = headers.get("content-length", "").strip()
        if declared.isdigit() and int(declared) > MAX_UPLOAD_BODY_BYTES:
            raise _upload_too_big()
    except RequestError as exc:
        return _reply(exc.status, exc.body, exc.headers)
    return None


def handle_upload(
    store: SyncStore,
    *,
    method: str,
    path: str,
    headers: Mapping[str, str],
    body: bytes,
    query: str,
    origin: str,
    expected_token: Expected,
) -> HttpReply:
    """``POST``/``DELETE /api/v1/uploads`` and ``GET`` of a stored file (local/uploads.py), behind the token."""
    refused = check_upload_head(method=method, path=path, headers=headers, expected_token=expected_token)
    if refused is not None:
        return refused
    content_type = headers.get("content-type", "")
    try:
        if len(body) > MAX_UPLOAD_BODY_BYTES:
            raise _upload_too_big()
        if method == "GET":
            found = store.read(lambda db, now, _account: uploads.read_file(db, now, path))
            if found is None:
                return _error(404, "Not found: no uploaded file at this URL", "NOT_FOUND")
            return HttpReply(200, {"content-type": found[0]}, found[1])
        if method == "DELETE":
            store.write(lambda db, now: uploads.delete(db, now, content_type=content_type, body=body, query=query))
            return _reply(200, {"ok": True})
        answer = store.write(
            lambda db, now: uploads.upload(db, now, content_type=content_type, body=body, origin=origin)
        )
        return _reply(200, answer)
    except RequestError as exc:
        return _reply(exc.status, exc.body, exc.headers)


def _upload_too_big() -> RequestError:
    return request_invalid("file", f"over the {MAX_UPLOAD_BYTES // (1024 * 1024)} MB upload limit", status=413)


def _too_big() -> RequestError:
    return request_invalid("body", f"request body is over {MAX_BODY_BYTES} bytes", status=413)


def too_slow() -> HttpReply:
    """The body did not arrive in time (a stalled or half-open client)."""
    reply = _error(408, "Request body not received in time", "REQUEST_TIMEOUT")
    return HttpReply(reply.status, {**reply.headers, "connection": "close"}, reply.content)


# JSON nested deeper than this is refused: Sync bodies nest about 5 deep. The parsed value is measured (a walk over
# its containers) rather than the text scanned before parsing: the old pre-scan's regex kept a backtracking frame
# per byte of a string, so one 1 MiB string took ~140 MB. Python's parser stops at its recursion limit by itself.
MAX_JSON_DEPTH = 64


def nested_deeper(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether ``value`` (parsed JSON) has arrays/objects nested more than ``limit`` deep."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: list[Any] = list(cast(dict[str, Any], node).values())
        elif isinstance(node, list):
            children = cast(list[Any], node)
        else:
            continue
        if depth > limit:
            return True
        stack += [(child, depth + 1) for child in children if isinstance(child, dict | list)]
    return False


def _json(text: bytes | str, argument: str, problem: str) -> Any:
    raw = text.encode() if isinstance(text, str) else text
    too_deep = request_invalid(argument, f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        value = json.loads(raw or b"{}")
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, and over 4300 digits in an integer
        raise request_invalid(argument, f"{problem}: {exc}") from None
    except RecursionError:
        raise too_deep from None
    if nested_deeper(value):
        raise too_deep
    return value


def _bearer(headers: Mapping[str, str], expected: Expected) -> str:
    value = headers.get("authorization")
    if value is None:
        raise auth_error(401, "Missing Authorization header; send 'Authorization: Bearer <token>'")
    scheme, _, token = value.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise auth_error(403)
    if isinstance(expected, TokenGate):
        verdict = expected.verdict(token)
        if verdict in ("expired", "revoked"):
            raise token_expired()
        if verdict == "unknown":
            raise auth_error(403)
    elif isinstance(expected, frozenset):
        if not sum(hmac.compare_digest(token.encode(), t.encode()) for t in sorted(expected)):
            raise auth_error(403)
    elif expected is not None and not hmac.compare_digest(token.encode(), expected.encode()):
        raise auth_error(403)
    return token


def _decode(content_type: str, body: bytes) -> dict[str, Any]:
    media = content_type.split(";")[0].strip().lower()
    if media not in ("", "application/json", "application/x-www-form-urlencoded"):
        # Reading multipart or text as a form would silently drop its commands and answer 200.
        raise request_invalid(
            "body", f"unsupported Content-Type {media!r}; send application/json or form fields", status=415
        )
    stripped = body.lstrip()
    if media == "application/json" or (not media and stripped.startswith(b"{")):
        decoded = _json(body, "body", "not valid JSON")
        if not isinstance(decoded, dict):
            raise request_invalid("body", "must be a JSON object")
        request: dict[str, Any] = decoded  # pyright: ignore[reportUnknownVariableType]
        return request
    try:
        fields = parse_qs(body.decode(), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        raise request_invalid("body", "form body is not UTF-8") from None
    form: dict[str, Any] = {}
    for name, values in fields.items():
        value = values[-1]
        if name in ("commands", "resource_types"):
            form[name] = _json(value, name, "must be a JSON-encoded array")
        else:
            form[name] = value
    return form
