"""Text made fit for one line of what the model reads, and free of anything that looks like a secret."""

from __future__ import annotations

import json
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


# Every match of _TOKEN_LIKE holds one of these words or a run of 32 of [A-Za-z0-9_-] (JSON leaves those unescaped).
_SECRET_WORDS = ("bearer", "token", "authorization", "api_key", "apikey")
_RUN = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_OUTSIDE = bytes(c for c in range(256) if c not in _RUN)
_BREAK_RUNS = bytes.maketrans(_OUTSIDE, b" " * len(_OUTSIDE))
# A token made of these appears in the JSON text exactly as in the string that holds it.
_PLAIN_TOKEN = re.compile(r"[A-Za-z0-9._~+/=-]*")


def _may_hide_secret(text: str) -> bool:
    """False only when _TOKEN_LIKE cannot match anywhere in ``text``: str methods in C instead of the regex, which
    tries its 32-character runs at every position (a 5 kB result took 0.5 ms). Non-ASCII text goes the slow way:
    the regex folds case in ways ``str.lower`` does not."""
    if not text.isascii():
        return True
    lowered = text.lower()
    if any(word in lowered for word in _SECRET_WORDS):
        return True
    return max(map(len, text.encode().translate(_BREAK_RUNS).split()), default=0) >= 32


def redact_json(value: Any, token: str = "") -> Any:
    """``value`` (JSON: dicts, lists, strings, numbers) with ``redact`` applied to every string in it, keys included:
    what a result carries goes out whole, so every field of it is covered, whatever shape a failure took.

    The encoded value is checked first in one pass: nearly every result has nothing to hide, and walking it string
    by string was a tenth of what the server adds to a 100-task add (issue 27)."""
    if len(token) < _MIN_TOKEN_CHARS or _PLAIN_TOKEN.fullmatch(token):
        try:
            text = json.dumps(value, ensure_ascii=False)
        except (TypeError, ValueError):
            text = None
        if text is not None and not _may_hide_secret(text) and (len(token) < _MIN_TOKEN_CHARS or token not in text):
            return value
    return _redact_walk(value, token)


def _redact_walk(value: Any, token: str) -> Any:
    if isinstance(value, str):
        return redact(value, token)
    if isinstance(value, dict):
        items = cast(dict[Any, Any], value)
        return {_redact_walk(k, token): _redact_walk(v, token) for k, v in items.items()}
    if isinstance(value, list | tuple):
        return [_redact_walk(v, token) for v in cast(list[Any], value)]
    return value
