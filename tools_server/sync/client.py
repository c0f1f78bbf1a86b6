"""The I/O shell: one Sync request to a Todoist-compatible endpoint, with safe retries.

Everything that talks to a backend goes through an injected ``httpx.AsyncClient``; its transport is the seam that
selects Todoist, the embedded local store, or a fault-injecting test double.

Retries are safe only because every attempt sends the *byte-identical* body: the same command uuids, which the
backend deduplicates (reference §5). So the body is serialized exactly once, and a retry never rebuilds it.

Failures are classified the way Doist's own tools do (reference §4): 429 and 500/502/503/504 and transport errors are
transient and retried with backoff; 401/403 and every other non-2xx are permanent and raised at once. Each failure
says which command uuids *might* have run (``unconfirmed_uuids``), so callers never report "not done" for a command
the backend may in fact have applied.

The API token must never leak: it lives only in the request headers, never in a message, a log record or a repr.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Literal

import anyio
import httpx
from pydantic import ValidationError

from tools_server.sync.batch import encode_request
from tools_server.sync.commands import Command, CompletedPage
from tools_server.sync.failures import (
    BackendUnavailable,
    Forbidden,
    RateLimited,
    RequestRejected,
    SyncFailure,
    TokenRejected,
    describe_error,
    forbidden_message,
    parse_retry_after,
)
from tools_server.sync.responses import (
    ActivityPage,
    ArchivedProjectsPage,
    ProductivityStats,
    SyncError,
    SyncResponse,
    UnreadableResponse,
    Upload,
    read_activity_page,
    read_archived_page,
    read_completed_page,
    read_response,
    read_stats,
    read_upload,
)
from tools_server.sync.retry import DEFAULT_RETRY_POLICY as DEFAULT_RETRY_POLICY
from tools_server.sync.retry import Deadline as Deadline
from tools_server.sync.retry import RetryPolicy as RetryPolicy
from tools_server.sync.retry import fits_in
from tools_server.text import redact, redact_json

__all__ = [
    "BackendUnavailable",
    "Forbidden",
    "RateLimited",
    "RequestRejected",
    "SyncFailure",
    "TokenRejected",
    "describe_error",
    "parse_error",
    "parse_retry_after",
]

logger = logging.getLogger(__name__)

# The documented transient server errors (reference §4). Other 5xx (501, 505, proxies' 52x) are not retried.
_RETRYABLE_SERVER_STATUSES = frozenset({500, 502, 503, 504})
_AUTH_STATUSES = frozenset({401, 403})
# Transport errors raised before a single byte of the request can have reached the backend: nothing ran. Any other
# transport error (read timeout, dropped connection, write error) may come after the backend committed.
_NOT_SENT_ERRORS: tuple[type[httpx.TransportError], ...] = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# A 403 with one of these tags is a limit of the plan or a permission, not a bad token (reference §5): the call is
# refused, the token is fine. Only a 401, or a 403 tagged AUTH_INVALID_TOKEN, means the token itself is rejected.
_TOKEN_TAGS = frozenset({"AUTH_INVALID_TOKEN"})
# Retry-After waits are slept in slices of at most this many seconds, so progress can be reported during a long one.
_WAIT_SLICE_SECONDS = 10.0


# Told before each slice of a wait: the seconds still to wait and why (e.g. "HTTP 429").
OnWait = Callable[[float, str], Awaitable[None]]


def parse_error(response: httpx.Response) -> SyncError:
    """The error object in a non-2xx body, parsed leniently.

    Todoist usually sends a JSON error object (reference §4), but a proxy or load balancer may answer with HTML or
    plain text; then the error is the status's reason phrase, and ``http_code`` is always filled from the status.
    """
    status = response.status_code
    try:
        error = SyncError.model_validate_json(response.content)
    except ValidationError:
        error = None
    if error is not None and (error.error or error.error_tag or error.error_code is not None):
        return error if error.http_code is not None else error.model_copy(update={"http_code": status})
    # Never the body itself: a gateway's error page is markup and styles the model would read as the backend's
    # words, and a cut that keeps it short still keeps only the noise. The status says what happened.
    return SyncError(error=response.reason_phrase or "no reason given", http_code=status)


# ---------------------------------------------------------------------------------------------------------------------
# The client


def rest_url(sync_url: str, path: str) -> str:
    """``https://host/api/v1/sync`` -> ``https://host/api/v1/<path>``: REST reads live beside the Sync endpoint."""
    base = sync_url.split("?", 1)[0].rstrip("/")
    base = base.removesuffix("/sync")
    return f"{base}/{path}"


# What to do about a rejected token given in the environment (a stored login's says to log in again).
TOKEN_HINT = "check TODOIST_API_TOKEN"


class SyncClient:
    """Sends Sync requests for one API token, retrying transient failures with the same body."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        url: str,
        token: str,
        policy: RetryPolicy = DEFAULT_RETRY_POLICY,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        rand: Callable[[], float] = random.random,
        token_hint: str = TOKEN_HINT,
        renew: Callable[[], Awaitable[str | None]] | None = None,
    ) -> None:
        self._http = http
        self._url = url
        # What to do about a rejected token depends on where it came from (the environment, or `login`).
        self._token_hint = token_hint
        # Kept only to redact it from backend text we quote; it is sent via the prebuilt headers below.
        self.__token = token
        self.__earlier: list[str] = []  # tokens renewed away, still redacted
        # A new token when the backend refuses this one with 401 (a stored login whose hour is over); None: refuse.
        self._renew = renew
        self._headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        self._policy = policy
        self._sleep = sleep
        self._rand = rand
        self.requests_sent = 0  # HTTP attempts, retries included
        self.retries = 0  # attempts that followed a transient failure

    def __repr__(self) -> str:
        return f"SyncClient(url={self._url!r}, requests_sent={self.requests_sent}, retries={self.retries})"

    async def sync(
        self,
        *,
        commands: Sequence[Command] = (),
        sync_token: str = "*",
        resource_types: Sequence[str] = (),
        deadline: Deadline | None = None,
        on_wait: OnWait | None = None,
    ) -> SyncResponse:
        """One Sync request (commands and/or a read), retried on transient failures; raises a ``SyncFailure``.

        No attempt starts and no wait is begun that would end past ``deadline``: the failure is raised at once, with
        the wait the backend asked for. ``ValueError`` (nothing sent) if the commands exceed the documented limits or
        repeat a uuid.
        """
        body, uuids = encode_request(commands=commands, sync_token=sync_token, resource_types=resource_types)
        response = await self._exchange(lambda left: self._post(body, left), uuids, deadline, on_wait)
        return self._parse_success(response, uuids)

    async def completed_tasks(self, by: Literal["completion", "due"], params: Mapping[str, str]) -> CompletedPage:
        """One page of ``GET /api/v1/tasks/completed/by_completion_date`` (or ``by_due_date``): the documented REST
        read beside the Sync endpoint, with the same retries, errors and Bearer token. Reads change nothing, so no
        failure leaves anything unconfirmed."""
        url = rest_url(self._url, f"tasks/completed/by_{by}_date")

        def get(_: Deadline | None) -> Awaitable[httpx.Response]:
            headers = {"Authorization": self._headers["Authorization"], "Accept": "application/json"}
            return self._http.get(url, params=dict(params), headers=headers)

        response = await self._exchange(get, (), None)
        try:
            return read_completed_page(response.content)
        except UnreadableResponse as exc:
            raise BackendUnavailable(self._redact(f"backend sent a malformed completed-tasks page ({exc})")) from None

    async def archived_projects(self, params: Mapping[str, str]) -> ArchivedProjectsPage:
        """One page of ``GET /api/v1/projects/archived`` (cursor, limit): the archived projects full syncs leave out."""
        url = rest_url(self._url, "projects/archived")
        headers = {"Authorization": self._headers["Authorization"], "Accept": "application/json"}
        response = await self._exchange(lambda _: self._http.get(url, params=dict(params), headers=headers), (), None)
        try:
            return read_archived_page(response.content)
        except UnreadableResponse as exc:
            raise BackendUnavailable(self._redact(f"backend sent a malformed archived-projects page ({exc})")) from None

    async def activities(self, params: Mapping[str, str]) -> ActivityPage:
        """One page of ``GET /api/v1/activities`` (filters, cursor, limit <= 100): the account's activity log."""
        url = rest_url(self._url, "activities")
        headers = {"Authorization": self._headers["Authorization"], "Accept": "application/json"}
        response = await self._exchange(lambda _: self._http.get(url, params=dict(params), headers=headers), (), None)
        try:
            return read_activity_page(response.content)
        except UnreadableResponse as exc:
            raise BackendUnavailable(self._redact(f"backend sent a malformed activity page ({exc})")) from None

    async def productivity_stats(self) -> ProductivityStats:
        """``GET /api/v1/tasks/completed/stats``: one documented REST read, retried and authorised as the others."""
        url = rest_url(self._url, "tasks/completed/stats")
        headers = {"Authorization": self._headers["Authorization"], "Accept": "application/json"}
        response = await self._exchange(lambda _: self._http.get(url, headers=headers), (), None)
        try:
            return read_stats(response.content)
        except UnreadableResponse as exc:
            raise BackendUnavailable(self._redact(f"backend sent malformed productivity stats ({exc})")) from None

    async def upload(self, file_name: str, content: bytes, file_type: str) -> Upload:
        """``POST /api/v1/uploads``: one multipart request with the file; its answer is the attachment a comment
        then carries. Retried like the reads: a retry after a lost answer leaves at most an unused copy behind, which
        no comment points at."""
        url = rest_url(self._url, "uploads")
        headers = {"Authorization": self._headers["Authorization"], "Accept": "application/json"}
        files = {"file": (file_name, content, file_type)}
        response = await self._exchange(lambda _: self._http.post(url, files=files, headers=headers), (), None)
        try:
            return read_upload(response.content)
        except UnreadableResponse as exc:
            raise BackendUnavailable(self._redact(f"backend sent a malformed upload answer ({exc})")) from None

    async def _exchange(
        self,
        send: Callable[[Deadline | None], Awaitable[httpx.Response]],
        uuids: tuple[str, ...],
        deadline: Deadline | None,
        on_wait: OnWait | None = None,
    ) -> httpx.Response:
        """The request until a 2xx answer, retrying transient failures; raises a ``SyncFailure`` otherwise."""
        policy = self._policy
        # Whether any attempt so far may have reached the backend (and so may have executed the commands).
        maybe_ran = False
        renewed = False
        attempt = 0
        while True:
            attempt += 1
            last_attempt = attempt >= policy.max_attempts
            if deadline is not None and deadline.remaining() <= 0:
                raise BackendUnavailable(
                    f"the call's time budget ({deadline.budget:g}s) ran out before the backend answered",
                    unconfirmed_uuids=uuids if maybe_ran else (),
                )
            self.requests_sent += 1
            try:
                response = await send(deadline)
            except httpx.UnsupportedProtocol as exc:
                # A misconfigured URL (TODOIST_SYNC_URL); retrying cannot help and nothing was sent.
                raise SyncFailure(self._redact(f"Sync URL is not usable: {exc}")) from exc
            except httpx.TransportError as exc:
                maybe_ran = maybe_ran or not isinstance(exc, _NOT_SENT_ERRORS)
                kind = type(exc).__name__
                delay = policy.backoff(attempt, self._rand())
                if last_attempt or not fits_in(delay, deadline):
                    raise BackendUnavailable(
                        self._redact(f"Sync backend unreachable after {attempt} attempts ({kind}: {exc})"),
                        unconfirmed_uuids=uuids if maybe_ran else (),
                    ) from exc
                await self._pause(kind, attempt, delay, on_wait)
                continue
            except httpx.DecodingError as exc:
                # The body arrived but its content-encoding is broken: the backend answered, so it may have run.
                raise BackendUnavailable(
                    self._redact(f"Sync backend sent a malformed response ({exc})"), unconfirmed_uuids=uuids
                ) from exc

            status = response.status_code
            if 200 <= status < 300:
                return response

            # Below, this attempt failed. Only the unconfirmed uuids of *earlier* attempts carry into a 4xx failure.
            earlier = uuids if maybe_ran else ()
            if status in _AUTH_STATUSES:
                error = parse_error(response)
                if status == 401 and self._renew is not None and not renewed:
                    # 401 ran nothing: the same request again with a renewed token, once, as the same attempt.
                    renewed = True
                    token = await self._renew()
                    if token is not None:
                        self._use(token)
                        attempt -= 1
                        continue
                if status == 401 or error.error_tag in _TOKEN_TAGS:
                    message = f"Todoist rejected the API token ({describe_error(status, error)}); {self._token_hint}"
                    raise TokenRejected(self._redact(message), error=error, unconfirmed_uuids=earlier)
                raise Forbidden(self._redact(forbidden_message(error)), error=error, unconfirmed_uuids=earlier)

            if status == 429:
                # Todoist checks limits before running anything, so a 429 itself executed nothing.
                error = parse_error(response)
                hint = self._retry_after(response, error)
                delay = hint if hint is not None else policy.backoff(attempt, self._rand())
                too_long = hint is not None and hint > policy.max_retry_after
                if too_long or last_attempt or not fits_in(delay, deadline):
                    tries = "" if too_long else f" after {attempt} attempts"
                    raise RateLimited(
                        f"Sync backend rate limit reached (HTTP 429){tries}; retry after {delay:g}s",
                        retry_after=delay,
                        unconfirmed_uuids=earlier,
                    )
                await self._pause(f"HTTP {status}", attempt, delay, on_wait)
                continue

            if status in _RETRYABLE_SERVER_STATUSES:
                # A server error may come after the commands ran (e.g. a gateway timeout), so assume they might have.
                maybe_ran = True
                error = parse_error(response)
                # Honour a server's hint (Todoist's 503 says retry_after 60), but within our own backoff ceiling:
                # the retry budget is small, and an MCP call should fail promptly rather than block for a minute.
                hint = self._retry_after(response, error)
                delay = min(hint, policy.max_delay) if hint is not None else policy.backoff(attempt, self._rand())
                if last_attempt or not fits_in(delay, deadline):
                    after = f"; retry after {hint:g}s" if hint is not None else ""
                    raise BackendUnavailable(
                        self._redact(
                            f"Sync backend failed after {attempt} attempts ({describe_error(status, error)}){after}"
                        ),
                        unconfirmed_uuids=uuids,
                        retry_after=hint,
                    )
                await self._pause(f"HTTP {status}", attempt, delay, on_wait)
                continue

            error = parse_error(response)
            # Any other 5xx is a server fault after which we cannot know what ran; other statuses executed nothing.
            unconfirmed = uuids if status >= 500 else earlier
            raise RequestRejected(
                self._redact(f"Sync request rejected ({describe_error(status, error)})"),
                error=error,
                unconfirmed_uuids=unconfirmed,
            )

    async def _post(self, body: bytes, deadline: Deadline | None) -> httpx.Response:
        if deadline is None:
            return await self._http.post(self._url, content=body, headers=self._headers)
        # An attempt never outlives the call's budget: each httpx timeout is capped by what is left of it, and the
        # whole attempt too (a trickling answer resets httpx's read timeout). Ends as a read timeout: it may have run.
        left = max(deadline.remaining(), 0.0)
        configured = self._http.timeout

        def cap(seconds: float | None) -> float:
            return left if seconds is None else min(seconds, left)

        timeout = httpx.Timeout(
            connect=cap(configured.connect),
            read=cap(configured.read),
            write=cap(configured.write),
            pool=cap(configured.pool),
        )
        with anyio.move_on_after(left):
            return await self._http.post(self._url, content=body, headers=self._headers, timeout=timeout)
        raise httpx.ReadTimeout(f"no answer within the call's time budget ({deadline.budget:g}s)")

    def _parse_success(self, response: httpx.Response, uuids: tuple[str, ...]) -> SyncResponse:
        """The response, read object by object when one object is bad (``read_response``); a body whose envelope
        cannot be read raises ``BackendUnavailable`` with every command unconfirmed."""
        try:
            parsed = read_response(response.content)
        except UnreadableResponse as exc:
            # It names only location and reason, never the input (it is the response body).
            problem = str(exc)
            # A 2xx means the backend processed the request, so the commands may have run even though we cannot
            # read the outcome. Not retried here: an unreadable 2xx is usually a wrong URL (an HTML page), which a
            # retry would not fix.
            raise BackendUnavailable(
                self._redact(f"Sync backend sent a malformed response (HTTP {response.status_code}; {problem})"),
                unconfirmed_uuids=uuids,
            ) from None
        failed = {uuid: s for uuid, s in parsed.sync_status.items() if isinstance(s, SyncError)}
        if failed:
            parsed.sync_status.update({uuid: self._redact_error(s) for uuid, s in failed.items()})
        return parsed

    def _redact_error(self, error: SyncError) -> SyncError:
        """A per-command error with its backend text redacted: it is quoted to the model as it is."""
        extra = {k: self._redact(v) if isinstance(v, str) else v for k, v in error.error_extra.items()}
        text = self._redact(error.error) if error.error is not None else None
        return error.model_copy(update={"error": text, "error_extra": extra})

    @staticmethod
    def _retry_after(response: httpx.Response, error: SyncError) -> float | None:
        """The server's requested wait: the ``Retry-After`` header, else the body's ``error_extra.retry_after``."""
        from_header = parse_retry_after(response.headers.get("retry-after"))
        return from_header if from_header is not None else parse_retry_after(error.error_extra.get("retry_after"))

    async def _pause(self, kind: str, attempt: int, delay: float, on_wait: OnWait | None) -> None:
        # Never log the body (it holds the user's tasks) or the headers (they hold the token).
        logger.warning(
            "Sync request failed (%s) on attempt %d of %d; retrying in %.2fs",
            kind,
            attempt,
            self._policy.max_attempts,
            delay,
        )
        self.retries += 1
        if on_wait is None:
            await self._sleep(delay)
            return
        left = delay
        while True:  # in slices, each told first, so a client sees progress through a long wait
            await on_wait(left, kind)
            step = min(left, _WAIT_SLICE_SECONDS)
            await self._sleep(step)
            left -= step
            if left <= 0:
                return

    def _use(self, token: str) -> None:
        self.__earlier.append(self.__token)
        self.__token = token
        self._headers = {**self._headers, "Authorization": f"Bearer {token}"}

    def _redact(self, text: str) -> str:
        """Backend or httpx text without the token or anything token-like, in case either ever echoes one."""
        for earlier in self.__earlier:
            text = redact(text, earlier)
        return redact(text, self.__token)

    def redact(self, value: Any) -> Any:
        """``value`` (text or a JSON result) with every string in it redacted as backend text is: the server applies
        it to everything a call sends back, whatever field a backend echoed the token in."""
        return redact_json(value, self.__token)
