"""Text made fit for one line of what the model reads, and free of anything that looks like a secret."""

from __future__ import annotations

import re
from typing import Any, cast

REDACTED = "[redacted]"
# Tokens shorter than this are placeholders (the local backend's "local"), not secrets; redacting them would mangle
# ordinary words in messages. Real Todoist tokens are 40 hex characters.
_MIN_TOKEN_CHARS = 8
# What a credential looks like when a backend or proxy echoes one: a bearer header, a `token=`/`api_key:` pair, a
# long hex run (Todoist tokens) or a long opaque run of letters and digits (OAuth tokens, sync tokens).
_TOKEN_LIKE = re.compile(
    r"(?i)(?P<bearer>\bbearer\s+)[^\s\"',;]+"
    r"|(?P<pair>\b(?:access_token|api_token|api_key|apikey|token|authorization)[\"']?\s*[:=]\s*[\"']?)[^\s\"'&,;]+"
    r"|\b[0-9a-f]{32,}\b"
    r"|\b(?=[A-Za-z0-9_-]*[0-9])(?=[A-Za-z0-9_-]*[A-Za-z])[A-Za-z0-9_-]{32,}\b"
)


def clip(text: str, limit: int) -> str:
    """``text`` on one line (runs of whitespace become one space), cut to ``limit`` characters with an ellipsis."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def redact(text: str, token: str = "") -> str:
    """``text`` without ``token`` and without anything token-like: used on every backend text a result quotes."""
    if len(token) >= _MIN_TOKEN_CHARS:
        text = text.replace(token, REDACTED)

    def hide(match: re.Match[str]) -> str:
        prefix = match.group("bearer") or match.group("pair") or ""
        return prefix + REDACTED

    return _TOKEN_LIKE.sub(hide, text)


def redact_json(value: Any, token: str = "") -> Any:
    """``value`` (JSON: dicts, lists, strings, numbers) with ``redact`` applied to every string in it, keys included:
    what a result carries goes out whole, so every field of it is covered, whatever shape a failure took."""
    if isinstance(value, str):
        return redact(value, token)
    if isinstance(value, dict):
        items = cast(dict[Any, Any], value)
        return {redact_json(k, token): redact_json(v, token) for k, v in items.items()}
    if isinstance(value, list | tuple):
        return [redact_json(v, token) for v in cast(list[Any], value)]
    return value
