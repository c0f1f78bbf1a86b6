"""How tool arguments are checked and how their errors read: strict top-level parameters, and short messages that
name the field (pydantic's own text is long and links to its docs)."""

from __future__ import annotations

import difflib
import logging
from typing import Any

from mcp.server.mcpserver.utilities.func_metadata import FuncMetadata
from pydantic import ConfigDict, ValidationError

logger = logging.getLogger(__name__)

# Keys some clients add to every call's arguments on their own, never from the model: n8n's MCP Client Tool node
# sends `toolCallId` (n8n issues 21500, 21716, 22787) and its agent's routing key `tool` (issues 17264, 21500; PR
# 35067). Refusing them would fail every call from those clients; they are dropped unless a tool has a parameter of
# that name. Anything else unknown (a misspelt `dryRun`) still fails: it could turn a preview into a write.
CLIENT_INJECTED = frozenset({"toolCallId", "tool"})


def without_client_keys(tool: str, arguments: dict[str, Any], known: set[str]) -> dict[str, Any]:
    """``arguments`` without the client-injected keys ``tool`` does not take (logged at debug)."""
    injected = sorted(key for key in arguments if key in CLIENT_INJECTED and key not in known)
    if not injected:
        return arguments
    logger.debug("%s: ignored client-injected argument(s) %s", tool, ", ".join(injected))
    return {key: value for key, value in arguments.items() if key not in injected}


def strict_arguments(metadata: FuncMetadata) -> None:
    """Validate a tool's top-level parameters strictly too: the SDK builds their model in lax mode, where
    `dry_run: "false"` is False and `confirm: "4"` is 4. Its JSON-in-a-string decoding of lists and objects (for
    clients that send `items` as a string) runs before validation and is kept."""
    lax = metadata.arg_model
    metadata.arg_model = type(lax.__name__, (lax,), {"model_config": ConfigDict(strict=True), "__module__": __name__})


def closest_argument(word: str, known: set[str]) -> str:
    """' (did you mean dry_run?)' for a misspelt argument, else the expected names."""
    folded = {k.replace("_", "").lower(): k for k in known}
    match = folded.get(word.replace("_", "").replace("-", "").lower()) or next(
        iter(difflib.get_close_matches(word, sorted(known), n=1)), None
    )
    return f" (did you mean {match}?)" if match else f" (expected: {', '.join(sorted(known))})"


def compact_errors(error: ValidationError, limit: int = 5) -> str:
    """`items.0.priority: must be <= 4; ...` for at most ``limit`` errors."""
    parts: list[str] = []
    for detail in error.errors()[:limit]:
        where = ".".join(str(p) for p in detail["loc"] if not str(p).endswith("Arguments")) or "arguments"
        message = str(detail["msg"]).removeprefix("Value error, ")
        parts.append(f"{where}: {message}")
    if error.error_count() > limit:
        parts.append(f"+{error.error_count() - limit} more")
    return "; ".join(parts)
