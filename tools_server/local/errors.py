"""Todoist-shaped error objects for the local backend (reference §4 and §9).

Codes Todoist documents or was observed to send are used as they are (INVALID_ARGUMENT_VALUE 20/400, invalid temp id
15, ITEM_NOT_FOUND 22/404, AUTH_INVALID_TOKEN 401/403, LIMITS_REACHED 35/429). PROJECT_NOT_FOUND and
SECTION_NOT_FOUND have no known code; 21 and 23 are this backend's choice, with http_code 404 as the contract asks.
"""

from __future__ import annotations

from typing import Any

ErrorBody = dict[str, Any]


class CommandError(Exception):
    """One command failed; its wire form goes into ``sync_status`` and the other commands go on."""

    def __init__(self, tag: str, code: int, http_code: int, message: str, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.body: ErrorBody = {
            "error": message,
            "error_code": code,
            "error_extra": extra or {},
            "error_tag": tag,
            "http_code": http_code,
        }


class RequestError(Exception):
    """The whole request is refused before any command runs; ``status`` is the HTTP status."""

    def __init__(self, status: int, body: ErrorBody, headers: dict[str, str] | None = None) -> None:
        super().__init__(body.get("error", "request refused"))
        self.status = status
        self.body = body
        self.headers = headers or {}


def invalid_argument(argument: str, explanation: str, **extra: Any) -> CommandError:
    return CommandError(
        "INVALID_ARGUMENT_VALUE",
        20,
        400,
        "Invalid argument value",
        {"argument": argument, "explanation": explanation, **extra},
    )


def invalid_temp_id(argument: str) -> CommandError:
    return CommandError("INVALID_TEMP_ID", 15, 400, "Invalid temporary id", {"argument": argument})


_NOT_FOUND = {
    "item": ("ITEM_NOT_FOUND", 22, "Item not found"),
    "project": ("PROJECT_NOT_FOUND", 21, "Project not found"),
    "section": ("SECTION_NOT_FOUND", 23, "Section not found"),
    # No documented codes for these either: 24-27 are this backend's choice.
    "note": ("NOTE_NOT_FOUND", 24, "Note not found"),
    "project_note": ("NOTE_NOT_FOUND", 24, "Note not found"),
    "label": ("LABEL_NOT_FOUND", 25, "Label not found"),
    "filter": ("FILTER_NOT_FOUND", 26, "Filter not found"),
    "reminder": ("REMINDER_NOT_FOUND", 27, "Reminder not found"),
    "invitation": ("INVITATION_NOT_FOUND", 29, "Invitation not found"),
}


def not_found(kind: str, argument: str) -> CommandError:
    tag, code, message = _NOT_FOUND[kind]
    return CommandError(tag, code, 404, message, {"argument": argument})


def already_exists(kind: str, argument: str) -> CommandError:
    """A second label with the same name (``LABEL_ALREADY_EXISTS``, tag from REF; code 28 is this backend's)."""
    message = f"{kind.capitalize()} already exists"
    return CommandError(f"{kind.upper()}_ALREADY_EXISTS", 28, 400, message, {"argument": argument})


def request_invalid(argument: str, explanation: str, status: int = 400, **extra: Any) -> RequestError:
    body: ErrorBody = {
        "error": "Invalid argument value",
        "error_code": 20,
        "error_extra": {"argument": argument, "explanation": explanation, **extra},
        "error_tag": "INVALID_ARGUMENT_VALUE",
        "http_code": status,
    }
    return RequestError(status, body)


def auth_error(status: int, message: str = "Invalid token") -> RequestError:
    body: ErrorBody = {
        "error": message,
        "error_code": 401,
        "error_extra": {},
        "error_tag": "AUTH_INVALID_TOKEN",
        "http_code": status,
    }
    return RequestError(status, body)


def token_expired() -> RequestError:
    """An OAuth access token that expired or was revoked: Todoist's 401 (API v1 docs, "Detecting an expired access
    token"), with the RFC 6750 challenge that tells a client to refresh or authorize again."""
    body: ErrorBody = {
        "error": "Unauthorized",
        "error_code": 477,
        "error_extra": {},
        "error_tag": "UNAUTHORIZED",
        "http_code": 401,
    }
    return RequestError(401, body, {"WWW-Authenticate": 'Bearer error="invalid_token"'})


def limits_reached(retry_after: int, event_id: str) -> RequestError:
    body: ErrorBody = {
        "error": "Too many requests. Limits reached. Try again later",
        "error_code": 35,
        "error_extra": {"event_id": event_id, "retry_after": retry_after},
        "error_tag": "LIMITS_REACHED",
        "http_code": 429,
    }
    return RequestError(429, body, {"Retry-After": str(retry_after)})
